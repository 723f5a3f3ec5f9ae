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
_TOPIC = re.compile(r"\b(?:on|about|regarding|over|of)\s+(.+?)[?.!]*$", re.IGNORECASE)
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
    m = _TOPIC.search(q)
    if m and len(m.group(1).split()) >= 1:
        return m.group(1)
    return _LEAD.sub("", q)


def condense_rule(question: str, history: list[dict[str, str]]) -> str:
    # The previous standalone form carries the topic through chains of follow-ups.
    previous = [t.get("standalone") or t["content"] for t in history if t.get("role") == "user" and t.get("content")]
    if not previous or not is_followup(question):
        return question.strip()
    topic = topic_of(previous[-1])
    q = _FOLLOWUP_START.sub("", question.strip()).strip(" ,")
    q = q[0].upper() + q[1:] if q else q
    m = re.search(r"\b(that|this|it|them|those|these)\b(?=[\s?.!]*$)", q, re.IGNORECASE)
    if m:
        return (q[: m.start()] + topic + q[m.end():]).strip()
    return f"{q.rstrip('?.! ')} (regarding {topic})?"
