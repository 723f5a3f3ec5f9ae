"""Use the positions/events layer in the answering chain.

- Retrieval: for a position question, the paragraphs holding the named actors'
  attributed statements go first; for a "when" question, the paragraph stating the
  best-matching event's date does.
- Generation: a comparison of several actors gets one cited claim per actor; a
  "when" question is answered with the normalised date and the sentence stating it.
Both fall back to the plain path when the layer has nothing for the question.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from qa_service.answerability.comparison import compared_part, is_comparison
from qa_service.answerability.focus import QUESTION_WORDS, split_when
from qa_service.answerability.judge import Judgement, states_a_date
from qa_service.citations import Claim, Draft
from qa_service.generators.extractive import ExtractiveGenerator, classify, dated
from qa_service.models import RetrievedParagraph
from qa_service.text import base_form, human_date

# The date a statement was made is not the date of what it is about: "Veltra said on Monday that it
# would decide next year whether to build a second plant" does not date the plant's opening.
_REPORTING = re.compile(r"\b(?:say|says|said|tell|tells|told|announce[ds]?|state[ds]?|added|report(?:s|ed)?|"
                        r"confirm(?:s|ed)?|declare[ds]?|warn(?:s|ed)?)\b", re.IGNORECASE)
_LOWER_WORD = re.compile(r"\b[a-z][a-z-]{2,}\b")


def asks_when_said(question: str) -> bool:
    return bool(_REPORTING.search(question[:2000]))


# A preposition says nothing of which event is asked: "get under way" shares no event with "the
# Memorandum, under which ...". (The judge keeps them as focus terms: its fitted model reads how many
# a question has.)
_NOT_ASKED = QUESTION_WORDS | frozenset(
    "under over into onto upon within among amid via toward towards across through throughout during".split())


def asked_words(text: str) -> set[str]:
    """A text's lower-case words (names and prepositions aside), irregular pasts as their base form,
    cut to five letters so that "opens" meets "open" and "began" meets "begin"."""
    return {base_form(w)[:5] for w in _LOWER_WORD.findall(text[:2000]) if w not in _NOT_ASKED}


def shares(asked: set[str], description: str) -> int:
    """How many of the question's asked words (see asked_words) an event's description holds."""
    return len(asked & asked_words(description.lower()))


def asked_event(question: str, events: list[tuple[str, Any]]) -> Any | None:
    """Of a sentence's events (description, event): a statement's when the question asks when
    something was said (None if the sentence dates no statement); else the one sharing most words
    of what the question asks (see asked_words); failing that the first, unless that one only
    dates a statement."""
    question = question[:2000]
    if asks_when_said(question):  # "When did Veltra say it would ...?" asks the statement's date,
        # never the date of what was said ("... join by the end of 2025").
        return next((e for description, e in events if _REPORTING.search(description)), None)
    asked = asked_words(question)
    shared = [shares(asked, description) for description, _ in events]
    if shared and max(shared) > 0:
        return events[shared.index(max(shared))][1]
    if not events or _REPORTING.search(events[0][0]):  # (a question asking when it was said left above)
        return None
    return events[0][1]


_NAME_AFTER = re.compile(r"(?:['’]s)?\s+[A-Z]")
_NAME_BEFORE = re.compile(r"\S\s+[A-Z][\w.'’-]*\s+$")  # a capitalised word, not the question's first


def _inside_a_name(text: str, start: int, end: int) -> bool:
    """An outlet's name that runs on into a longer name ("Age Concern", "the Independent Police
    Complaints Commission", "Michael Bloomberg") names no outlet there."""
    return bool(_NAME_AFTER.match(text, end) or _NAME_BEFORE.search(text[max(0, start - 80):start]))


class StructuredLayer:
    def __init__(self, positions: Any, paragraphs: Callable[[list[tuple[str, str]]], dict[str, RetrievedParagraph]],
                 remembered: int = 64, outlets: Callable[[str], list[tuple[int, int]]] | None = None) -> None:
        self.positions = positions
        self.paragraphs = paragraphs  # [(article_id, paragraph_id)] -> {paragraph_id: RetrievedParagraph}
        # Where a question names outlets (news_signals.outlet_spans): "a TechCrunch article" names the
        # source, not an actor, and "Cnbc | World Business News Leader" no leader.
        self.outlets = outlets
        # covers(), boost() and draft() each ask for one question's focus: look it up once.
        self._focus: OrderedDict[tuple[str, object], tuple[list[tuple[str, str, Any]], bool]] = OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()

    def focus(self, question: str) -> list[tuple[str, str, Any]]:
        """(actor or "", paragraph_id, entry) the layer says answer this question, best first."""
        return list(self._looked_up(question)[0])

    def compares(self, question: str) -> bool:
        """The question compares two or more parties it names before its topic, each with statements."""
        found, compares = self._looked_up(question)
        return compares and len(found) >= 2

    def _looked_up(self, question: str) -> tuple[list[tuple[str, str, Any]], bool]:
        key = (question, self.positions.version())  # a re-extracted article changes the answer
        with self._lock:
            if key in self._focus:
                self._focus.move_to_end(key)
                return self._focus[key]
        found = self._find_focus(question)
        with self._lock:
            self._focus[key] = found
            while len(self._focus) > self._remembered:
                self._focus.popitem(last=False)
        return found

    def _find_focus(self, question: str) -> tuple[list[tuple[str, str, Any]], bool]:
        kind = classify(question)
        for start, end in self.outlets(question) if self.outlets is not None else ():
            if not _inside_a_name(question, start, end):  # "Age Concern" is no outlet "The Age"
                question = question[:start] + " " * (end - start) + question[end:]  # same length: offsets agree
        if kind == "when":
            return [("", e.paragraph_id, e) for e in self.positions.when(question, limit=2)], False
        if kind not in ("position", "what", "who", "yesno"):
            return [], False
        actors = self.positions.find_actors(question)
        compares = False
        if len(actors) >= 2 and is_comparison(question) and len(parties := self.positions.find_actors(
                compared_part(question))) >= 2:
            actors, compares = parties, True
        if not actors:
            return [], False
        best = self.positions.best_positions(actors, topic=question)
        return [(actor, entry.paragraph_id, entry) for actor in actors if (entry := best.get(actor)) is not None
                ], compares

    def events_in(self, paragraph_id: str) -> list[Any]:
        return list(self.positions.events_in(paragraph_id))

    def covers(self, question: str) -> bool:
        """A comparison naming two or more actors that each have attributed statements."""
        return classify(question) != "when" and self.compares(question)

    def boost(self, question: str, hits: list[RetrievedParagraph], k: int) -> list[RetrievedParagraph]:
        focus = self.focus(question)
        if not focus:
            return hits
        first: list[RetrievedParagraph] = []
        found: dict[str, RetrievedParagraph] = {}
        for h in hits:
            found.setdefault(h.paragraph_id, h)
        if missing := [(entry.article_id, pid) for _, pid, entry in focus if pid not in found]:
            found |= self.paragraphs(missing)
        for _, pid, _ in focus:
            hit = found.get(pid)
            if hit is not None and hit not in first:
                first.append(hit)
        rest = [h for h in hits if h.paragraph_id not in {f.paragraph_id for f in first}]
        return (first + rest)[: max(k, len(first))]


