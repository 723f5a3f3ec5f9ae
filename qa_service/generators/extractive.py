"""The offline, deterministic answerer: quotes the sentences that answer.

The answerability judge ranks every sentence of the retrieved paragraphs by how
well it answers (focus covered, actors named, answer type carried); this module
turns the best of them into cited claims. A second sentence joins only when it
covers focus terms the first lacks (a second actor), and a list question gets one
claim per sentence that holds items of the asked kind.
"""

from __future__ import annotations

import re

from qa_service.answerability.focus import ASKS_WHEN, split_when
from qa_service.answerability.judge import AnswerabilityJudge, Judgement, Scored
from qa_service.citations import Claim, Draft, stands_alone
from qa_service.models import RetrievedParagraph
from qa_service.text import STANCE_PATTERN, reported


def classify(question: str) -> str:
    """Coarse question kind used by the positions layer (when / position / who / yesno / what);
    "What did X say, and when?" is the kind of its main question (see split_when)."""
    q = split_when(question)[0].lower().strip()
    if re.search(rf"\b({ASKS_WHEN}|what date|what day|what year|which year|which day|how long ago)\b", q):
        return "when"
    if re.search(r"\bhow (many|much)\b|\bnumber of\b|\bwhat (percentage|share|amount)\b", q):
        return "how_many"
    if re.search(r"\bwhere\b|\bin which (city|country|place)\b", q):
        return "where"
    if re.search(r"\b(position|stance|view|think|react|respon(?:d|se))\w*\b", q) or STANCE_PATTERN.search(q):
        return "position"
    if re.match(r"^(who|whom|whose)\b", q):
        return "who"
    if re.match(r"^(does|did|do|is|are|was|were|can|could|will|would|has|have|had|should)\b", q):
        return "yesno"
    return "what"


_CONNECTIVE = re.compile(r"^(?:However|Meanwhile|Still|Yet|Instead|Also|Moreover|Furthermore|But|And),\s+")


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, judge: AnswerabilityJudge, max_sentences: int = 2, max_list_items: int = 4) -> None:
        self.judge = judge
        self.max_sentences = max_sentences
        self.max_list_items = max_list_items

    def draft(self, question: str, sources: list[RetrievedParagraph], judgement: Judgement | None = None) -> Draft:
        judgement = judgement or self.judge.judge(question, sources)
        if not judgement.ranked:
            return Draft(abstain_reason="no_sentences", support=judgement.probability)
        if judgement.parts:  # a comparison, judged party by party: one claim each, under its name
            return Draft(claims=[Claim(text=f"{name}: {trim(best.unit.text)}", source=best.unit.source,
                                       quote=trim(best.unit.text))
                                 for name, part in judgement.parts if (best := part.best) is not None],
                         support=judgement.probability)
        chosen = self._choose(judgement)
        claims = []
        for scored in chosen:
            text = trim(scored.unit.text)
            if judgement.focus.answer_type == "reason" and (clause := reason_clause(text)):
                # "Why ...?" is answered by the reason, quoted as written ("because ...").
                claims.append(Claim(text=clause[0].upper() + clause[1:], source=scored.unit.source, quote=clause))
                continue
            if judgement.focus.answer_type == "person" and (both := with_antecedent(scored, sources)) and not any(
                    c.source == scored.unit.source and c.quote and both.startswith(c.quote) for c in claims):
                text = both  # "Who said ...?": "She said ..." alone does not name her (unless just quoted)
            claims.append(Claim(text=text, source=scored.unit.source, quote=text))
        draft = Draft(claims=claims, support=judgement.probability)
        return dated(draft, sources) if judgement.focus.also_when else draft

    def _choose(self, judgement: Judgement) -> list[Scored]:
        ranked = judgement.ranked
        best = ranked[0]
        chosen = [best]
        covered = set(best.matched)
        limit = self.max_list_items if judgement.focus.answer_type == "list" else self.max_sentences
        for cand in ranked[1:]:
            if len(chosen) >= limit or cand.rank < best.rank - 1.5:
                break
            if any(c.unit.source == cand.unit.source and c.unit.start == cand.unit.start for c in chosen):
                continue
            adds = cand.matched - covered
            terms = judgement.focus.terms
            if cand.features["entity_unit"] < best.features["entity_unit"] and not any(terms[i].entity for i in adds):
                continue  # names less of whom the question asks, and no one the first lacks: no second answer
            weight = sum(terms[i].weight for i in adds) / judgement.focus.total_weight
            # A second sentence only when it adds focus the first lacks (e.g. a second actor);
            # a list question also takes further sentences carrying items of the same kind.
            if weight >= 0.15 or (judgement.focus.answer_type == "list" and cand.matched >= best.matched
                                  and cand.features["type_ok"]):
                chosen.append(cand)
                covered |= cand.matched
        return chosen


def with_antecedent(scored: Scored, sources: list[RetrievedParagraph]) -> str | None:
    """A pronoun-led sentence with the sentence before it (which the judge took as naming whom
    the pronoun means), as one verbatim span of the paragraph; None if it opens with no pronoun."""
    unit = scored.unit
    if not unit.context:
        return None
    text = sources[unit.source - 1].text
    start = text.rfind(unit.context, 0, unit.start)
    return text[start:unit.end] if start >= 0 else None


def dated(draft: Draft, sources: list[RetrievedParagraph]) -> Draft:
    """"What did X say, and when?": each claim opens with the day its article was published.
    Not a date the sentence mentions: "from 2028" in a statement is not when it was made."""
    for claim in draft.claims:
        para = sources[claim.source - 1]
        if para.published:
            claim.text = f"{reported(para.published)} {claim.text}"
    return draft


# Words that open a reason; "since" and "after" also open times, so they are not among them. A reason
# given as someone's words ("rejected it, saying ...") is answered with the whole sentence, which says whose.
_REASON = re.compile(r"\b(?:because(?: of)?|due to|owing to|as a result of|in order to|so that|on the grounds that|"
                     r"given that|citing|in response to|for fear (?:of|that))\b", re.IGNORECASE)


def reason_clause(sentence: str) -> str | None:
    """The sentence from its first reason cue to its end; None if it has none, or if the clause is too
    short to stand as a claim of its own."""
    m = _REASON.search(sentence)
    if m is None:
        return None
    clause = sentence[m.start():].rstrip()
    # A shorter clause ("because of power cuts") says less than the whole sentence, and the citation
    # check would remove it, refusing the question.
    return clause if stands_alone(clause) else None


def trim(sentence: str) -> str:
    """Drop a leading connective ("However, ") so the answer reads on its own; stays verbatim."""
    m = _CONNECTIVE.match(sentence)
    if m and len(sentence) - m.end() > 20:
        return sentence[m.end():]
    return sentence
