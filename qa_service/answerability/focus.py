"""What a question asks: its answer type and its focus terms (actors, entities, key words).

Focus terms are weighted by how informative the word is in English at large
(wordfreq's Zipf frequency), not by the index's IDF: on a one-article index
every title word has an IDF near zero, which made "talks" or "aid" worthless
exactly where they decide the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from wordfreq import zipf_frequency

from qa_service.answerability.actors import ActorDirectory, ActorMention
from qa_service.text import MONTHS, STANCE_PATTERN, STOP_WORDS, WEEKDAY_NAMES

# Words that frame a question rather than say what it is about.
QUESTION_WORDS = STOP_WORDS | frozenset(
    """many much being position stance view views say says think thinks thought about according article
    articles report reported reports tell told mention mentioned any some kind sort type way ways happen
    happened happens take took place exactly other s get got make made described describe describes
    consider considered besides apart aside except excluding""".split()
)
# The word naming the asked answer type is what the answer gives, not what it must mention: "In what
# year was the Memorandum signed?" is answered by "the 1994 Budapest Memorandum", with no "year" in it.
_ASKED_WORDS: dict[str, frozenset[str]] = {
    "date": frozenset("year years date dates day days month months time".split()),
    "number": frozenset("number numbers amount percentage share proportion figure".split()),
    "place": frozenset("place city country town region location continent".split()),
    "role": frozenset("job jobs role roles post posts title titles office occupation profession".split()),
}
_TIME_WORDS = frozenset(MONTHS) | frozenset(d.lower() for d in WEEKDAY_NAMES)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’.-]*[A-Za-z0-9]|[A-Za-z]|\d[\d,.]*")

_STANCE_ASK = re.compile(STANCE_PATTERN.pattern + r"|\b(position|stance|views?|opinion|think|thinks|thought|feel|"
                         r"react\w*|respon(?:d|se)\w*|prefer\w*|want\w*)\b", re.IGNORECASE)

# "When" asks for a date unless it opens what someone said something about: "What did Rutte say
# about when Ukraine could join?" asks for his words.
ASKS_WHEN = r"(?<!about )(?<!on )(?<!of )(?<!over )(?<!regarding )when"

# "What city council voted ...?", "What country's leader ...?", "What region-specific rules ...?" ask
# for a council, a leader, rules: the kind of place only qualifies the noun after it.
_NOT_A_COMPOUND = (r"(?!['’-])(?! (?:council|councils|official|officials|hall|halls|music|club|clubs|team|teams|"
                   r"code|codes|risk|manager|managers|authority|authorities|leader|leaders|residents|government|"
                   r"police|mayor|centre|center|centres|centers|limits|planners|dwellers|wide)\b)")

# Answer types and the question wordings that ask for them, checked in order.
_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(rf"\b({ASKS_WHEN}|what (date|day|year|month|time)|which (year|day|month|date)|how long ago|"
                        r"since when)\b")),
    # An amount of money: the answer must name a currency ("€9 billion"), not any number in the article.
    # Only wordings that ask for the amount itself: "why did the cost of living rise?" asks a reason,
    # "how much did the ECB raise rates?" a number of points.
    ("money", re.compile(r"\bhow much (?:[\w,.'’-]+ ){0,6}?(?:cost|costs|costing|pay|paid|invest|invested|charge|"
                         r"charged|worth|borrow|borrowed|owe|owed|earn|earned)\b|\bhow much (?:[\w-]+ )?money\b|"
                         r"^what (?:price|fee|fine)\b(?!-)|"
                         r"^(?:what|how much) (?:is|was|will be|would be) the (?:\w+ )?(?:cost|price|salary|budget|fee|fine) "
                         r"of\b")),
    ("number", re.compile(r"\bhow (many|much|long|far|big|large|old|often)\b|\bnumber of\b|"
                          r"\bwhat (percentage|share|amount|proportion|price|cost|figure)\b|"
                          r"\b(population|size|age|value|salary|budget|turnover|revenue) of\b")),
    ("reason", re.compile(r"^(why)\b|\bwhy\b|\bfor what reason\b|\bwhat (caused|led to|prompted)\b")),
    ("place", re.compile(r"\bwhere\b|\bin (?:which|what) (city|country|place|region|town)\b|"
                         r"\b(?:which|what) (city|country|town|region|continent)\b" + _NOT_A_COMPOUND + r"|"
                         r"\bwhat part of the world\b")),
    # Someone's job: "Which job did Rutte hold before leading NATO?", "What is Peskov's title?". Not
    # "what role did Germany play", which asks what it did.
    ("role", re.compile(r"^(?!.*\bplay(?:s|ed|ing)?\b).*(?:\b(?:what|which) (?:\w+ ){0,2}?|['’]s (?:\w+ )?)"
                        r"(?:job|post|title|occupation|profession|role)\b")),
    ("person", re.compile(r"^(who|whom|whose)\b|\bwhich (person|official|leader|minister|player|company)\b")),
    ("list", re.compile(r"\bwhich (\w+ ){0,2}(countries|nations|states|companies|people|players|teams|groups|cities|"
                        r"regions|firms|leaders|officials)\b|\bname (the|all)\b|\blist\b")),
    ("stance", _STANCE_ASK),
    ("yesno", re.compile(r"^(does|did|do|is|are|was|were|can|could|will|would|has|have|had|should)\b")),
]


# "according to the report" points at the article, not at someone's stance.
_FRAMING = re.compile(r"\b(?:according to|in|from|as per|per) (?:the|this|that|your) (?:report|article|story|piece|"
                      r"text|coverage|reporting|source|news)s?\b")


# A stance verb after a determiner or a possessive is a noun: "which question", "the support", "the
# EU's call". After "which"/"what" a past form stays a verb ("the party which opposed ...").
_DETERMINER = re.compile(r"\b(?:(which|what)|whose|the|a|an|this|these|those|its|his|her|their|our|any|no|"
                         r"\w+['’]s)\s+$")


# "What did Rutte say about peace talks, and when?": a question with the time asked on top. Its
# answer is what the main question asks (a statement), dated; no sentence need state a date.
_AND_WHEN = re.compile(r"(?:,\s*|\s+)and\s+when(?:\s+(?:did|was|were|has|had)\s+(?:he|she|they|it|that|this)"
                       r"(?:\s+(?:say|said|state|stated|announce|announced|make|made)(?:\s+(?:it|that|this|so))?)?)?"
                       r"\s*[?.!]?\s*$", re.IGNORECASE)


def split_when(question: str) -> tuple[str, bool]:
    """The question without a trailing "and when?" ("..., and when did he say it?") and whether it
    had one. Only after a question of its own (three words or more): "Where and when did the summit
    take place?" asks for a place and a date, and "... and when it would end?" is a clause."""
    m = _AND_WHEN.search(question[:2000])
    if m is None or len(question[: m.start()].split()) < 3:
        return question, False
    return question[: m.start()].rstrip(" ,;:") + "?", True


