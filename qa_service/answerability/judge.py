"""Is the question answered by some sentence of the retrieved paragraphs, and by which?

Every sentence of the top paragraphs is a candidate answer. Its features say how
much of the question's focus it covers (exactly, or softly through word vectors),
whether it names the question's actors and entities (through aliases and roles, or
a pronoun whose antecedent is the sentence before), and whether it carries the
asked answer type. A logistic model fitted on questions written by others
(bench/fit_answerability.py; the weights ship in model.json beside this file)
turns the best candidate's features into a probability. A paragraph that names the
actor in one sentence and the topic in another is not evidence: features are
per sentence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from qa_service.answerability.actors import COUNTRY_KINDS, ActorDirectory
from qa_service.answerability.comparison import parties, party_question
from qa_service.answerability.focus import FocusTerm, QuestionFocus, analyse
from qa_service.answerability.vectors import WordVectors
from qa_service.models import RetrievedParagraph
from qa_service.safety import flagged_spans
from qa_service.text import (
    MONTH_PATTERN,
    REGION_PATTERN,
    STANCE_PATTERN,
    STANCE_VERBS,
    WEEKDAY_PATTERN,
    plain,
    sentence_spans,
    strip_accents,
)

MODEL_PATH = Path(__file__).with_name("model.json")
FEATURES = ("cov_exact", "cov_soft", "topic_soft", "entity_unit", "entity_para", "miss_max", "type_ok", "dense",
            "n_terms")

_PRONOUN_LED = re.compile(r"^\W*(he|she|they|it|his|her|their|the (?:organi[sz]ation|alliance|minister|president|"
                          r"company|group|government|ministry|official|spokesman|spokeswoman))\b", re.IGNORECASE)
_PAST = re.compile(r"\b(?:before|previous(?:ly)?|former(?:ly)?|earlier|prior|past|used to)\b", re.IGNORECASE)
_FORMER = re.compile(r"\b(?:former(?:ly)?|ex-|previously|then-|once|until)", re.IGNORECASE)
_CONTENT = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# Capitalised words that say when, not where: "in July", "on Monday".
_WHEN_NAMES = (rf"(?:{MONTH_PATTERN}|{WEEKDAY_PATTERN}|Christmas|Easter|Ramadan|Eid|Diwali|Hanukkah|Thanksgiving|"
               r"Lent)")
_TYPE_CUES: dict[str, re.Pattern[str]] = {
    "date": re.compile(rf"\b(?:{MONTH_PATTERN}|(?:1[89]|20)\d\d|{WEEKDAY_PATTERN}|yesterday|today|tomorrow|"
                       r"(?:last|next|this) (?:week|month|year)|ago)\b"),
    "number": re.compile(r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                         r"thirty|forty|fifty|hundred|thousand|million|billion|dozen|half|double|twice)\b",
                         re.IGNORECASE),
    # A currency by symbol, code or name ("$2m", "EUR 9bn", "5bn reais"); a bare "10m" may be metres.
    "money": re.compile(r"[€$£¥₹₽₩]|\b(?:USD|EUR|GBP|CHF|JPY|CNY|INR|RUB)\b|\b(?i:euros?|dollars?|pounds? sterling|"
                        r"pounds|pence|cents?|yen|yuan|renminbi|reais|rupees?|francs?|roubles?|rubles?|kronor|krona|"
                        r"hryvnias?|pesos?|lira|zloty)\b"),
    "reason": re.compile(r"\b(?:because|since|as|due to|owing to|after|before|following|amid|so that|in order to|"
                         # and an actor's own reason, as news gives it: "rejected it, saying ..."
                         r"as a result|led to|reason|thanks to|given)\b|, (?:saying|arguing)\b", re.IGNORECASE),
    # A place written with dots or as a country's short code counts as well: "in the U.S.", "in the UK";
    # not any capitals ("pivoted to AI", "a letter to CEO ..."), nor a month or a feast ("in July").
    # So does a place after the kind of place it is ("Brazil's main growing region of Minas Gerais", "in
    # the capital, Lilongwe"), and a world region by its name wherever it stands ("to discuss Ukraine
    # and the Middle East"; see _carries_asked). The whole name is kept: "in New Delhi", "in The Hague".
    "place": re.compile(r"\b(?i:in|at|from|near|to|visiting|visited|(?:region|province|state|city|town|county|"
                        r"district|capital|port|village) of)\s+(?:(?i:the)\s+)?(?:(?:capital|city|port|town|"
                        r"village),\s+)?(?!" + _WHEN_NAMES + r"\b)(?P<name>" + REGION_PATTERN + r"|"
                        r"[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,4}|[A-Z]\.(?:[A-Z]\.)+|(?:US|USA|UK|EU|UAE|DRC)\b)|"
                        r"(?P<region>" + REGION_PATTERN + r")(?!['’]s\b|-)"),
    "person": re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z'’]+)+\b|\baccording to\b"),
    # A job title, as news writes it beside a name ("a former Dutch Prime Minister", "Kremlin spokesman").
    "role": re.compile(r"\b(?:president|prime minister|minister|secretary|chancellor|spokes(?:man|woman|person)|"
                       r"chief|head|director|chair(?:man|woman)?|ceo|governor|mayor|ambassador|commander|leader|"
                       r"representative|commissioner|senator|premier|executive|founder|coach|manager|captain|"
                       r"editor|professor|judge|envoy|advis[eo]r|official|king|queen)s?\b", re.IGNORECASE),
    # Attributions, plus the verbs of wanting and weighing a reader's "position" question asks about.
    "stance": re.compile(STANCE_PATTERN.pattern + r"|\b(?:focus|prefer|want|need|priorit|fear|hope|consider)\w*\b",
                         re.IGNORECASE),
}
# "the 1994 Budapest Memorandum": a year between a determiner and a name dates the thing's making, so
# the sentence says when it was signed, founded or launched without the verb ("In 2014 Russia annexed
# Crimea" dates no making of Russia). Only verbs of making or starting: "When was the Memorandum
# violated?" is not answered by its year.
_YEAR_NAME = re.compile(r"(?:\b(?:the|a|an|its|their|his|her|this)|['’]s)\s+(?:1[89]|20)\d\d\s+((?:[A-Z][\w’'-]*\s*){1,4})")
_MAKING = re.compile(r"sign(?:s|ed|ing)?|founded|establish(?:es|ed)?|creat(?:e|es|ed)|adopt(?:s|ed)?|agreed|"
                     r"conclud(?:e|es|ed)|ratif(?:y|ies|ied)|launch(?:es|ed)?|formed|introduc(?:e|es|ed)|passed|"
                     r"enact(?:s|ed)?|issued|drafted|start(?:s|ed)?|beg(?:in|ins|an|un)|open(?:s|ed)?",
                     re.IGNORECASE)
# Rules, not fitted. The two that find the asked thing itself outweigh COVERED_BONUS below: "The
# terminal will have 3 berths" answers "How many berths will the ferry terminal have?" before a
# sentence holding every asked word ("ferries ... berthed") but no count of berths.
COUNT_BONUS = 2.0  # the number that counts the asked thing is the answer
FORMER_BONUS = 2.0  # "which job did X hold before ...?" asks the former one
# A rule, not fitted: "What did Trump and the NATO chief talk about?" is answered by the sentence
# naming both, before one naming only Rutte however well its other words match ("peace talks").
NAMES_BONUS = 0.5
# A rule, not fitted: a sentence covering every term the question asks about ("abstract peace talks")
# goes before one missing part of it ("peace negotiations"), whatever else the ranker likes.
COVERED_BONUS = 1.0
MAX_SOURCES = 8
MAX_UNITS = 120  # bounded work per question


@dataclass
class Unit:
    source: int  # 1-based index into the retrieved list
    start: int  # offsets of the sentence in the paragraph text
    end: int
    text: str
    context: str  # the sentence before, when this one opens with a pronoun


@dataclass
class Scored:
    unit: Unit
    features: dict[str, float]
    logit: float  # answerability of the question, were this sentence its answer
    rank: float = 0.0  # how likely this sentence, among the question's, is the answer
    matched: set[int] = field(default_factory=set)  # indexes of focus terms the unit covers


@dataclass
class Judgement:
    probability: float
    answerable: bool
    focus: QuestionFocus
    ranked: list[Scored]  # candidate answer sentences, most likely answer first
    features: dict[str, float]
    # A comparison judged party by party (see comparison.py): each party's name and judgement.
    parts: list[tuple[str, Judgement]] = field(default_factory=list)

    @property
    def best(self) -> Scored | None:
        return self.ranked[0] if self.ranked else None


@dataclass
class AnswerabilityModel:
    """Two logistic models over the same features: `weights` decide whether the question is
    answered (fitted across questions), `rank_weights` which sentence answers it (fitted within
    questions: the evidence sentence against the others)."""

    weights: dict[str, float]
    bias: float
    threshold: float  # the extractive answerer answers at or above this probability
    llm_threshold: float  # an LLM generator is blocked only below this one (plainly off the corpus)
    rank_weights: dict[str, float] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> AnswerabilityModel:
        data = json.loads(path.read_text())
        return cls(weights=data["weights"], bias=data["bias"], threshold=data["threshold"],
                   llm_threshold=data["llm_threshold"], rank_weights=data.get("rank_weights", {}),
                   info=data.get("info", {}))

    def logit(self, features: dict[str, float]) -> float:
        return self.bias + sum(self.weights.get(k, 0.0) * v for k, v in features.items())

    def rank(self, features: dict[str, float]) -> float:
        return sum(self.rank_weights.get(k, 0.0) * v for k, v in features.items())


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, x))))


class AnswerabilityJudge:
    def __init__(self, tokenize: Callable[[str], list[str]], model: AnswerabilityModel,
                 vectors: WordVectors | None = None, actors: ActorDirectory | None = None) -> None:
        # The BM25 analyser (same stems and spelling folding as the index), accents aside: a reader
        # types "Rhone" for "Rhône".
        self.tokenize = tokenize = _without_accents(tokenize)
        self.model = model
        self.vectors = vectors
        self.actors = actors
        self.tokens = _Tokens(tokenize)

    def analyse(self, question: str) -> QuestionFocus:
        return analyse(question, self.tokenize, self.actors)

    def judge(self, question: str, sources: list[RetrievedParagraph], *, strict: bool = True,
              threshold: float | None = None) -> Judgement:
        """`strict`: only a sentence that names every actor and name the question names (itself, through
        a pronoun's antecedent, or as its article's outlet, title or date) and carries the asked answer
        type can answer. Not strict (LLM generators): the best sentence, whatever it lacks, so that only
        questions plainly off the corpus are blocked and the model's own judgement decides near misses."""
        whole = self._judge(question, sources, strict=strict, threshold=threshold)
        if whole.answerable or not strict or not (names := parties(question)):
            return whole
        # No sentence answers the comparison whole: it is answered if each party's question is.
        parts = [(name, self._judge(party_question(question, name), sources, strict=True, threshold=threshold))
                 for name in names]
        if not all(j.answerable for _, j in parts):
            return whole
        weakest = min((j for _, j in parts), key=lambda j: j.probability)
        return Judgement(probability=weakest.probability, answerable=True, focus=whole.focus,
                         ranked=[j.ranked[0] for _, j in parts], features=weakest.features, parts=parts)

    def _judge(self, question: str, sources: list[RetrievedParagraph], *, strict: bool,
               threshold: float | None) -> Judgement:
        focus = self.analyse(question)
        candidates = units(sources)
        soft = self._soft_table(focus, candidates)
        scored = [self.score(focus, u, sources, row) for u, row in zip(candidates, soft, strict=True)]
        scored.sort(key=lambda s: -s.rank)
        ranked = [s for s in scored if eligible(focus, s)] if strict else scored
        best = max(ranked, key=lambda s: s.logit, default=None)
        features = best or (scored[0] if scored else None)
        probability = sigmoid(best.logit) if best else 0.0
        cut = self.model.threshold if threshold is None else threshold
        return Judgement(probability=probability, answerable=bool(ranked) and probability >= cut, focus=focus,
                         ranked=ranked, features=features.features if features else dict.fromkeys(FEATURES, 0.0))

    # -- features ---------------------------------------------------------------
    def _soft_table(self, focus: QuestionFocus, candidates: list[Unit]) -> list[list[float]]:
        """Per sentence, each asked word's best word-vector cosine with the sentence's words (0 for
        names and exact terms, which are never matched softly), all sentences in one product."""
        soft = [i for i, t in enumerate(focus.terms) if not t.entity and not t.exact]
        table = [[0.0] * len(focus.terms) for _ in candidates]
        if self.vectors is None or not soft or not candidates:
            return table
        best = self.vectors.best_in_each([focus.terms[i].text for i in soft], [_words(u.text) for u in candidates])
        for row, sims in zip(table, best, strict=True):
            for i, sim in zip(soft, sims, strict=True):
                row[i] = sim
        return table

    def score(self, focus: QuestionFocus, unit: Unit, sources: list[RetrievedParagraph],
              soft_row: list[float] | None = None) -> Scored:
        """`soft_row`: `_soft_table`'s row for this sentence (computed here when not given)."""
        tokens = self.tokens
        para = sources[unit.source - 1]
        unit_stems = tokens(unit.text)
        unit_low = _plain(unit.text)
        # A name that is the article's outlet, title subject or date belongs to every sentence of it.
        article = f"{para.source or ''} {para.title} {para.published or ''}"
        context_low = _plain(f"{unit.context} {article}")
        context_stems = tokens(f"{unit.context} {article}") | unit_stems
        para_low = _plain(f"{article} {para.heading or ''} {para.text}")
        para_stems = tokens(f"{article} {para.heading or ''} {para.text}")
        total = focus.total_weight
        exact = soft = topic = 0.0
        topic_total = sum(t.weight for t in focus.terms if not t.entity)
        miss = 0.0
        matched: set[int] = set()
        entities = [t for t in focus.terms if t.entity]
        ent_unit = ent_para = 0
        made = focus.answer_type == "date" and _dates_a_name(unit.text, entities, tokens)
        # Soft matches of the asked words the sentence lacks (their cosines come from one product per question).
        unmatched = [i for i, t in enumerate(focus.terms) if not t.entity and not t.exact and not t.stems <= unit_stems]
        if soft_row is None:
            soft_row = self._soft_table(focus, [unit])[0]
        soft_sim = {i: soft_row[i] for i in unmatched} if self.vectors is not None else {}
        for i, term in enumerate(focus.terms):
            if term.entity:
                in_unit = _names(term, context_stems, context_low) or _names(term, unit_stems, unit_low)
                in_para = in_unit or _names(term, para_stems, para_low)
                ent_unit += in_unit
                ent_para += in_para
                hit = 1.0 if in_unit else 0.0
                s = whole = hit
            else:
                # Every part of a compound: "short-term" is half a match for "near-term", never a whole one,
                # and word vectors do not make it more (the shared "term" is why they find them alike).
                hit = len(term.stems & unit_stems) / len(term.stems)
                if made and not hit and _MAKING.fullmatch(term.text):
                    hit = 1.0  # "the 1994 Budapest Memorandum" says when it was signed
                s = hit if hit or i not in soft_sim else _soft(soft_sim[i])
                whole = s if hit in (0.0, 1.0) else 0.0
            exact += term.weight * hit
            soft += term.weight * s
            if not term.entity:
                topic += term.weight * s
            if i == focus.speaker and whole and not _speaks(term, unit.text):
                whole = 0.0  # named, but inside someone else's words: not whose stance was asked
            if whole >= 0.5:
                matched.add(i)
            else:
                miss = max(miss, term.weight)
        features = {
            "cov_exact": exact / total,
            "cov_soft": soft / total,
            # What the question asks about, apart from whom: "Rutte ... Taiwan" is no answer to
            # "Taiwan's defence budget" however well the names match.
            "topic_soft": topic / topic_total if topic_total else 1.0,
            "entity_unit": ent_unit / len(entities) if entities else 1.0,
            "entity_para": ent_para / len(entities) if entities else 1.0,
            "miss_max": miss / 6.0,
            "type_ok": 1.0 if (_carries_asked(focus, unit.text) or _names_person(focus, unit)
                               or self._names_other_place(focus, unit.text)) else 0.0,
            "dense": max(para.dense_score or 0.0, 0.0),
            # Long multi-part questions are answerable with less of them in one sentence.
            "n_terms": min(len(focus.terms), 12) / 12.0,
        }
        rank = self.model.rank(features) + NAMES_BONUS * features["entity_unit"]
        if focus.answer_type == "number" and _counts_asked(unit.text, focus, tokens):
            rank += COUNT_BONUS  # "3 berths" answers "how many berths" better than any other number
        if focus.answer_type == "role" and _PAST.search(focus.question) and _FORMER.search(unit.text):
            rank += FORMER_BONUS
        if len(matched) == len(focus.terms):
            rank += COVERED_BONUS
        return Scored(unit=unit, features=features, logit=self.model.logit(features), rank=rank, matched=matched)


    def _names_other_place(self, focus: QuestionFocus, sentence: str) -> bool:
        """"Which country did NATO's chief lead?" is answered by "a former Dutch Prime Minister", and
        "Which region was hardest hit?" by "Valencia was hardest hit": a place the positions layer knows,
        other than those the question names itself (by any of their names). A country asked is named by
        its people too (NORP); a city or region only by its own name (GPE). Only a question naming the kind
        of place: "Where will the summit be held?" is not answered by "Zelensky said Ukraine ...", nor
        "Which city?" by "Russian"."""
        place = focus.place
        if self.actors is None or focus.answer_type != "place" or place is None or not (place.country or place.kind):
            return False
        country = place.country
        asked = _plain(focus.question)
        own = {t.actor.name for t in focus.terms if t.actor is not None}  # the question's mentions, found once
        return any(p not in own and f" {_plain(p).strip()} " not in asked and (country or _not_only_owner(p, sentence))
                   for p in self.actors.places(sentence, COUNTRY_KINDS if country else frozenset({"GPE"})))


