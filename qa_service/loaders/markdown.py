"""Markdown articles: optional `---` front matter, `# Title`, `## Heading` sections."""

from __future__ import annotations

import re
from pathlib import Path

from qa_service.loaders.common import LoadError, RawArticle, clean_text, parse_date

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> link text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
]


def strip_inline(text: str) -> str:
    for pattern, repl in _INLINE:
        text = pattern.sub(repl, text)
    return text


def parse_markdown(text: str, path: Path) -> RawArticle:
    text = text.replace("\r\n", "\n")
    raw = RawArticle(title="", blocks=[], path=str(path), origin=str(path))
    m = _FRONT.match(text)
    if m:
        for line in m.group(1).splitlines():
            if ":" not in line:
                continue
            key, value = (s.strip().strip("'\"") for s in line.split(":", 1))
            key = key.lower()
            if key in ("source", "author", "url", "category", "title"):
                setattr(raw, key, value or None)
            elif key in ("published", "date", "published_at"):
                raw.published = parse_date(value)
            elif key == "id":
                raw.feed_id = value
        text = text[m.end() :]

    heading: str | None = None
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        lines = block.split("\n")
        # A heading line may be followed directly by text in the same block.
        while lines and re.match(r"^#{1,6}\s", lines[0]):
            level = len(lines[0]) - len(lines[0].lstrip("#"))
            title = clean_text(strip_inline(lines[0].lstrip("#")))
            if level == 1 and not raw.title:
                raw.title = title
            else:
                heading = title
            lines = lines[1:]
        if not lines:
            continue
        body = " ".join(line.strip().lstrip(">").strip() for line in lines)
        if re.fullmatch(r"[-*_\s]{3,}", body):  # horizontal rule
            continue
        if re.match(r"^by\s+\S", body, re.IGNORECASE) and len(body.split()) <= 8 and not raw.blocks:
            raw.author = raw.author or body[3:].strip()
            continue
        raw.blocks.append((heading, strip_inline(body)))
    if not raw.title:
        raise LoadError("Markdown article has no '# Title' line")
    if not raw.blocks:
        raise LoadError("article has no body paragraphs")
    return raw
