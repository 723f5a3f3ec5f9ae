"""JSONL feeds: one article per line with id, title, source, author, published_at, category, url, body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from qa_service.loaders.common import LoadError, RawArticle, clean_text, parse_date


def parse_jsonl(text: str, path: Path) -> Iterator[RawArticle | LoadError]:
    """Yield one RawArticle per good line and a LoadError (naming the line) per bad one."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoadError(f"{where}: not JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            yield LoadError(f"{where}: expected a JSON object")
            continue
        body = record.get("body") or record.get("text") or ""
        title = record.get("title") or ""
        if not isinstance(body, str) or not body.strip():
            yield LoadError(f"{where}: article has no body")
            continue
        if not isinstance(title, str) or not title.strip():
            yield LoadError(f"{where}: article has no title")
            continue
        bad = [k for k in ("source", "author", "url", "category", "published_at")
               if record.get(k) is not None and not isinstance(record.get(k), str)]
        if bad:
            yield LoadError(f"{where}: field(s) {', '.join(bad)} must be strings")
            continue
        if record.get("id") is not None and not isinstance(record.get("id"), (str, int)):
            yield LoadError(f"{where}: id must be a string or number")
            continue
        blocks = [(None, clean_text(p)) for p in re.split(r"\n\s*\n", body) if p.strip()]
        feed_id = record.get("id")
        yield RawArticle(
            title=title,
            blocks=blocks,
            source=record.get("source") or None,
            author=record.get("author") or None,
            published=parse_date(record.get("published_at") or record.get("published")),
            url=record.get("url") or None,
            category=record.get("category") or None,
            feed_id=str(feed_id) if feed_id not in (None, "") else None,
            path=str(path),
            origin=f"{path}#{lineno}",
        )