# Verb forms that report speech, as whole words: past forms ("dismissed", "said") and, after a name
# only, present ones ("Beijing says", "Moscow warns"). Not stems: "not", "statement", "support" and
# "warning" are no verbs of anyone's.
_PAST_FORMS = frozenset(w for v in STANCE_VERBS for w in (v + "d" if v.endswith("e") else v + "ed",
                                                            v[:-1] + "ied" if v.endswith("y") else "")
                        if w) | {"said", "told", "according to"}
_PRESENT_FORMS = frozenset(v + "es" if v.endswith(("s", "sh", "ch")) else v + "s" for v in STANCE_VERBS) | {"says"}
_PAST_ALTERNATION = "|".join(sorted(_PAST_FORMS, key=len, reverse=True))
_REPORTED = re.compile(rf"\b(?:{_PAST_ALTERNATION})\b")
_REPORTS = re.compile(r"\b(?:" + "|".join(sorted(_PAST_FORMS | _PRESENT_FORMS, key=len, reverse=True)) + r")\b")
# The report's verb just before the name, after a comma: "..., said Rutte", "according to the Kremlin"
# ("Rutte said Beijing was arming Russia" is Rutte's words).
_REPORTED_BY = re.compile(rf"(?:, (?:says|{_PAST_ALTERNATION})|\baccording to)(?: the)? $")


