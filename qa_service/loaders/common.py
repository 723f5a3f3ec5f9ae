"""Shared helpers for loaders: decoding with repair, sidecar metadata, Article building."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from dateutil import parser as dateparser

from qa_service.models import Article, Paragraph


class LoadError(Exception):
    """A file (or one record of it) could not be turned into an article."""


@dataclass
class RawArticle:
    """What a format-specific loader produces before ids and offsets are assigned."""

    title: str
    blocks: list[tuple[str | None, str]]  # (heading, paragraph text) in reading order
    source: str | None = None
    author: str | None = None
    published: date | None = None
    url: str | None = None
    category: str | None = None
    feed_id: str | None = None
    path: str | None = None
    origin: str = ""  # path (and line) used for collision-safe ids
    extra: dict[str, str] = field(default_factory=dict)


def decode_bytes(data: bytes, name: str) -> tuple[str, bool]:
    """Decode UTF-8, repairing stray invalid bytes; reject binary files.

    Returns (text, repaired). A lone bad byte (common in scraped corpora) is
    replaced rather than failing the whole article.
    """
    if not data.strip():
        raise LoadError("empty file")
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        if bad > max(8, len(text) // 100):
            raise LoadError(f"not UTF-8 text ({bad} undecodable bytes)") from None
        # Latin-1/cp1252 is the usual culprit: re-decode the bad bytes individually.
        repaired = _repair_mixed(data)
        return repaired, True


def _repair_mixed(data: bytes) -> str:
    out: list[str] = []
    i = 0
    while i < len(data):
        try:
            chunk = data[i:].decode("utf-8")
            out.append(chunk)
            break
        except UnicodeDecodeError as exc:
            out.append(data[i : i + exc.start].decode("utf-8"))
            bad = data[i + exc.start : i + exc.end]
            out.append(bad.decode("cp1252", errors="replace"))
            i += exc.end
    return "".join(out)


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


def parse_date(value: object) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return dateparser.parse(str(value), fuzzy=True).date()
    except (ValueError, OverflowError, TypeError):
        return None


def read_sidecar(path: Path) -> dict[str, str]:
    """Optional `<stem>.meta.json` beside a file adds or overrides metadata."""
    side = path.with_name(path.stem + ".meta.json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoadError(f"unreadable sidecar {side.name}: {exc}") from exc
    return {k: v for k, v in data.items() if isinstance(v, str)}


def apply_sidecar(raw: RawArticle, meta: dict[str, str]) -> RawArticle:
    for key in ("title", "source", "author", "url", "category"):
        if meta.get(key):
            setattr(raw, key, meta[key])
    if meta.get("published"):
        raw.published = parse_date(meta["published"])
    if meta.get("id"):
        raw.feed_id = meta["id"]
    return raw


def slugify(text: str, max_len: int = 60) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    if len(slug) > max_len:  # cut at a word boundary
        slug = slug[: max_len + 1].rsplit("-", 1)[0]
    return slug or "article"


def safe_id(text: str) -> str:
    """Feed ids become ids usable in URLs and Chroma ids."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "article"


def short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def build_article(raw: RawArticle, article_id: str) -> Article:
    """Assign paragraph ids and offsets; Article.text is the paragraphs joined by blank lines."""
    if not raw.title.strip():
        raise LoadError("article has no title")
    paragraphs: list[Paragraph] = []
    headings: list[str] = []
    parts: list[str] = []
    offset = 0
    for heading, body in raw.blocks:
        body = clean_text(body)
        if not body:
            continue
        if heading and heading not in headings:
            headings.append(heading)
        if parts:
            offset += 2  # the "\n\n" separator
        number = len(paragraphs) + 1
        paragraphs.append(
            Paragraph(
                paragraph_id=f"{article_id}:p{number}",
                number=number,
                heading=heading,
                text=body,
                start=offset,
                end=offset + len(body),
            )
        )
        parts.append(body)
        offset += len(body)
    if not paragraphs:
        raise LoadError("article has no body paragraphs")
    text = "\n\n".join(parts)
    article = Article(
        article_id=article_id,
        title=clean_text(raw.title),
        source=raw.source,
        author=raw.author,
        published=raw.published,
        url=raw.url,
        category=raw.category,
        headings=headings,
        paragraphs=paragraphs,
        text=text,
        path=raw.path,
    )
    article.content_hash = content_hash(article)
    return article


def content_hash(article: Article) -> str:
    payload = article.model_dump(mode="json", exclude={"content_hash", "path"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
