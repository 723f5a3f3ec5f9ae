"""HTML news pages: main article text, headline, byline, date; boilerplate dropped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag

from qa_service.loaders.common import LoadError, RawArticle, clean_text, parse_date

_BOILERPLATE_TAGS = ["script", "style", "noscript", "nav", "footer", "aside", "form", "iframe", "svg", "button"]
_BOILERPLATE_HINT = re.compile(
    r"cookie|consent|banner|related|share|social|newsletter|subscribe|promo|advert|\bad\b|"
    r"comment|breadcrumb|menu|sidebar|footer|recommend|popup|modal",
    re.IGNORECASE,
)


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if isinstance(tag, Tag) and tag.get("content"):
            return clean_text(str(tag["content"]))
    return None


def _is_boilerplate(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    classes: Any = tag.get("class") or []
    marks = " ".join([*(classes if isinstance(classes, list) else [str(classes)]), str(tag.get("id", "")),
                      str(tag.get("role", ""))])
    return bool(marks.strip()) and bool(_BOILERPLATE_HINT.search(marks))


def parse_html(text: str, path: Path) -> RawArticle:
    soup = BeautifulSoup(text, "lxml")
    raw = RawArticle(title="", blocks=[], path=str(path), origin=str(path))
    raw.author = _meta(soup, "author", "article:author", "byl")
    raw.source = _meta(soup, "og:site_name", "application-name")
    raw.url = _meta(soup, "og:url")
    raw.category = _meta(soup, "article:section")
    raw.published = parse_date(_meta(soup, "article:published_time", "date", "pubdate", "dc.date"))

    for tag in soup.find_all(_BOILERPLATE_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if isinstance(tag, Tag) and tag.name not in ("html", "body", "article", "main") and _is_boilerplate(tag):
            tag.decompose()

    root = soup.find("article") or soup.find("main") or soup.body or soup
    h1 = root.find("h1") or soup.find("h1")
    og_title = _meta(soup, "og:title")
    head_title = soup.title.get_text(" ", strip=True) if soup.title else None
    raw.title = clean_text(h1.get_text(" ", strip=True)) if h1 else (og_title or head_title or "")

    time_tag = root.find("time")
    if raw.published is None and isinstance(time_tag, Tag):
        raw.published = parse_date(time_tag.get("datetime") or time_tag.get_text(" ", strip=True))
    byline = root.find(class_=re.compile("byline|author", re.IGNORECASE)) or root.find(rel="author")
    if isinstance(byline, Tag):
        name = clean_text(byline.get_text(" ", strip=True))
        raw.author = raw.author or re.sub(r"^by\s+", "", name, flags=re.IGNORECASE)
        byline.decompose()

    heading: str | None = None
    for el in root.find_all(["h2", "h3", "h4", "p", "li", "blockquote"]):
        if el.name == "blockquote" and el.find("p"):
            continue  # its <p> children are taken one by one
        if el.name == "li" and el.find_parent(["nav", "ul", "ol"]) is None:
            continue
        txt = clean_text(el.get_text(" ", strip=True))
        if not txt:
            continue
        if el.name in ("h2", "h3", "h4"):
            heading = txt
        elif el.find_parent("time") is None:
            raw.blocks.append((heading, txt))
    if not raw.title:
        raise LoadError("HTML page has no headline (<h1>, og:title or <title>)")
    if not raw.blocks:
        raise LoadError("HTML page has no article paragraphs")
    return raw