class StructuredGenerator:
    """Extractive answers, with per-actor and dated answers from the layer where it applies."""

    name = "extractive"

    def __init__(self, base: ExtractiveGenerator, layer: StructuredLayer) -> None:
        self.base = base
        self.layer = layer

    def draft(self, question: str, sources: list[RetrievedParagraph], judgement: Judgement | None = None,
              ) -> Draft:
        kind = classify(question)
        if kind == "when":
            return self._dated(question, self.base.draft(question, sources, judgement), sources, judgement)
        focus = self.layer.focus(question)
        index = {s.paragraph_id: i for i, s in enumerate(sources, start=1)}
        claims: list[Claim] = []
        if self.layer.compares(question):
            for actor, pid, entry in focus:
                if pid not in index:
                    continue
                claim = Claim(text=f"{actor}: {entry.quote}", source=index[pid], quote=entry.quote)
                # One statement is one party's: the same sentence under a second name says nothing new.
                # It goes under its speaker's name ("Mark Rutte", not "NATO", which he speaks for).
                same = next((i for i, c in enumerate(claims) if c.quote == entry.quote), None)
                if same is None:
                    claims.append(claim)
                elif actor == entry.actor:
                    claims[same] = claim
        if len(claims) >= 2:
            draft = Draft(claims=claims)
            return dated(draft, sources) if split_when(question)[1] else draft
        return self.base.draft(question, sources, judgement)

    def _better_event(self, question: str, event: Any | None, quote: str, sources: list[RetrievedParagraph],
                      judgement: Judgement) -> tuple[Any, int] | None:
        """The layer's best-matching event for the question, with its source number, when its clause
        shares more of the question's words than `event` (the chosen sentence's) and its sentence is
        one the judge found could answer (it names what the question names: "the Chips Act came into
        force in 2023" does not answer when Lisbon's levy comes into force); else None."""
        asked = asked_words(question)
        # A sentence stating a date the layer could not place in time (a day with no year, in an
        # article with no date) is weighed by its own words: "The two-day summit, starting December 3" answers
        # "On what date did the two-day summit get under way?" before any clause sharing one word.
        have = (shares(asked, event.description) if event is not None
                else shares(asked, quote) if states_a_date(quote) else 0)
        answering = {(s.unit.source, s.unit.text) for s in judgement.ranked}
        index = {s.paragraph_id: i for i, s in enumerate(sources, start=1)}
        best: tuple[int, Any] | None = None
        for _, pid, candidate in self.layer.focus(question):
            shared = shares(asked, candidate.description)
            if pid in index and shared > max(have, best[0] if best else 0) and (
                    index[pid], candidate.quote) in answering:
                best = (shared, candidate)
        return (best[1], index[best[1].paragraph_id]) if best else None

    def _dated(self, question: str, draft: Draft, sources: list[RetrievedParagraph],
               judgement: Judgement | None = None) -> Draft:
        """Prefix the chosen sentence with the normalised date of the event it states.

        The sentence is the extractive choice (best at matching the question) and the date that of
        its event sharing most of the question's words, unless an event the layer ranks for the
        question shares more of them in another answering sentence: then that sentence is the answer.
        """
        if not draft.claims:
            return draft
        first = draft.claims[0]
        para = sources[first.source - 1]
        quote = first.quote or first.text
        events = [e for e in self.layer.events_in(para.paragraph_id) if e.quote in quote or quote in e.quote]
        event = asked_event(question, [(e.description, e) for e in events])
        said = asks_when_said(question)
        if not said and judgement is not None and (
                better := self._better_event(question, event, quote, sources, judgement)) is not None:
            # "When did Brazil's coffee frost hit?": the sentence most like the question ("the losses
            # could also hit next year's crop") may date something else; "The frost hit on Monday
            # night" states the asked event itself.
            event, index = better
            first = draft.claims[0] = Claim(text=event.quote, source=index, quote=event.quote)
        if event is not None:
            first.text = f"{human_date(event.date, event.precision)}: {first.text}"
        elif said:
            return dated(draft, sources)  # a statement the sentence does not date: the day it was reported
        return draft
