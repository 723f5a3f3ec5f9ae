"""The one text module: normalising, sentence spans, stop words, months, stance verbs.

`normalize`/`locate` are used wherever "stands verbatim" is checked: a quote is located
in the normalised paragraph, and the hit is mapped back so paragraph_text[start:end] is
exact. `plain` is the word-string form names are matched in; `name_key` the key form of
an actor's name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

import dateparser
from wordfreq import zipf_frequency

# Function words no content match should count.
STOP_WORDS = frozenset(
    """a an the of to in on at for and or but is are was were be been being by with as that this these those
    it its from has have had he she they his her their them we you i which who whom whose what when where why
    how said says not will would could should shall may might can do does did than then there also""".split()
)

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
MONTHS = {m.lower(): i for i, m in enumerate(MONTH_NAMES, start=1)}
MONTH_PATTERN = "(?:" + "|".join(MONTH_NAMES) + ")"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_PATTERN = "(?:" + "|".join(WEEKDAY_NAMES) + ")"
# A month as news writes it, full or abbreviated ("Sept.", "Dec"), one capture group.
MONTH_OR_ABBREVIATION = "(" + "|".join([*MONTH_NAMES, *(m[:3] for m in MONTH_NAMES if m != "May"), "Sept"]) + r")\.?"


# The world's regions by name, as news writes them ("the Middle East", "Southeast Asia", "the Sahel"):
# a place as much as a country is, though no preposition need stand before it.
REGION_PATTERN = (r"\b(?:(?:the\s+)?(?:Middle|Near|Far)\s+East|(?:(?i:north|south|east|west|central|northern|southern|"
                  r"eastern|western)(?:[- ]?(?i:east|west))?|(?i:sub-saharan)|Latin)\s+(?:Africa|America|Asia|Europe)|"
                  r"Africa|Asia|Europe|Oceania|Scandinavia|Eurasia|the\s+(?:Balkans|Baltics?|Caucasus|Sahel|Arctic|"
                  r"Antarctic|Gulf|Levant|Maghreb|Caribbean|Mediterranean|Pacific|Americas|Horn\s+of\s+Africa))\b")


REPORTED = "Reported"  # opens a dated answer's claim: "Reported December 4, 2024: <quote>"


def reported(published: str) -> str:
    """The opening of a claim dated by its article's publication day: "Reported December 4, 2024:"."""
    return f"{REPORTED} {human_date(published[:10])}:"


def human_date(iso: str, precision: str = "day") -> str:
    """An ISO date (or its year or year-month) as readers write it: "December 3, 2024"."""
    parts = iso.split("-")
    if precision == "year" or len(parts) == 1:
        return parts[0]
    month = MONTH_NAMES[int(parts[1]) - 1]
    if precision == "month" or len(parts) == 2:
        return f"{month} {parts[0]}"
    return f"{month} {int(parts[2])}, {parts[0]}"


# Lemmas of verbs that attribute a stance to their subject.
STANCE_VERBS: frozenset[str] = frozenset(
    """say state argue warn demand reject welcome dismiss call stress emphasize emphasise acknowledge
    reiterate claim clarify insist urge deny criticize criticise announce add tell note suggest propose
    pledge promise vow threaten accuse condemn praise support oppose back endorse question doubt
    believe maintain assert contend declare admit concede predict caution signal discuss
    agree disagree defend blame describe refuse recommend request express""".split()
)
# Any inflection of a stance verb in running text ("dismissed", "urging", "told", "according to").
STANCE_PATTERN = re.compile(
    r"\b(?:" + "|".join(sorted({v[:-1] if v.endswith("e") else v for v in STANCE_VERBS}, key=len, reverse=True))
    + r")\w*\b|\b(?:said|told|according to)\b", re.IGNORECASE)


# Past forms of common irregular verbs: "When did the pilot begin?" asks about "which began in 2019",
# and "break ground" about "broke ground"; a prefix or suffix rule cannot see that.
_IRREGULAR = {past: base for base, forms in (
    ("begin", "began begun"), ("break", "broke broken"), ("bring", "brought"), ("build", "built"),
    ("buy", "bought"), ("choose", "chose chosen"), ("come", "came"), ("do", "did done"), ("draw", "drew drawn"),
    ("drive", "drove driven"), ("eat", "ate eaten"), ("fall", "fell fallen"), ("feel", "felt"),
    ("fight", "fought"), ("find", "found"), ("fly", "flew flown"), ("forbid", "forbade forbidden"),
    ("freeze", "froze frozen"), ("get", "got gotten"), ("give", "gave given"), ("go", "went gone"),
    ("grow", "grew grown"), ("hang", "hung"), ("hear", "heard"), ("hide", "hid hidden"), ("hold", "held"),
    ("keep", "kept"), ("know", "knew known"), ("lay", "laid"), ("lead", "led"), ("leave", "left"),
    ("lend", "lent"), ("lose", "lost"), ("make", "made"), ("mean", "meant"), ("meet", "met"), ("pay", "paid"),
    ("ride", "rode ridden"), ("ring", "rang rung"), ("rise", "rose risen"), ("run", "ran"), ("say", "said"),
    ("see", "saw seen"), ("sell", "sold"), ("send", "sent"), ("shake", "shook shaken"), ("shoot", "shot"),
    ("sing", "sang sung"), ("sink", "sank sunk"), ("sit", "sat"), ("speak", "spoke spoken"),
    ("spend", "spent"), ("stand", "stood"), ("steal", "stole stolen"), ("strike", "struck stricken"),
    ("swear", "swore sworn"), ("take", "took taken"), ("teach", "taught"), ("tear", "tore torn"),
    ("tell", "told"), ("think", "thought"), ("throw", "threw thrown"), ("understand", "understood"),
    ("wake", "woke woken"), ("wear", "wore worn"), ("win", "won"), ("withdraw", "withdrew withdrawn"),
    ("write", "wrote written"), ("arise", "arose arisen"), ("bear", "bore born borne"), ("bind", "bound"),
    ("seek", "sought"), ("slide", "slid"), ("spin", "spun"), ("stick", "stuck"), ("sweep", "swept"),
    ("swim", "swam swum"), ("weep", "wept"), ("wind", "wound"), ("overtake", "overtook overtaken"),
    ("undertake", "undertook undertaken"), ("forecast", "forecast"), ("rebuild", "rebuilt"),
) for past in forms.split()}