def _clauses(sentence: str) -> str:
    """The sentence as `plain` gives it (" lower words ", possessive 's dropped), its commas, colons and
    semicolons kept as " , ", and a full stop at a word's end dropped ("Beijing." ends a sentence)."""
    text = re.sub(r"['’]s\b", "", sentence[:2000].lower())
    text = " " + " ".join(re.sub(r"[^\w.,\-]+", " ", re.sub(r"[,;:]", " , ", text)).split()) + " "
    return re.sub(r"\.(?= )", " ", text)


def _speaks(term: FocusTerm, sentence: str) -> bool:
    """Is the asked speaker ("How did Beijing respond ...?") the one speaking in the sentence, not
    named inside someone else's words ("Rutte warned that ... Beijing targeting Taiwan")? A mention
    after a reporting verb is someone else's words unless that verb attributes to it ("said Rutte",
    "according to the Kremlin"); a mention followed within three words by a reporting verb speaks
    ("Beijing dismissed it", "officials in Beijing said"). True when the sentence does not name it
    itself (a pronoun whose antecedent is in the sentence before, or the article's outlet)."""
    low = _clauses(sentence)
    keys = term.actor.keys if term.actor is not None else (_plain(term.text).strip(),)
    spots = [(m.start(), len(k)) for k in keys[:500] if k for m in re.finditer(re.escape(f" {k} "), low)]
    if not spots:
        return True
    for pos, size in spots[:50]:
        before = low[: pos + 1]
        after = " ".join(w for w in low[pos + size + 1 :].split()[:4] if w != ",")
        if not _REPORTED.search(before) or _REPORTED_BY.search(before) or _REPORTS.search(after):
            return True
    return False


