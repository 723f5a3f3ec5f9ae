"""Date expressions found in text, normalised against the article's publication date.

Own rules for explicit dates (they decide precision and the missing year), `dateparser`
only for relative words ("yesterday", "last Friday", "next month").

A month or day whose year neither the text nor a publication date gives is kept as a
year-less mention: ISO 8601's truncated form "--12-03" (or "--12"), `year_known=False`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import dateparser

from qa_service.text import MONTH_OR_ABBREVIATION, MONTHS

Tense = Literal["past", "future"] | None

_MONTH_ABBR = {m[:3]: n for m, n in MONTHS.items()} | {"sept": 9}
_MONTH_RE = MONTH_OR_ABBREVIATION
_YEAR = r"(1[6-9]\d\d|20\d\d)"
MONTH_DAY = re.compile(rf"\b{_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR}\b)?")
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}(?:,?\s+{_YEAR}\b)?")
MONTH_YEAR = re.compile(rf"\b{_MONTH_RE},?\s+{_YEAR}\b")
YEAR = re.compile(rf"(?<![\d,.$£€-]){_YEAR}(?![\d,]|\s*(?:%|percent|people|troops|soldiers|tons|km|miles))")
BARE_MONTH = re.compile(rf"\b{_MONTH_RE}\b")
# "last September", "next March": the month before / after the publication month.
RELATIVE_MONTH = re.compile(rf"\b(last|next|this)\s+{_MONTH_RE}\b", re.IGNORECASE)
RELATIVE = re.compile(
    r"\b(today|yesterday|tomorrow|(?:last|next|this)\s+(?:year|month|Monday|Tuesday|Wednesday|Thursday|"
    r"Friday|Saturday|Sunday)|(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"\w+\s+(?:days|months|years)\s+ago)\b",
    re.IGNORECASE,
)
# Words before a year or bare month that make it a date and not a count or a name.
# ("since" is left out on purpose: see REFERENCE_CUES.)
DATE_CUES = {"in", "until", "till", "by", "from", "of", "before", "after", "during", "early", "late",
             "mid", "and", "to", "through", "year", "around", "between", "circa", "the", "'s", "’s"}
# "the biggest gain since 2021": a point of comparison, not the date anything happened.
REFERENCE_CUES = {"since"}
# "prices for delivery in September rose": the date belongs to the noun (a delivery, a
# deadline), which looks ahead whatever the tense of the verb.
FORWARD_CUES = {"delivery", "deliveries", "due", "expected", "scheduled", "planned", "deadline", "contract",
                "contracts", "futures", "shipment", "shipments", "maturing", "expiring", "upcoming"}


@dataclass(frozen=True)
class DateMention:
    start: int  # offsets in the text searched
    end: int
    text: str
    iso: str  # truncated to precision
    sort_date: str  # full ISO date, first day of the period ("--MM-DD" when the year is unknown)
    precision: Literal["day", "month", "year"]
    year_known: bool = True


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
    end = start + len(text)
    if year is None:
        if month is None:
            return None
        try:
            date(2000, month, day or 1)  # a leap year: "February 29" without a year is a real date
        except ValueError:
            return None
        if day is not None:
            return DateMention(start, end, text, f"--{month:02d}-{day:02d}", f"--{month:02d}-{day:02d}", "day",
                               year_known=False)
        return DateMention(start, end, text, f"--{month:02d}", f"--{month:02d}-01", "month", year_known=False)
    try:
        if day is not None and month is not None:
            d = date(year, month, day)
            return DateMention(start, end, text, d.isoformat(), d.isoformat(), "day")
        if month is not None:
            return DateMention(start, end, text, f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}-01", "month")
    except ValueError:
        return None
    return DateMention(start, end, text, f"{year:04d}", f"{year:04d}-01-01", "year")


def _relative_month_year(which: str, month: int, published: date | None) -> int | None:
    if published is None:
        return None
    which = which.lower()
    if which == "last":
        return published.year if month < published.month else published.year - 1
    if which == "next":
        return published.year if month > published.month else published.year + 1
    return published.year


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

    def words_before(s: int, n: int) -> list[str]:
        return [w.lower().strip(",;:()") for w in text[:s].split()[-n:]]

    def cue_before(s: int) -> bool:
        words = words_before(s, 1)
        return bool(words) and words[-1] in DATE_CUES

    def tense(s: int) -> Tense:
        if FORWARD_CUES & set(words_before(s, 3)):
            return "future"
        return tense_at(s) if tense_at is not None else None

    def add(s: int, e: int, mention: DateMention | None) -> None:
        """Keep a mention; a reference point ("since 2021") only claims its span."""
        if mention is None or not free(s, e):
            return
        taken.append((s, e))
        if not REFERENCE_CUES & set(words_before(s, 1)):
            found.append(mention)

    for m in MONTH_DAY.finditer(text):
        month, day = _month(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else infer_year(month, day, published, tense(m.start()))
        add(m.start(), m.end(), _mention(m.start(), m.group(0), year, month, day))
    for m in DAY_MONTH.finditer(text):
        day, month = int(m.group(1)), _month(m.group(2))
        year = int(m.group(3)) if m.group(3) else infer_year(month, day, published, tense(m.start()))
        add(m.start(), m.end(), _mention(m.start(), m.group(0), year, month, day))
    for m in MONTH_YEAR.finditer(text):
        add(m.start(), m.end(), _mention(m.start(), m.group(0), int(m.group(2)), _month(m.group(1)), None))
    for m in RELATIVE_MONTH.finditer(text):
        month = _month(m.group(2))
        year = _relative_month_year(m.group(1), month, published)
        add(m.start(), m.end(), _mention(m.start(), m.group(0), year, month, None))
    for m in YEAR.finditer(text):
        if in_ner(m.start(), m.end()) or cue_before(m.start()) or REFERENCE_CUES & set(words_before(m.start(), 1)):
            add(m.start(), m.end(), _mention(m.start(), m.group(0), int(m.group(1)), None, None))
    for m in BARE_MONTH.finditer(text):
        # "May" is also a verb and a name: only when tagged a date or after a cue word.
        if not (in_ner(m.start(), m.end()) or cue_before(m.start())
                or REFERENCE_CUES & set(words_before(m.start(), 1))):
            continue
        month = _month(m.group(1))
        year = infer_year(month, 15, published, tense(m.start()))
        add(m.start(), m.end(), _mention(m.start(), m.group(0), year, month, None))
    if published is not None:
        for m in RELATIVE.finditer(text):
            add(m.start(), m.end(), _relative(m.start(), m.group(0), published, tense(m.start())))
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