def answer_type(question: str) -> str:
    # Without a trailing "and when?", without the framing, and without what it leaves at the start
    # (", who won ...?").
    q = _FRAMING.sub(" ", split_when(question)[0].lower().strip()).strip(" ,;:-\t\n")
    for name, rx in _TYPES:
        if any(name != "stance" or not _verb_as_noun(q, m) for m in rx.finditer(q)):
            return name
    return "what"


def _verb_as_noun(q: str, m: re.Match[str]) -> bool:
    if not STANCE_PATTERN.fullmatch(m.group(0)):
        return False
    # Only the few characters before the word: bounded work however long the question.
    det = _DETERMINER.search(q, max(0, m.start() - 40), m.start())
    return det is not None and not (det.group(1) and m.group(0).endswith("ed"))


def word_weight(word: str) -> float:
    """Informativeness of a word: rare words weigh up to 6, the commonest 0.5."""
    return max(0.5, min(6.0, 7.0 - zipf_frequency(word.lower(), "en")))


@dataclass
class FocusTerm:
    text: str  # as the question writes it
    stems: frozenset[str]  # the BM25 analyser's stems of it
    weight: float
    entity: bool = False  # a name: must match exactly (or through an alias), never softly
    actor: ActorMention | None = None  # a known actor: matched by any of its names
    exact: bool = False  # matched by its own word only, never softly (a day or a month)


@dataclass
class QuestionFocus:
    question: str
    answer_type: str
    terms: list[FocusTerm] = field(default_factory=list)
    also_when: bool = False  # "..., and when?": the answer is dated (see split_when)
    speaker: int | None = None  # index of the term naming whose stance is asked ("What did Rutte say ...?")
    place: PlaceAsked | None = None  # for a "place" question, the kind of place it names (see place_asked)

    @property
    def total_weight(self) -> float:
        return sum(t.weight for t in self.terms) or 1.0


@dataclass(frozen=True)
class PlaceAsked:
    """The kind of place a "place" question names, which decides what answers it (judge.py)."""

    country: bool  # "which country/nation/nationality": a country's people (NORP) name it too
    kind: bool  # "which city/town/region/state/province/place": a place the positions layer knows answers
    region: bool  # "which region/continent", "part of the world": a world region standing alone answers


_ASKS_COUNTRY = re.compile(r"\b(?:which|what) (?:country|nation|nationality)\b(?!['’])", re.IGNORECASE)
_ASKS_PLACE_KIND = re.compile(r"\b(?:which|what) (?:city|town|region|state|province|place)\b(?!['’])", re.IGNORECASE)
_ASKS_REGION = re.compile(r"\b(?:which|what) (?:region|continent)s?\b|\bpart of the world\b", re.IGNORECASE)