def _not_only_owner(place: str, sentence: str) -> bool:
    """Is the place named other than as an owner? "Spain's train drivers' union" does not answer "In which
    city did they agree?"; "Valencia was hardest hit" answers "Which region was hardest hit?"."""
    spots = [m.end() for m in re.finditer(rf"\b{re.escape(place)}\b", sentence[:2000])]
    return not spots or any(not sentence.startswith(("'s", "’s"), end) for end in spots)


def states_a_date(sentence: str) -> bool:
    """The sentence carries a date, as a "when" question's answer must."""
    return _carries("date", sentence)


def _dates_a_name(sentence: str, entities: list[FocusTerm], tokens: _Tokens) -> bool:
    """A year directly before a name the question names ("the 1994 Budapest Memorandum")."""
    return any(tokens(t.text) <= tokens(m.group(1)) for m in _YEAR_NAME.finditer(sentence) for t in entities
               if tokens(t.text))


def _without_accents(tokenize: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    return lambda text: tokenize(strip_accents(text))


class _Tokens:
    """The analyser's stems of a text, kept across questions: the same paragraphs come back for
    many questions, and stemming them was half of the judgement's time."""

    def __init__(self, tokenize: Callable[[str], list[str]], size: int = 16_384) -> None:
        self.stems = lru_cache(maxsize=size)(lambda text: frozenset(tokenize(text)))

    def __call__(self, text: str) -> frozenset[str]:
        return self.stems(text)


def eligible(focus: QuestionFocus, scored: Scored) -> bool:
    """The issue's rule, not a fitted one: the answering sentence carries the asked answer type and
    names what the question names, at least half of it (readers name a setting the article gave
    earlier, "arabica futures", or a government by its capital, "Berlin"); the model weighs the rest.
    A stance question's speaker is the exception: "What did Zelensky say about Trump's claim?" is not
    answered by Trump's claim."""
    return (bool(scored.features["type_ok"]) and scored.features["entity_unit"] >= 0.5
            and (focus.speaker is None or focus.speaker in scored.matched))


def units(sources: list[RetrievedParagraph]) -> list[Unit]:
    out: list[Unit] = []
    for idx, para in enumerate(sources[:MAX_SOURCES], start=1):
        for s, e, context in _sentences(para.text):
            out.append(Unit(source=idx, start=s, end=e, text=para.text[s:e], context=context))
            if len(out) >= MAX_UNITS:
                return out
    return out


@lru_cache(maxsize=8192)
def _sentences(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, context) of a paragraph's candidate sentences; kept across questions."""
    out = []
    prev = ""
    # Planted instructions are never an answer: the paragraph's flagged sentences, as the
    # pipeline's data check found them a moment before (cached), not each sentence classified again.
    flagged = flagged_spans(text)
    for s, e in sentence_spans(text):
        sent = text[s:e]
        if any(fs < e and s < fe for fs, fe in flagged):
            prev = ""  # a planted instruction is no one's antecedent
            continue
        out.append((s, e, prev if _PRONOUN_LED.search(sent) else ""))
        prev = sent
    return tuple(out)


_plain = lru_cache(maxsize=16_384)(plain)  # paragraphs recur across questions


@lru_cache(maxsize=16_384)
def _words(sentence: str) -> tuple[str, ...]:
    """A sentence's distinct lower-case words, for soft matching."""
    return tuple(dict.fromkeys(w.lower() for w in _CONTENT.findall(sentence)))


def _names(term: FocusTerm, stems: frozenset[str], low: str) -> bool:
    if term.actor is not None:
        return any(f" {k} " in low or f" {k}." in low or f" {k}," in low for k in term.actor.keys)
    if not term.stems:
        return False
    by_prefix = _by_prefix(stems)
    return all(t in stems or any(_same_name(t, s) for s in by_prefix.get(t[:4], ())) for t in term.stems)


@lru_cache(maxsize=4096)  # ~17 KB per paragraph's stems; a sentence's context sets churn through it
def _by_prefix(stems: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Stems by their first four letters: two spellings of one name share them (see `_same_name`),
    so a long question's names are looked up, not compared with every stem of every paragraph."""
    out: dict[str, list[str]] = {}
    for s in stems:
        out.setdefault(s[:4], []).append(s)
    return {k: tuple(v) for k, v in out.items()}


def _same_name(a: str, b: str) -> bool:
    """One name, or a name and its demonym: Russia/Russian, China/Chinese, West/Western."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) < 4 or not short[:4].isalpha():
        return False
    common = len(short) if long_.startswith(short) else next(
        (i for i, (x, y) in enumerate(zip(short, long_, strict=False)) if x != y), len(short))
    return common >= max(4, len(short) - 1)


def _soft(similarity: float) -> float:
    """Static-vector cosine to a 0..1 match strength: 0.25 or less is no match, 0.6 a full one."""
    return max(0.0, min(1.0, (similarity - 0.25) / 0.35))


# A question that counts something: "how many berths", "the number of air defense systems".
_COUNTS = re.compile(r"\b(?:how many|number of)\b", re.IGNORECASE)
_AUXILIARIES = frozenset("did do does was were is are has have had will would can could should may might".split())


def _counts_asked(sentence: str, focus: QuestionFocus, tokens: _Tokens) -> bool:
    """A number directly before (within two words) the counted thing: the words just after "how many"
    ("berths", "air defense systems"), not any word of the question ("a three-day strike" counts no
    services). "By how much did the glacier shrink in a single year?" counts nothing."""
    m = _COUNTS.search(focus.question)
    if m is None:
        return False
    counted = []
    for w in focus.question[m.end():].split()[:3]:
        if w.lower() in _AUXILIARIES:  # "How many did Russia lose?": Russia is not counted
            break
        counted.append(w)
    asked = {s for w in counted for s in tokens(w)}
    for m in _TYPE_CUES["number"].finditer(sentence):
        following = sentence[m.end():].split()[:2]
        if any(tokens(w) & asked for w in following):
            return True
    return False


def _names_person(focus: QuestionFocus, unit: Unit) -> bool:
    """"Who said ...?" is answered by "She said ..." when the sentence before names her: the
    answerer then quotes both (see generators/extractive.with_antecedent)."""
    return (focus.answer_type == "person" and bool(unit.context) and _carries("person", unit.context)
            and bool(STANCE_PATTERN.search(unit.context)))  # names someone as saying something, not "On Monday"


def _carries_asked(focus: QuestionFocus, sentence: str) -> bool:
    """The sentence carries the asked answer type. An asked place is one the question does not name
    itself ("Which region of Brazil did the frost hit?" is not answered by "the last frost in Brazil"),
    and a region standing alone ("... to discuss Ukraine and the Middle East") answers only a question
    asking for a region: "Where will the summit be held?" is not answered by "Europe must spend more"."""
    if focus.answer_type != "place":
        return _carries(focus.answer_type, sentence)
    asked = _plain(focus.question)
    region_asked = focus.place is not None and focus.place.region
    for m in _TYPE_CUES["place"].finditer(strip_accents(sentence[:2000])):
        if m.group("region") is not None and not region_asked:
            continue
        name = _THE.sub("", _plain(m.group("name") or m.group("region")).strip())
        if name and f" {name} " not in asked:
            return True
    return False


_THE = re.compile(r"^the ")


def _carries(answer_type: str, sentence: str) -> bool:
    cue = _TYPE_CUES.get(answer_type)
    return True if cue is None else bool(cue.search(sentence))
