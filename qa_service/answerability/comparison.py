"""Comparison questions: which parties a question compares, and one question per party.

"How do Albuquerque and Mendes differ on the frost damage?" is answered by what each of them
said, in two sentences; no single sentence need name both. When the positions layer knows
both parties it answers from their statements (qa_service/structured.py). Otherwise each
party's own question ("What did Mendes say on the frost damage?") is retrieved and judged,
and the comparison is answerable only when every party's question is.
"""

from __future__ import annotations

import re

from qa_service.models import RetrievedParagraph

# A question compares actors only when it says so; "What did Peskov say about NATO?" names
# NATO as a topic, not as a second actor.
_COMPARISON = re.compile(r"\b(differ\w*|compar\w*|agree\w*|disagree\w*|contrast\w*|versus|vs\.?|both|each|"
                         r"similar\w*|respectively)\b", re.IGNORECASE)

# What the parties are compared on: "How do Rutte and Peskov differ on Ukraine joining NATO?"
# compares two people, not Ukraine and NATO as well.
# A "that" clause is what is agreed on: "Do NATO allies agree that Ukraine's future lies in the alliance?"
# asks NATO's view, not how NATO and Ukraine compare.
_TOPIC = re.compile(r"\b(?:on|about|over|regarding|concerning|towards?|with regard to|in their views? of|that)\s",
                    re.IGNORECASE)

# A name: capitalised words, with the particles of names between them ("Terre del Po", "Ursula von der Leyen").
_NAME = re.compile(r"\b[A-Z][\w'’.&-]*(?:\s+(?:(?:de|del|della|da|do|dos|du|di|van|von|der|den|la|le|al)\s+)*"
                   r"[A-Z][\w'’.&-]*)*")
# Questions that ask how parties compare. Not a yes/no question ("Do both TechCrunch and The Verge
# report ...?"), and not "versus", which mostly weighs two topics ("peace talks versus military aid").
_ASKS_HOW = re.compile(r"\W*(?:how|what|in what ways?|compare|contrast)\b", re.IGNORECASE)
_PARTY_CUE = re.compile(r"\b(?:differ|compar|contrast|disagree|agree|similar)\w*", re.IGNORECASE)
_CONJUNCTION = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_OPENERS = frozenset("compare contrast how what in the".split())
MAX_PARTIES = 4
NEAR = 4  # words: a conjunct's name stands this close to its "and"


def is_comparison(question: str) -> bool:
    return bool(_COMPARISON.search(question))


def compared_part(question: str) -> str:
    """The question up to the first topic preposition after its comparison word (the whole question
    when there is none): the actors named there are the ones compared."""
    cue = _COMPARISON.search(question)
    topic = _TOPIC.search(question, cue.end()) if cue else None
    return question[: topic.start()] if topic else question


def parties(question: str) -> list[str]:
    """The parties a "how/what/compare" comparison joins with "and" ("Alpenkraft and Terre del Po",
    "Austria's climate minister and the Alpine Rivers Alliance"), 2 to MAX_PARTIES of them, each
    holding a name; else []."""
    question = question[:500]  # bounded work on any input
    opener = _ASKS_HOW.match(question)
    if opener is None or not _PARTY_CUE.search(question):
        return []
    # The compared part starts with the question, so it starts with the same opener ("How do").
    pieces = _CONJUNCTION.split(compared_part(question)[opener.end():])
    if not 2 <= len(pieces) <= MAX_PARTIES:
        return []
    names: list[str] = []
    for i, piece in enumerate(pieces):
        found = list(_NAME.finditer(piece))
        if i == 0:  # "How do Albuquerque": the conjunct ends the piece, from its last name on
            near = [m for m in found if len(piece[m.start():].split()) <= NEAR]
            conjunct = piece[near[-1].start():] if near else ""
        else:  # "the union CCOO view ...": the conjunct opens the piece, up to its first name
            near = [m for m in found if len(piece[: m.start()].split()) < NEAR]
            conjunct = piece[: near[0].end()] if near else ""
        words = conjunct.split()
        while words and (words[0].lower() in _OPENERS or words[0].islower() and i == 0):  # "How do"
            words.pop(0)
        name = re.sub(r"['’]s?$", "", " ".join(words)).strip(" ,")
        if not name or name in names:
            return []
        names.append(name)
    return names


def party_question(question: str, party: str) -> str:
    """What one party said on the compared topic: "What did Mendes say on the frost damage?"."""
    topic = question[len(compared_part(question)):].strip().rstrip("?.! ")
    return f"What did {party} say {topic}?" if topic else f"What did {party} say?"


def merged(lists: list[list[RetrievedParagraph]], k: int) -> list[RetrievedParagraph]:
    """Each party's hits in turn (best first), then the rest; a paragraph once, with the scores of
    the list that ranked it first, so its dense score is that party question's."""
    out: list[RetrievedParagraph] = []
    seen: set[str] = set()
    for rank in range(max((len(hits) for hits in lists), default=0)):
        for hits in lists:
            if rank < len(hits) and hits[rank].paragraph_id not in seen:
                seen.add(hits[rank].paragraph_id)
                out.append(hits[rank])
    return out[: max(k, 2 * len(lists))]