def place_asked(question: str) -> PlaceAsked:
    return PlaceAsked(country=bool(_ASKS_COUNTRY.search(question)), kind=bool(_ASKS_PLACE_KIND.search(question)),
                      region=bool(_ASKS_REGION.search(question)))


def analyse(question: str, tokenize: Callable[[str], list[str]], actors: ActorDirectory | None) -> QuestionFocus:
    """Answer type plus focus terms; words inside an actor mention become one actor term."""
    question = question[:2000]  # bounded work on any input
    focus = QuestionFocus(question=question, answer_type=answer_type(question), also_when=split_when(question)[1])
    if focus.answer_type == "place":
        focus.place = place_asked(question)
    mentions = actors.mentions(question) if actors is not None else []
    taken: list[tuple[int, int]] = []
    starts: list[int] = []  # each term's offset in the question
    for m in mentions:
        stems = frozenset(s for k in m.keys for s in tokenize(k))
        weight = max((word_weight(w) for w in m.text.split()), default=3.0)
        focus.terms.append(FocusTerm(text=m.text, stems=stems, weight=max(weight, 3.0), entity=True, actor=m))
        taken.append((m.start, m.end))
        starts.append(m.start)
    asked = _ASKED_WORDS.get(focus.answer_type, frozenset()) | _asked_kind(question)
    first = True
    for match in _WORD.finditer(question):
        word = match.group(0).strip(".'’")
        start = match.start()
        at_start = first
        first = False
        if any(s <= start < e for s, e in taken) or not word:
            continue
        low = word.lower().replace("’", "'")
        if low.endswith("'s"):
            low = low[:-2]
            word = word[:-2]
        if low in QUESTION_WORDS or low in asked or len(low) < 2 and not low.isdigit():
            continue
        stems = frozenset(tokenize(word))
        if not stems:
            continue
        # A day or month is a time, not a name: the article often gives it in another sentence ("on
        # Wednesday" opens the story, "prices for delivery in September" follows it). Matched only as
        # itself, though: word vectors find all weekdays alike.
        time = low in _TIME_WORDS
        is_name = ((word[0].isupper() and not at_start) or word.isupper() or any(c.isdigit() for c in word)) \
            and not time
        # Several words may share a stem ("talk"/"talks"): keep the first mention.
        if any(t.stems == stems for t in focus.terms):
            continue
        focus.terms.append(FocusTerm(text=word, stems=stems, weight=word_weight(word), entity=is_name, exact=time))
        starts.append(start)
    if focus.answer_type == "stance":
        focus.speaker = _speaker(question, focus.terms, starts)
    return focus


# "Which region was on the agenda?": a generic noun after "which"/"what" names the kind of thing
# asked, which the answer gives ("the Middle East") rather than repeats. Only such nouns: "What
# sanctions did the EU impose?" is answered by a sentence saying "sanctions", and "Which German
# ministers ..." names Germans.
_KINDS = frozenset("""region regions continent continents country countries nation nations city cities town towns
    place places area
    areas province provinces company companies firm firms organisation organisations organization organizations
    group groups body bodies official officials person people politician politicians leader leaders question
    questions issue issues matter matters topic topics subject subjects thing things""".split())
_KIND = re.compile(r"^\W*(?:\w+\W+){0,3}?(?i:which|what)\s+([a-z]+)\b")


def _asked_kind(question: str) -> frozenset[str]:
    if _PART_OF_THE_WORLD.search(question):
        return frozenset({"part", "world"})  # "What part of the world ...?" asks for a region
    m = _KIND.match(question)
    return frozenset({m.group(1)}) if m and m.group(1) in _KINDS else frozenset()


_PART_OF_THE_WORLD = re.compile(r"\bwhat part of the world\b", re.IGNORECASE)


def _speaker(question: str, terms: list[FocusTerm], starts: list[int]) -> int | None:
    """The name just before the question's first stance word: "What did Zelensky say about Trump's
    claim?" asks Zelensky's words, so a sentence quoting only Trump is no answer. None when no name
    comes first ("What stance did Germany take?"): then any named party may hold it. Only "what"/"how"
    questions: "Does the Verge article suggest ...?" and "... according to TechCrunch" name a source."""
    low = question.lower()
    low = low if len(low) == len(question) else question  # offsets must stay the terms'
    if not re.match(r"\W*(?:what|how)\b", low):
        return None
    cue = next((m.start() for m in _STANCE_ASK.finditer(low)
                if not m.group(0).startswith("according") and not _verb_as_noun(low, m)), None)
    if cue is None:
        return None
    before = [(start, i) for i, (t, start) in enumerate(zip(terms, starts, strict=True)) if t.entity and start < cue]
    return max(before)[1] if before else None
