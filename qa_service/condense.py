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

from qa_service.answerability.focus import answer_type, split_when

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
    q = question.strip()[:MAX_QUESTION].rstrip("?.! ")
    for pattern in _TOPICS:
        if m := pattern.search(q):
            return m.group(1)
    return _LEAD.sub("", q)


def condense_rule(question: str, history: list[dict[str, str]]) -> str:
    # The previous standalone form carries the topic through chains of follow-ups.
    previous = [t.get("standalone") or t["content"] for t in history if t.get("role") == "user" and t.get("content")]
    if not previous or not is_followup(question):
        return question.strip()
    before = previous[-1].strip()[:MAX_QUESTION]
    if _WHEN_ONLY.match(question.strip()):
        # "When was that?" asks when the previous answer's statement was: the previous question
        # with the time asked on top (see answerability.focus.split_when). A question that asked
        # a time already is asked again as it was.
        if split_when(before)[1] or answer_type(before) == "date":
            return before
        return f"{before.rstrip('?.! ')}, and when?"
    topic = topic_of(before)
    bare = _FOLLOWUP_START.sub("", question.strip()).strip(" ,")
    q = bare[0].upper() + bare[1:] if bare else bare
    name = _first_name(before)
    asked = bare.rstrip("?.! ")
    if not asked or asked.lower() in _PRONOUNS:
        return before  # "And?", "What about him?": the same question again
    if name and _names(asked) == [(0, len(asked))]:
        # "What about Kallas?" after "What did Blinken stress at the meeting?": the same question of her.
        start, end = name
        return before[:start] + asked + before[end:]
    if name and not _names(bare) and (m := _PERSON.search(q)):  # (not "And Macron, what did he say?")
        q = q[: m.start()] + before[name[0]:name[1]] + q[m.end():]  # "he" is the name asked about before
    m = re.search(r"\b(that|this|it|them|those|these)\b(?=[\s?.!]*$)", q, re.IGNORECASE)
    if m:
        return (q[: m.start()] + topic + q[m.end():]).strip()
    if name and before[name[0]:name[1]] in q:
        return q
    return f"{q.rstrip('?.! ')} (regarding {topic})?"


# "When was that?", "And when did he say it?": only the time of what was asked before.
_WHEN_ONLY = re.compile(r"^(?:and\s+|so\s+)?when\s+(?:was|did|were)\s+(?:that|this|it|he|she|they)"
                        r"(?:\s+(?:say|said|state|stated|announce|announced|make|made)(?:\s+(?:it|that|this|so))?)?"
                        r"\s*[?.!]*$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w’'.-]*")
# Who a question asks about usually follows its auxiliary: "What did <name> say", "What is <name>'s".
_AFTER_AUX = re.compile(r"\b(?:did|does|do|is|was|were|has|have|had|will|would|can|could)\s+(?=\S)", re.IGNORECASE)
_LEAD_WORDS = frozenset("what when where who whom whose why how which and but so also then did does do is are was "
                        "were has have had will would can could i".split())
MAX_QUESTION = 500  # characters of a question looked at: bounded work on any input
_PRONOUNS = frozenset("him her them he she they it that this those these".split())
# Lower-case words inside one name or title phrase: "NATO chief Mark Rutte", "the U.S. Secretary of
# State", "Ursula von der Leyen".
_IN_NAME = frozenset("of the de von der van la le di da du chief head minister secretary spokesman spokeswoman "
                     "spokesperson president leader general".split())
_PERSON = re.compile(r"\b(he|she|him)\b", re.IGNORECASE)


def _names(question: str) -> list[tuple[int, int]]:
    """Runs of up to four capitalised words (any script), "the" allowed before them; a question
    word ("What", "And") is not a name."""
    runs: list[tuple[int, int]] = []
    start = end = -1
    count = 0
    for m in _WORD.finditer(question[:MAX_QUESTION]):
        word = m.group()
        capital = word[0].isupper() and word.lower() not in _LEAD_WORDS
        if capital and start >= 0 and question[end:m.start()] == " " and count < 4:
            end, count = m.end(), count + 1
            continue
        if start >= 0:
            runs.append((start, end))
            start = -1
        if capital:
            start, end, count = m.start(), m.end(), 1
    if start >= 0:
        runs.append((start, end))
    return [(s - 4, e) if question[max(0, s - 4):s].lower() == "the " else (s, e) for s, e in runs]


def _first_name(question: str) -> tuple[int, int] | None:
    """Offsets of the name a question asks about, without a possessive 's: the name right after
    its auxiliary ("What did Mark Rutte say"), else the first name not after a preposition ("In
    Brussels, what did Rutte say" -> Rutte)."""
    runs = _names(question)
    aux = _AFTER_AUX.search(question[:MAX_QUESTION])
    chosen = next((r for r in runs if aux is not None and r[0] == aux.end()), None)
    if chosen is not None:  # the whole name phrase: later runs joined by title words and particles
        for start, end in runs[runs.index(chosen) + 1:]:
            gap = question[chosen[1]:start].split()
            if not gap or not all(w.lower() in _IN_NAME for w in gap):
                break
            chosen = (chosen[0], end)
    if chosen is None:
        chosen = next((r for r in runs if not re.search(r"\b(?:in|at|on|of|from|to|for|with|by)\s+$",
                                                          question[max(0, r[0] - 6):r[0]], re.IGNORECASE)), None)
    if chosen is None:
        return None
    start, end = chosen
    if question[start:end].endswith(("'s", "’s")):
        end -= 2
    return start, end
