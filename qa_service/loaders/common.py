"""Shared helpers for loaders: decoding with repair, sidecar metadata, Article building."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from qa_service.models import Article, Paragraph
from qa_service.text import parse_date as text_date
from qa_service.text import strip_accents


class LoadError(Exception):
    """A file (or one record of it) could not be turned into an article."""


class TimeLimitExceeded(LoadError):
    """The work on one article ran past its time limit (see `time_limit`)."""


# The deadline of the article being worked on. A context variable, because the work that
# checks it (chunking, positions extraction) is reached through hooks that do not pass it.
# (deadline, seconds allowed, pause credit left): pauses for queries push the deadline back by
# at most `seconds` in all, so a steady stream of queries cannot stretch an article without end.
_DEADLINE: ContextVar[tuple[float, float, float] | None] = ContextVar("qa_article_deadline", default=None)
# Called at the same points: lets bulk work step aside for queries (qa_service/priority.py);
# returns the seconds it waited, which do not count against the article's time.
_PAUSE: ContextVar[Callable[[], float] | None] = ContextVar("qa_ingest_pause", default=None)


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Within the block, `check_time()` raises TimeLimitExceeded once `seconds` have passed."""
    token = _DEADLINE.set((time.monotonic() + seconds, seconds, seconds) if seconds is not None else None)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def pausing(hook: Callable[[], float] | None) -> Iterator[None]:
    """Within the block, `check_time()` also calls `hook` (see `_PAUSE`)."""
    token = _PAUSE.set(hook)
    try:
        yield
    finally:
        _PAUSE.reset(token)


def over_limit(seconds: float) -> str:
    return f"took longer than the {seconds:g} s allowed per article"


def time_left() -> float | None:
    """Seconds left of the current article's limit (None: no limit), to hand on to a worker process."""
    limit = _DEADLINE.get()
    return None if limit is None else max(0.0, limit[0] - time.monotonic())


def check_time() -> None:
    """Called between bounded steps of long per-article work; cheap enough for inner loops."""
    pause = _PAUSE.get()
    waited = pause() if pause is not None else 0.0
    limit = _DEADLINE.get()
    if limit is not None and waited and limit[2] > 0:
        credit = min(waited, limit[2])
        limit = (limit[0] + credit, limit[1], limit[2] - credit)
        _DEADLINE.set(limit)
    if limit is not None and time.monotonic() > limit[0]:
        raise TimeLimitExceeded(over_limit(limit[1]))


# Ids the index uses for its own records ("__state__"), and ids a URL path cannot carry.
_RESERVED_ID = re.compile(r"__|\.+\Z")


def is_reserved_id(article_id: str) -> bool:
    return bool(_RESERVED_ID.match(article_id))


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
        # Latin-1/cp1252 is the usual culprit: re-decode the bad bytes individually, in one
        # linear pass (re-decoding the rest of the file after each bad byte was quadratic).
        return data.decode("utf-8", errors=_CP1252_FALLBACK), True


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", errors="replace"), exc.end


_CP1252_FALLBACK = "qa-cp1252-fallback"
codecs.register_error(_CP1252_FALLBACK, _cp1252_fallback)


# A long run of the base64/hex alphabet without a space: encoded data, not words.
_ENCODED_RUN = re.compile(r"[A-Za-z0-9+/=_-]{40,}")
MIN_ENCODED_CHARS = 2_000  # below this a file costs little whatever it holds


def encoded_data(blocks: list[tuple[str | None, str]]) -> str | None:
    """Why the article is encoded data rather than text (a base64 dump: thousands of one-line
    "paragraphs" that took minutes to embed before the time limit failed it), or None."""
    total = encoded = 0
    for _, body in blocks:
        total += len("".join(body.split()))  # characters that are not whitespace
        encoded += sum(len(m.group()) for m in _ENCODED_RUN.finditer(body))
    if encoded < MIN_ENCODED_CHARS or encoded < total / 2:
        return None
    return (f"this looks like encoded data (base64 or hex), not article text: {encoded:,} of its "
            f"{total:,} characters are long runs without spaces")


def split_text(text: str, limit: int) -> list[str]:
    """Consecutive slices of `text` of at most `limit` characters that join back to it.

    Cuts fall after a sentence end if there is one in the second half of a slice, else
    after a space, else anywhere (a "word" of `limit` characters).
    """
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        hi = start + limit
        cut = text.rfind(". ", start + limit // 2, hi - 1)
        cut = cut + 2 if cut >= 0 else text.rfind(" ", start, hi) + 1
        if cut <= start:
            cut = hi
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


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
    text = str(value)
    if len(text) > 100:  # no date is that long; fuzzy parsing of a huge field is slow
        return None
    return text_date(text)


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
    text = strip_accents(text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    if len(slug) > max_len:  # cut at a word boundary
        slug = slug[: max_len + 1].rsplit("-", 1)[0]
    return slug or "article"


def safe_id(text: str) -> str:
    """Feed ids become ids usable in URLs and Chroma ids."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "article"


def short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


# No real paragraph is this long; a longer block (a text without blank lines) is cut at
# sentence ends, so every cited paragraph stays small enough to store and show.
MAX_PARAGRAPH_CHARS = 20_000


def build_article(raw: RawArticle, article_id: str) -> Article:
    """Assign paragraph ids and offsets; Article.text is the paragraphs joined by blank lines."""
    if not raw.title.strip():
        raise LoadError("article has no title")
    paragraphs: list[Paragraph] = []
    headings: list[str] = []
    parts: list[str] = []
    offset = 0
    bodies = [(heading, part.strip()) for heading, body in raw.blocks
              for part in split_text(clean_text(body), MAX_PARAGRAPH_CHARS)]
    for heading, body in bodies:
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
