"""Markdown articles: optional `---` front matter, `# Title`, `## Heading` sections.

Parsed with markdown-it-py (CommonMark, linear time) rather than hand-written regexes:
the old italic pattern backtracked quadratically, so `*a *a *a ...` froze the server.
Headings are metadata (the first `#` line is the title, the others section headings);
paragraphs, list items, quotes and table rows are the body blocks, as plain text.
"""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from qa_service.loaders.common import LoadError, RawArticle, clean_text, parse_date

# maxNesting bounds the parser's recursion (quotes in lists in quotes...); html keeps raw
# HTML as its own tokens, which are reduced to their text below.
_MD = MarkdownIt("commonmark", {"maxNesting": 20, "html": True}).enable("table")
_META_KEYS = ("source", "author", "url", "category", "title")


def _front_matter(text: str, raw: RawArticle) -> str:
    """Read a leading `---` ... `---` block of `key: value` lines; return the text after it."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return text
    for line in lines[1:end]:
        if ":" not in line:
            continue
        name, written = line.split(":", 1)
        key, value = name.strip().strip("'\"").lower(), _scalar(written)
        if value is None:
            continue  # broken ("title: [unclosed"): the `# Title` line or the file name stands instead
        if key in _META_KEYS:
            setattr(raw, key, value or None)
        elif key in ("published", "date", "published_at"):
            raw.published = parse_date(value)
        elif key == "id":
            raw.feed_id = value
    return "\n".join(lines[end + 1 :])


def _scalar(value: str) -> str | None:
    """A front matter value as text: quotes taken off, None for a quote never closed or a bracket
    never closed, which is no title or source ("title: [unclosed"). A quote closed before the end
    ('"No deal" fears grow') keeps the value as written."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        if len(value) > 1 and value[-1] == value[0]:
            return value[1:-1]
        return value if value[0] in value[1:] else None
    opened = value[:1]
    if opened in ("[", "{") and ("]" if opened == "[" else "}") not in value:
        return None
    return value


def _inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, link text and image alt text kept."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(_inline_text(child))  # its children are the alt text
    return "".join(out)


def _html_text(html: str) -> str:
    return BeautifulSoup(html, "lxml").get_text(" ", strip=True)


def parse_markdown(text: str, path: Path) -> RawArticle:
    text = text.replace("\r\n", "\n")
    raw = RawArticle(title="", blocks=[], path=str(path), origin=str(path))
    text = _front_matter(text, raw)

    heading: str | None = None
    pending: list[str] = []  # inline texts of the block being read (table cells of one row)
    heading_level = 0

    def add(body: str) -> None:
        body = clean_text(body)
        if not body:
            return
        if not raw.blocks and body[:3].lower() == "by " and len(body.split()) <= 8:
            raw.author = raw.author or body[3:].strip()  # a byline before the first paragraph is metadata
            return
        raw.blocks.append((heading, body))

    for token in _MD.parse(text):
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "inline" and heading_level:
            title = clean_text(_inline_text(token))
            if heading_level == 1 and not raw.title:
                raw.title = title
            elif title:
                heading = title
            heading_level = 0
        elif token.type == "inline":
            pending.append(_inline_text(token))
        elif token.type in ("paragraph_close", "tr_close"):
            add(" | ".join(p for p in pending if p.strip()) if token.type == "tr_close" else " ".join(pending))
            pending = []
        elif token.type in ("fence", "code_block"):
            add(" ".join(token.content.split("\n")))
        elif token.type == "html_block":
            add(_html_text(token.content))
    if not raw.title:
        raise LoadError("Markdown article has no '# Title' line")
    if not raw.blocks:
        raise LoadError("article has no body paragraphs")
    return raw
