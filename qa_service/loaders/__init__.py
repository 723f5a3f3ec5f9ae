"""Loaders chosen by file type. `load_paths` walks folders and never raises on one bad file."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa_service.loaders.common import (
    LoadError,
    RawArticle,
    apply_sidecar,
    build_article,
    decode_bytes,
    read_sidecar,
)
from qa_service.loaders.html import parse_html
from qa_service.loaders.jsonl import parse_jsonl
from qa_service.loaders.markdown import parse_markdown
from qa_service.loaders.text import parse_text

SUFFIXES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
            ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".ndjson": "jsonl"}

log = logging.getLogger(__name__)

_NOT_ARTICLE = re.compile(r"^(readme|license|licence|changelog|copying)(\.|$)", re.IGNORECASE)

__all__ = ["LoadError", "RawArticle", "build_article", "load_paths", "parse_bytes", "SUFFIXES", "Failure"]


@dataclass
class Failure:
    where: str  # file path, or "path line N"
    reason: str


def iter_files(paths: list[Path]) -> Iterator[Path | Failure]:
    for path in paths:
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                # Sidecars, hidden files and a corpus's own README/LICENSE are not articles.
                if sub.name.endswith(".meta.json") or sub.name.startswith(".") or _NOT_ARTICLE.match(sub.name):
                    continue
                # Listed, not skipped silently: a reader who dropped a PDF into the folder learns why
                # it is not searchable.
                yield sub if sub.suffix.lower() in SUFFIXES else _unsupported(sub)
        elif path.is_file():
            yield path if path.suffix.lower() in SUFFIXES else _unsupported(path)
        else:
            yield Failure(str(path), "no such file or folder")


def _unsupported(path: Path) -> Failure:
    return Failure(str(path), f"unsupported file type {path.suffix or '(none)'} "
                              f"(articles are {', '.join(sorted(SUFFIXES))})")


def parse_bytes(data: bytes, path: Path) -> Iterator[RawArticle | Failure]:
    """Parse one file's bytes; yields articles and failures (a feed may hold both)."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        yield Failure(str(path), f"unsupported file type {path.suffix or '(none)'}")
        return
    try:
        text, _repaired = decode_bytes(data, path.name)
        if kind == "jsonl":
            for item in parse_jsonl(text, path):
                if isinstance(item, LoadError):
                    yield Failure(f"{path} {str(item).split(':', 1)[0]}", str(item).split(": ", 1)[-1])
                else:
                    yield item
            return
        parser = {"text": parse_text, "markdown": parse_markdown, "html": parse_html}[kind]
        raw = parser(text, path)
        yield apply_sidecar(raw, read_sidecar(path)) if path.exists() else raw
    except LoadError as exc:
        yield Failure(str(path), str(exc))
    except Exception:  # a parser bug on one odd file must not stop the ingest
        # The reason names the format, not the exception: its text is internal (and reaches API clients).
        log.warning("could not parse %s", path, exc_info=True)
        yield Failure(str(path), f"could not parse this {kind} file")


def load_paths(paths: list[Path]) -> Iterator[RawArticle | Failure]:
    for item in iter_files(paths):
        if isinstance(item, Failure):
            yield item
            continue
        try:
            data = item.read_bytes()
        except OSError as exc:
            yield Failure(str(item), f"unreadable: {exc}")
            continue
        # Origins use the resolved path: `data/articles` and its absolute spelling are one file.
        for parsed in parse_bytes(data, item):
            if isinstance(parsed, RawArticle):
                parsed.origin = str(item.resolve()) + parsed.origin[len(str(item)):]
            yield parsed
