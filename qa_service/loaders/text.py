"""Plain-text articles: the seed layout and the BBC layout.

Seed layout: category line, headline, "By ..." byline, then one paragraph per line
with short section headings (no final period) between them.
BBC layout: headline on the first line, then paragraphs separated by blank lines.
"""

from __future__ import annotations

import re
from pathlib import Path

from qa_service.loaders.common import LoadError, RawArticle, clean_text

_END_PUNCT = (".", "?", "!", ":", ";", ",")
_QUOTES = "\"'”’“‘»"
_BYLINE = re.compile(r"^by\s+\S", re.IGNORECASE)


def is_byline(line: str) -> bool:
    """"By Jane Doe" / "By Editorial Staff": short, no sentence punctuation, capitalised names."""
    words = line.split()
    if not _BYLINE.match(line) or len(words) > 8 or line.rstrip().endswith((".", "?", "!")):
        return False
    return all(w[0].isupper() or w.lower() in ("and", "by", "of", "in", "the", "&", "-") for w in words[1:])


def is_heading(line: str, next_line: str | None) -> bool:
    """A short line without final punctuation, followed by a longer paragraph."""
    words = line.split()
    # A closing quote may end a heading (Rutte’s Stance: “More Weapons”), a period may not.
    if not words or len(words) > 12 or line.rstrip(_QUOTES).endswith(_END_PUNCT):
        return False
    return next_line is not None and len(next_line) > len(line)


def parse_text(text: str, path: Path) -> RawArticle:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    # Seed layout with a stray blank line: a block that holds several paragraph-sized
    # lines is one-per-line text, not a BBC paragraph wrapped over lines.
    many_lines = any(sum(len(x) > 80 for x in b.split("\n")) >= 2 for b in blocks)
    if len(blocks) >= 2 and not many_lines:
        lines = [clean_text(" ".join(b.split("\n"))) for b in blocks]
        # BBC layout: the headline block may carry more lines (rare); keep its first line.
        first = blocks[0].strip().split("\n")
        lines = [clean_text(first[0])] + [clean_text(x) for x in first[1:]] + lines[1:]
    else:
        lines = [clean_text(x) for x in text.split("\n")]
    lines = [x for x in lines if x]
    if not lines:
        raise LoadError("empty file")

    raw = RawArticle(title="", blocks=[], path=str(path), origin=str(path))
    if len(lines) >= 3 and is_byline(lines[2]) and len(lines[0].split()) <= 8:
        raw.category, raw.title, raw.author = lines[0], lines[1], lines[2][3:].strip()
        body = lines[3:]
    elif len(lines) >= 2 and is_byline(lines[1]):
        raw.title, raw.author = lines[0], lines[1][3:].strip()
        body = lines[2:]
    else:
        raw.title, body = lines[0], lines[1:]

    heading: str | None = None
    for i, line in enumerate(body):
        nxt = body[i + 1] if i + 1 < len(body) else None
        if is_heading(line, nxt):
            heading = line
            continue
        if raw.author is None and is_byline(line) and not raw.blocks:
            raw.author = line[3:].strip()
            continue
        raw.blocks.append((heading, line))
    if not raw.blocks:
        raise LoadError("article has no body paragraphs")
    return raw
