"""JSONL feeds: one article per line with id, title, source, author, published_at, category, url, body.

Every line is read on its own, within bounds: a line that is too long, nested too deeply
or otherwise unreadable is reported by number and skipped, and the lines after it load.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from qa_service.loaders.common import LoadError, RawArticle, clean_text, parse_date

log = logging.getLogger(__name__)

MAX_LINE_CHARS = 10_000_000  # twice the default per-article limit: room for the JSON around a body
MAX_DEPTH = 16  # an article record is one object of strings; a few levels spare for extra fields
_SPECIAL = re.compile(r'[\[\]{}"\\]')


def nested_deeper_than(line: str, limit: int) -> bool:
    """Whether brackets outside strings nest more than `limit` deep (one linear pass)."""
    if line.count("[") + line.count("{") <= limit:
        return False  # it cannot nest deeper than its number of opening brackets
    depth = 0
    in_string = False
    escaped = -1  # index of the character a backslash escapes
    for m in _SPECIAL.finditer(line):
        i = m.start()
        if i == escaped:
            continue
        ch = line[i]
        if in_string:
            if ch == "\\":
                escaped = i + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _record(line: str, where: str) -> dict[str, object]:
    if len(line) > MAX_LINE_CHARS:
        raise LoadError(f"{where}: line too long ({len(line):,} characters, limit {MAX_LINE_CHARS:,})")
    if nested_deeper_than(line, MAX_DEPTH):
        raise LoadError(f"{where}: JSON nested more than {MAX_DEPTH} levels deep")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{where}: not JSON ({exc.msg})") from None
    except RecursionError:  # a backstop: the depth check above should have refused it
        raise LoadError(f"{where}: JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise LoadError(f"{where}: expected a JSON object")
    return record


def _article(record: dict[str, object], where: str, path: Path, lineno: int) -> RawArticle:
    body = record.get("body") or record.get("text") or ""
    title = record.get("title") or ""
    if not isinstance(body, str) or not body.strip():
        raise LoadError(f"{where}: article has no body")
    if not isinstance(title, str) or not title.strip():
        raise LoadError(f"{where}: article has no title")
    bad = [k for k in ("source", "author", "url", "category", "published_at")
           if record.get(k) is not None and not isinstance(record.get(k), str)]
    if bad:
        raise LoadError(f"{where}: field(s) {', '.join(bad)} must be strings")
    feed_id = record.get("id")
    if feed_id is not None and (isinstance(feed_id, bool) or not isinstance(feed_id, (str, int))):
        raise LoadError(f"{where}: id must be a string or number")
    blocks: list[tuple[str | None, str]] = [(None, clean_text(p)) for p in re.split(r"\n\s*\n", body) if p.strip()]
    return RawArticle(
        title=title,
        blocks=blocks,
        source=str(record.get("source") or "") or None,
        author=str(record.get("author") or "") or None,
        published=parse_date(record.get("published_at") or record.get("published")),
        url=record.get("url") or None,  # type: ignore[arg-type]
        category=record.get("category") or None,  # type: ignore[arg-type]
        feed_id=str(feed_id) if feed_id not in (None, "") else None,
        path=str(path),
        origin=f"{path}#{lineno}",
    )


def parse_jsonl(text: str, path: Path) -> Iterator[RawArticle | LoadError]:
    """Yield one RawArticle per good line and a LoadError (naming the line) per bad one."""
    # Split on "\n" only: str.splitlines() also breaks at U+2028 and friends, which JSON
    # strings may hold unescaped.
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            yield _article(_record(line, where), where, path, lineno)
        except LoadError as exc:
            yield exc
        except Exception:  # one odd line must not end the feed; details stay in the log
            log.warning("unreadable line %d of %s", lineno, path, exc_info=True)
            yield LoadError(f"{where}: could not read this line")
