"""Date expressions found in text, normalised against the article's publication date.

Own rules for explicit dates (they decide precision and the missing year), `dateparser`
only for relative words ("yesterday", "last Friday", "next month").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import dateparser

Tense = Literal["past", "future"] | None

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january", "february", "march", "april", "may", "june",
            "july", "august", "september", "october", "november", "december",
        ]
    )
}
_MONTH_ABBR = {m[:3]: n for m, n in MONTHS.items()} | {"sept": 9}
_MONTH_RE = (
    r"(January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_YEAR = r"(1[6-9]\d\d|20\d\d)"
MONTH_DAY = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR}\b)?")
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+{_YEAR}\b)?")
MONTH_YEAR = re.compile(rf"\b{_MONTH_RE},?\s+{_YEAR}\b")
YEAR = re.compile(rf"(?<![\d,.$£€-]){_YEAR}(?![\d,]|\s*(?:%|percent|people|troops|soldiers|tons|km|miles))")
BARE_MONTH = re.compile(rf"\b{_MONTH_RE}\b")
RELATIVE = re.compile(
    r"\b(today|yesterday|tomorrow|(?:last|next|this)\s+(?:year|month|Monday|Tuesday|Wednesday|Thursday|"
    r"Friday|Saturday|Sunday)|(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"\w+\s+(?:days|months|years)\s+ago)\b",
    re.IGNORECASE,
)
# Words before a year or bare month that make it a date and not a count or a name.
DATE_CUES = {"in", "since", "until", "till", "by", "from", "of", "before", "after", "during", "early", "late",
             "mid", "and", "to", "through", "year", "around", "between", "circa", "the", "'s", "’s"}


@dataclass(frozen=True)
class DateMention:
    start: int  # offsets in the text searched
    end: int
    text: str
    iso: str  # truncated to precision
    sort_date: str  # full ISO date, first day of the period
    precision: Literal["day", "month", "year"]


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return MONTHS.get(name) or _MONTH_ABBR[name[:4] if name.startswith("sept") else name[:3]]


def infer_year(month: int, day: int, published: date | None, tense: Tense) -> int | None:
    """The year that puts month/day nearest the publication date, respecting tense."""
    if published is None:
        return None
    best: tuple[int, int] | None = None
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            candidate = date(year, month, min(day, 28) if month == 2 and day > 28 else day)
        except ValueError:
            continue
        delta = (candidate - published).days
        if tense == "past" and delta > 0 or tense == "future" and delta < 0:
            continue
        if best is None or abs(delta) < best[0]:
            best = (abs(delta), year)
    return best[1] if best else published.year


def _mention(
    start: int, text: str, year: int | None, month: int | None, day: int | None
) -> DateMention | None:
    if year is None:
        return None
    try:
        if day is not None and month is not None:
            d = date(year, month, day)
            return DateMention(start, start + len(text), text, d.isoformat(), d.isoformat(), "day")
        if month is not None:
            return DateMention(start, start + len(text), text, f"{year:04d}-{month:02d}",
                               f"{year:04d}-{month:02d}-01", "month")
    except ValueError:
        return None
    return DateMention(start, start + len(text), text, f"{year:04d}", f"{year:04d}-01-01", "year")


def find_dates(
    text: str,
    published: date | None,
    tense_at: callable | None = None,  # type: ignore[valid-type]
    date_spans: list[tuple[int, int]] | None = None,
) -> list[DateMention]:
    """All date expressions in `text`, left to right.

    `tense_at(offset)` gives the tense of the clause holding a mention (to place a year-less
    date before or after publication); `date_spans` are spans an NER tagged as dates, which
    let bare years and months count even without a cue word.
    """
    spans = date_spans or []
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def in_ner(s: int, e: int) -> bool:
        return any(a <= s and e <= b for a, b in spans)

    def cue_before(s: int) -> bool:
        words = text[:s].split()
        return bool(words) and words[-1].lower().strip(",") in DATE_CUES

    def tense(s: int) -> Tense:
        return tense_at(s) if tense_at else None

    for m in MONTH_DAY.finditer(text):
        month, day = _month(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else infer_year(month, day, published, tense(m.start()))
        if (mention := _mention(m.start(), m.group(0), year, month, day)) and free(m.start(), m.end()):
            found.append(mention)
            taken.append((m.start(), m.end()))
    for m in DAY_MONTH.finditer(text):
        day, month = int(m.group(1)), _month(m.group(2))
        year = int(m.group(3)) if m.group(3) else infer_year(month, day, published, tense(m.start()))
        if free(m.start(), m.end()) and (mention := _mention(m.start(), m.group(0), year, month, day)):
            found.append(mention)
            taken.append((m.start(), m.end()))
    for m in MONTH_YEAR.finditer(text):
        if free(m.start(), m.end()) and (mention := _mention(m.start(), m.group(0), int(m.group(2)),
                                                            _month(m.group(1)), None)):
            found.append(mention)
            taken.append((m.start(), m.end()))
    for m in YEAR.finditer(text):
        if free(m.start(), m.end()) and (in_ner(m.start(), m.end()) or cue_before(m.start())):
            found.append(_mention(m.start(), m.group(0), int(m.group(1)), None, None))  # type: ignore[arg-type]
            taken.append((m.start(), m.end()))
    for m in BARE_MONTH.finditer(text):
        # "May" is also a verb and a name: only when tagged a date or after a cue word.
        if not free(m.start(), m.end()) or not (in_ner(m.start(), m.end()) or cue_before(m.start())):
            continue
        month = _month(m.group(1))
        t = tense(m.start())
        year = infer_year(month, 15, published, t)
        if (mention := _mention(m.start(), m.group(0), year, month, None)) is not None:
            found.append(mention)
            taken.append((m.start(), m.end()))
    if published is not None:
        for m in RELATIVE.finditer(text):
            mention = _relative(m.start(), m.group(0), published, tense(m.start()))
            if free(m.start(), m.end()) and mention:
                found.append(mention)
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda d: d.start)


def _relative(start: int, expr: str, published: date, tense: Tense) -> DateMention | None:
    settings = {
        "RELATIVE_BASE": datetime(published.year, published.month, published.day),
        "PREFER_DATES_FROM": "future" if tense == "future" else "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    phrase = re.sub(r"^on\s+", "", expr, flags=re.IGNORECASE)
    if phrase.capitalize() == published.strftime("%A"):
        # "said on Monday" in a paper dated Monday means that very day.
        return _mention(start, expr, published.year, published.month, published.day)
    parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    if parsed is None:
        return None
    low = phrase.lower()
    if low.endswith("year") or low.endswith("years ago"):
        return _mention(start, expr, parsed.year, None, None)
    if low.endswith("month") or low.endswith("months ago"):
        return _mention(start, expr, parsed.year, parsed.month, None)
    return _mention(start, expr, parsed.year, parsed.month, parsed.day)
