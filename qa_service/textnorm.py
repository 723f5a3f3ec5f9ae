"""Whitespace and quote normalisation with a map back to original offsets.

Used wherever "stands verbatim" is checked: a quote is located in the normalised
paragraph, and the hit is mapped back so paragraph_text[start:end] is exact.
"""

from __future__ import annotations

import re

_TRANS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-", "\u00a0": " ", "\u2026": ".",
})


def normalize(text: str) -> str:
    """Lower-case, straight quotes, plain dashes, single spaces (same rules as the offset map)."""
    return normalize_with_map(text)[0].strip()


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """Normalised text and, for each of its characters, the index in `text`."""
    out: list[str] = []
    idx: list[int] = []
    prev_space = True
    for i, ch in enumerate(text):
        c = ch.translate(_TRANS)
        if c.isspace():
            if prev_space:
                continue
            c = " "
            prev_space = True
        else:
            prev_space = False
        c = c.lower()
        if len(c) != 1:  # rare multi-char lowercasing: keep the first char for a 1:1 map
            c = c[0]
        out.append(c)
        idx.append(i)
    while out and out[-1] == " ":
        out.pop()
        idx.pop()
    return "".join(out), idx


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Offsets of `quote` in `text` after normalisation, or None."""
    q = normalize(quote).strip(" .,;:'\"")
    if len(q) < 3:
        return None
    norm, idx = normalize_with_map(text)
    pos = norm.find(q)
    if pos < 0:
        return None
    return idx[pos], idx[pos + len(q) - 1] + 1


_SENT_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_ABBREV = re.compile(r"\b(?:[A-Z]\.|Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|Jr|Sr|Inc|Co|Corp|Ltd|vs|No|U\.S|U\.K|E\.U)\.$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets; avoids splitting after common abbreviations."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        candidate = text[start : m.start()].rstrip("\"'”’)")
        if _ABBREV.search(candidate):
            continue
        end = m.start()
        while end < len(text) and text[end] in "\"'”’)":
            end += 1
        spans.append((start, end))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]
