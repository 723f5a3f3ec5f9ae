"""Turn a follow-up into a standalone question before retrieval.

Without an LLM (the extractive default) a rule does it: a follow-up is a short
question that leans on the previous turn (pronouns like "that"/"it"/"they", a
leading "And"/"What about", or no topic words of its own). Its standalone form
is the follow-up plus the topic of the previous standalone question (the words
after "on/about/regarding", else that question without its question words), so
"And what did the Kremlin say about that?" after "What is Rutte's position on
Ukraine's NATO membership?" becomes "...Kremlin say about Ukraine's NATO membership?".
"""

from __future__ import annotations

import re

_FOLLOWUP_START = re.compile(r"^(and|but|also|so|what about|how about|and what about|then)\b", re.IGNORECASE)
# Possessives (its, his, their) are left out: "How many troops did Germany pledge in its
# package?" stands on its own.
_ANAPHORA = re.compile(r"\b(that|this|it|they|them|these|those|he|she|him|there|then)\b", re.IGNORECASE)
# What a question is about: after "about" and the like, else after a weaker preposition.
_TOPICS = (re.compile(r"\b(?:about|regarding|on|over)\s+(.+?)[?.!]*$", re.IGNORECASE),
           re.compile(r"\b(?:of|to|for)\s+(.+?)[?.!]*$", re.IGNORECASE))
_LEAD = re.compile(r"^(what|when|where|who|how|why|which|did|does|do|is|are|was|were)\b.*?\b(is|are|was|were|did|does|do)\b\s*",
                   re.IGNORECASE)


def is_followup(question: str) -> bool:
    q = question.strip()
    if _FOLLOWUP_START.match(q):
        return True
    words = re.findall(r"[A-Za-z']+", q)
    return len(words) <= 12 and bool(_ANAPHORA.search(q))


def topic_of(question: str) -> str:
    q = question.strip().rstrip("?.! ")
    for pattern in _TOPICS:
        if m := pattern.search(q):
            return m.group(1)
    return _LEAD.sub("", q)


def condense_rule(question: str, history: list[dict[str, str]]) -> str:
    # The previous standalone form carries the topic through chains of follow-ups.
    previous = [t.get("standalone") or t["content"] for t in history if t.get("role") == "user" and t.get("content")]
    if not previous or not is_followup(question):
        return question.strip()
    before = previous[-1].strip()
    if _WHEN_ONLY.match(question.strip()):
        # "When was that?" asks when the previous answer's statement or event was: the previous
        # question with the time asked on top (see answerability.focus.split_when).
        return before if _AND_WHEN.search(before) else f"{before.rstrip('?.! ')}, and when?"
    topic = topic_of(before)
    bare = _FOLLOWUP_START.sub("", question.strip()).strip(" ,")
    q = bare[0].upper() + bare[1:] if bare else bare
    name = _first_name(before)
    if name and (other := _ONLY_NAME.fullmatch(bare.rstrip("?.! "))):
        # "What about Kallas?" after "What did Blinken stress at the meeting?": the same question of her.
        start, end = name
        return before[:start] + other.group(0) + before[end:]
    if name and (m := _PERSON.search(q)):
        q = q[: m.start()] + before[name[0]:name[1]] + q[m.end():]  # "he" is the name asked about before
    m = re.search(r"\b(that|this|it|them|those|these)\b(?=[\s?.!]*$)", q, re.IGNORECASE)
    if m:
        return (q[: m.start()] + topic + q[m.end():]).strip()
    if name and before[name[0]:name[1]] in q:
        return q
    return f"{q.rstrip('?.! ')} (regarding {topic})?"


# "When was that?", "And when did he say it?": only the time of what was asked before.
_WHEN_ONLY = re.compile(r"^(?:and\s+|so\s+)?when\s+(?:was|is|did|were|does|will|had)\s+(?:that|this|it|he|she|they)"
                        r"(?:\s+(?:say|said|happen|happened|take place|announce|do|make)(?:\s+(?:it|that|this|so))?)?"
                        r"\s*[?.!]*$", re.IGNORECASE)
_AND_WHEN = re.compile(r",?\s+and\s+when\b", re.IGNORECASE)
# A name: capitalised words, not the question's first word ("What", "How").
_NAME = re.compile(r"(?:\bthe\s+)?\b[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){0,3}")
_ONLY_NAME = re.compile(r"(?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){0,3}")
_PERSON = re.compile(r"\b(he|she|him)\b", re.IGNORECASE)


def _first_name(question: str) -> tuple[int, int] | None:
    """Offsets of the first name in a question after its first word, without a possessive 's."""
    first = re.match(r"\s*\S+", question)
    for m in _NAME.finditer(question, first.end() if first else 0):
        end = m.end()
        if question[m.start():end].endswith(("'s", "’s")):
            end -= 2
        return m.start(), end
    return None
