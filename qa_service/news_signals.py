"""Signals a news question carries beyond its words: the outlet and the date it names."""

from __future__ import annotations

import re
from datetime import date

from dateutil import parser as dateparser

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = [
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE),
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS},?\s+\d{{4}}\b", re.IGNORECASE),
]


def dates_in(text: str) -> list[date]:
    found: list[date] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            try:
                found.append(dateparser.parse(m.group(0)).date())
            except (ValueError, OverflowError):
                continue
    return sorted(set(found))


def _norm(text: str) -> str:
    text = text.lower().replace("’", "'")
    return re.sub(r"[^a-z0-9' ]+", " ", text)


def sources_in(text: str, known: dict[str, str]) -> list[str]:
    """Known outlet names (lowercased -> display) that the text mentions."""
    hay = f" {_norm(text)} "
    out = []
    for low, display in known.items():
        name = _norm(low).strip()
        bare = name[4:] if name.startswith("the ") else name
        if len(bare) < 3:
            continue
        if f" {name} " in hay or f" {bare} " in hay or f" {bare}'s " in hay:
            out.append(display)
    return out