def base_form(word: str) -> str:
    """The base form of an irregular verb's past ("began" -> "begin"); any other word unchanged."""
    return _IRREGULAR.get(word, word)


def strip_accents(text: str) -> str:
    """"Rhône" -> "Rhone": letters without their combining marks; letters with none ("ø") stay."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def plain(text: str) -> str:
    """Lower-case words between single spaces, possessive 's dropped: " kremlin spokesman "."""
    text = re.sub(r"['’]s\b", "", text.lower())
    return " " + " ".join(re.sub(r"[^\w.\-]+", " ", text).split()) + " "


def name_key(text: str) -> str:
    """Key form of a name: straight apostrophes, no leading article or possessive, single spaces."""
    # The same names and aliases are keyed for every question that names them; a whole question
    # passed in is not kept (a server sees endless distinct ones).
    return _name_key(text) if len(text) <= 80 else _key_form(text)


@lru_cache(maxsize=1 << 16)
def _name_key(text: str) -> str:
    return _key_form(text)


def _key_form(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").strip(" ,;:\"“”")
    if not re.search(r"(?:\b[A-Za-z]\.)+$", text):  # keep the final dot of "U.S."
        text = text.rstrip(". ")
    text = re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"'s$", "", text)
    return re.sub(r"\s+", " ", text).strip()


def parse_date(text: str, *, relative_to: datetime | None = None, prefer: str = "past") -> date | None:
    """The one date parser (dateparser): "4 December 2024", "Dec. 4, 2024", "2024-12-04",
    and, with `relative_to`, "last Monday". None when the text holds no date."""
    settings: dict[str, object] = {"PREFER_DATES_FROM": prefer, "RETURN_AS_TIMEZONE_AWARE": False}
    if relative_to is not None:
        settings["RELATIVE_BASE"] = relative_to
    text = text[:200]
    parsed = dateparser.parse(text, languages=["en"], settings=settings)  # type: ignore[arg-type]
    if parsed is None:  # a date inside a phrase: "Published 4 December 2024 at 10:00"
        from dateparser.search import search_dates

        found = search_dates(text, languages=["en"], settings=settings)  # type: ignore[arg-type]
        parsed = found[0][1] if found else None
    return parsed.date() if parsed else None


def fold(text: str) -> str:
    """NFKC first (full-width letters, ligatures), then `normalize`: the evaluation's matching form."""
    return normalize(unicodedata.normalize("NFKC", text))

# Typographic variants folded to ASCII, one character for one (the offset map relies on it), so
# that a quote or evidence copied from another rendering of an article still matches.
_TRANS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
    "\u00a0": " ", "\u2026": ".",
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


PLACE_KINDS = ("GPE", "NORP", "LOC")  # spaCy's kinds of places and peoples: `can_name(place=True)`
COMMON_WORD_ZIPF = 5.0  # "company", "board", "world", "john": names only where the question capitalises them
_CAPITALISED = re.compile(r"\b[A-Z][\w.-]*")


@lru_cache(maxsize=65_536)
def _common(word: str) -> bool:
    return zipf_frequency(word, "en") >= COMMON_WORD_ZIPF


def can_name(key: str, question: str, *, place: bool = False) -> bool:
    """Can this lower-case actor key, found in the question, name the actor there?

    Never a key of stop words only (the "the" of a badly cut "Alan Milburn - the"), unless the
    question writes it as an acronym ("WHO"); a one-word key that is a common English word only
    where the question writes it capitalised ("the company" is no actor, "Company" may be), unless
    the reader wrote the whole question in lower case or the key is a place or people (`place`:
    "china", "london" are common words and still names).
    """
    words = key.split()
    shouted = question.isupper()
    if not shouted and len(key) > 1 and re.search(rf"\b{re.escape(key.upper())}\b", question):
        return True  # an acronym as written: "WHO", "IT"
    if all(w in STOP_WORDS for w in words):
        return False
    if len(words) == 1 and not place and _common(key) and question != question.lower():
        capitalised = {part.lower() for m in _CAPITALISED.finditer(question)
                       for part in (m.group(0), *m.group(0).split("-"))}  # "London-based"
        return key in capitalised
    return True
