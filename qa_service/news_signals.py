"""Signals a news question carries beyond its words: the outlet and the date it names."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from qa_service.text import MONTH_OR_ABBREVIATION, parse_date, plain

_MONTHS = MONTH_OR_ABBREVIATION  # matched case-insensitively below
_DATE_PATTERNS = [
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE),
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS},?\s+\d{{4}}\b", re.IGNORECASE),
]


def dates_in(text: str) -> list[date]:
    found: list[date] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parsed = parse_date(m.group(0))
            if parsed is not None:
                found.append(parsed)
    return sorted(set(found))


@lru_cache(maxsize=4096)
def _names(source: str) -> tuple[str, ...]:
    """Ways a question may name an outlet, longest first: "Cnbc | World Business News Leader" is also
    "CNBC". Kept per outlet: every question is matched against every known outlet."""
    names = [source]
    head = re.split(r"\s+[|:\-\u2013]\s+", source)[0]
    if head != source:
        names.append(head)
    out = []
    for n in names:
        n = plain(n).strip()
        out += [n, n[4:]] if n.startswith("the ") else [n]
    return tuple(sorted((n for n in dict.fromkeys(out) if len(n) >= 3), key=len, reverse=True))


def source_mentions(text: str, known: dict[str, str]) -> list[tuple[int, int, str]]:
    """(start, end, outlet) of each outlet the text names, in order, longest name first."""
    hay = plain(text)
    found: list[tuple[int, int, str]] = []
    for display in known.values():
        for name in _names(display):
            if name not in hay:  # most outlets go unnamed: no pattern to run
                continue
            for m in re.finditer(rf"(?<![a-z0-9]){re.escape(name)}(?:'s)?(?![a-z0-9])", hay):
                if not any(s <= m.start() < e for s, e, _ in found):
                    found.append((m.start(), m.end(), display))
            if any(d == display for *_, d in found):
                break
    return sorted(found)


def sources_in(text: str, known: dict[str, str]) -> list[str]:
    """Known outlets (lowercased -> display) that the text mentions, in order of mention."""
    return list(dict.fromkeys(d for *_, d in source_mentions(text, known)))


def outlet_spans(text: str, known: dict[str, str]) -> list[tuple[int, int]]:
    """Where the text names known outlets, as character spans of the text itself ("Cnbc | World Business
    News Leader", "The Verge's"), in order."""
    hay = plain(text)
    spans: list[tuple[int, int]] = []
    pos = 0
    for start, end, _ in source_mentions(text, known):
        words = hay[start:end].split()
        found = re.compile(r"(?<![\w.\-])" + _BETWEEN_WORDS.join(map(re.escape, words)) + r"(?![\w\-])",
                           re.IGNORECASE).search(text, pos) if words else None
        if found is not None:
            spans.append((found.start(), found.end()))
            pos = found.end()
    return spans


# What text.plain turns into one space between two words: a possessive 's and any other characters.
_BETWEEN_WORDS = r"(?:['’][sS])?[^\w.\-]+"


def outlet_clauses(text: str, known: dict[str, str]) -> dict[str, str]:
    """For each named outlet, the part of the question about it: from its mention to the
    next outlet's mention (multi-outlet questions ask one thing of each outlet)."""
    hay = plain(text)
    mentions = source_mentions(text, known)
    clauses: dict[str, str] = {}
    for i, (_start, end, outlet) in enumerate(mentions):
        stop = mentions[i + 1][0] if i + 1 < len(mentions) else len(hay)
        clause = hay[end:stop].strip()
        if len(clause.split()) < 4 and i > 0:  # "'The Age' and 'TechCrunch' imply X": share X
            clause = hay[end:].strip()
        clauses[outlet] = (clauses.get(outlet, "") + " " + clause).strip()
    return clauses
