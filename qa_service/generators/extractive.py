"""The offline, deterministic answerer: picks (and trims) the sentences that answer.

It reads the question's type (when / how many / where / who / position / what)
and its content terms, scores every sentence of the retrieved paragraphs by
IDF-weighted term coverage plus type cues, and returns the best one or two as
claims, each citing its paragraph. Support is the IDF-weighted share of the
question's terms found in the best paragraph (with its title and heading): rare
question terms that no paragraph holds are what make a question unanswerable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa_service.citations import Claim, Draft
from qa_service.models import RetrievedParagraph
from qa_service.safety import is_injection
from qa_service.textnorm import sentence_spans

_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE_CUE = re.compile(
    rf"\b(?:{_MONTH}(?:\s+\d{{1,2}})?|\d{{1,2}}\s+{_MONTH}|(?:1[89]|20)\d\d|Monday|Tuesday|Wednesday|Thursday|"
    r"Friday|Saturday|Sunday|yesterday|today|tomorrow|last (?:week|month|year)|next (?:week|month|year))\b"
)
_NUMBER_CUE = re.compile(
    r"\b(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|dozen)\b", re.IGNORECASE)
_PLACE_CUE = re.compile(r"\b(?:in|at|from|near|to)\s+(?:the\s+)?[A-Z][a-z]+")
_STANCE = re.compile(
    r"\b(?:said|says|say|argu\w+|warn\w*|demand\w*|reject\w*|welcom\w+|dismiss\w*|call\w*|stress\w*|"
    r"emphasi[sz]\w+|acknowledg\w+|reiterat\w+|claim\w*|clarif\w+|insist\w*|urg\w+|den\w+|criticis\w+|"
    r"criticiz\w+|support\w*|oppos\w+|believ\w+|stat\w+|told|announc\w+|position|stance|view)\b", re.IGNORECASE)
_QWORDS = frozenset(
    "what when where who whom whose which why how many much did does do is are was were has have had "
    "position stance view say said think about according article articles report reported tell".split()
)


@dataclass
class QuestionInfo:
    kind: str  # when | how_many | where | who | position | yesno | what
    terms: list[str]  # stemmed content terms


def classify(question: str) -> str:
    q = question.lower().strip()
    if re.search(r"\b(when|what date|what day|what year|which year|which day|how long ago)\b", q):
        return "when"
    if re.search(r"\bhow (many|much)\b|\bnumber of\b|\bwhat (percentage|share|amount)\b", q):
        return "how_many"
    if re.search(r"\bwhere\b|\bin which (city|country|place)\b", q):
        return "where"
    if re.search(r"\b(position|stance|view|say|said|think|warn|demand|argue|reject|dismiss|welcome|call|react|respond|claim|stress|emphasi[sz]e|acknowledge|believe|insist|urge)\w*\b", q):
        return "position"
    if re.match(r"^(who|whom|whose)\b", q):
        return "who"
    if re.match(r"^(does|did|do|is|are|was|were|can|could|will|would|has|have|had|should)\b", q):
        return "yesno"
    return "what"


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, tokenize: Callable[[str], list[str]], idf: Callable[[str], float],
                 threshold: float = 0.5, max_sentences: int = 2, max_sources: int = 6) -> None:
        self.tokenize = tokenize  # the BM25 analyser: same stemming as the index
        self.idf = idf
        self.threshold = threshold
        self.max_sentences = max_sentences
        self.max_sources = max_sources

    def analyse(self, question: str) -> QuestionInfo:
        qwords = {t for w in _QWORDS for t in self.tokenize(w)}
        terms = [t for t in dict.fromkeys(self.tokenize(question)) if t not in qwords]
        return QuestionInfo(kind=classify(question), terms=terms)

    def _weights(self, terms: list[str]) -> dict[str, float]:
        # Unseen terms get a high weight: a question about something no article names is unanswerable.
        return {t: (self.idf(t) or 8.0) for t in terms}

    def support(self, question: str, sources: list[RetrievedParagraph]) -> float:
        info = self.analyse(question)
        weights = self._weights(info.terms)
        total = sum(weights.values()) or 1.0
        best = 0.0
        for para in sources[: self.max_sources]:
            have = set(self.tokenize(f"{para.title} {para.heading or ''} {para.text}"))
            best = max(best, sum(w for t, w in weights.items() if t in have) / total)
        return best

    def draft(self, question: str, sources: list[RetrievedParagraph]) -> Draft:
        info = self.analyse(question)
        weights = self._weights(info.terms)
        total = sum(weights.values()) or 1.0
        support = self.support(question, sources)
        if not sources or support < self.threshold:
            return Draft(abstain_reason="low_support", support=support)

        scored: list[tuple[float, int, int, int, set[str]]] = []
        for idx, para in enumerate(sources[: self.max_sources], start=1):
            context = set(self.tokenize(f"{para.title} {para.heading or ''}"))
            para_terms = set(self.tokenize(para.text))
            rank_prior = 0.15 / idx + 0.2 * max(para.dense_score or 0.0, 0.0)
            for s, e in sentence_spans(para.text):
                sent = para.text[s:e]
                if is_injection(sent):
                    continue
                have = set(self.tokenize(sent))
                cover = sum(w for t, w in weights.items() if t in have) / total
                ctx = sum(w for t, w in weights.items() if t not in have and (t in context or t in para_terms))
                score = cover + 0.3 * ctx / total + rank_prior + self._type_bonus(info.kind, sent)
                if info.kind == "how_many" and self._counts_asked_thing(sent, weights):
                    score += 0.3  # "3 berths" answers "how many berths"
                scored.append((score, idx, s, e, have & set(weights)))
        if not scored:
            return Draft(abstain_reason="no_sentences", support=support)
        scored.sort(key=lambda x: -x[0])
        chosen = [scored[0]]
        covered = set(scored[0][4])
        for cand in scored[1:]:
            if len(chosen) >= self.max_sentences:
                break
            new_terms = cand[4] - covered
            # A second sentence only when it adds question terms the first lacks (e.g. a second actor).
            if cand[0] >= 0.7 * chosen[0][0] and sum(weights[t] for t in new_terms) / total >= 0.15:
                chosen.append(cand)
                covered |= cand[4]
        claims = []
        for _, idx, s, e, _ in chosen:
            text = self._trim(info.kind, sources[idx - 1].text[s:e])
            claims.append(Claim(text=text, source=idx, quote=text))
        return Draft(claims=claims, support=support)

    def _counts_asked_thing(self, sentence: str, weights: dict[str, float]) -> bool:
        """A number directly before (within two words) a term of the question."""
        for m in _NUMBER_CUE.finditer(sentence):
            following = sentence[m.end():].split()[:2]
            if any(t in weights for w in following for t in self.tokenize(w)):
                return True
        return False

    @staticmethod
    def _type_bonus(kind: str, sentence: str) -> float:
        if kind == "when":
            return 0.25 if _DATE_CUE.search(sentence) else -0.1
        if kind == "how_many":
            return 0.25 if _NUMBER_CUE.search(sentence) else -0.1
        if kind == "where":
            return 0.15 if _PLACE_CUE.search(sentence) else 0.0
        if kind == "position":
            return 0.15 if _STANCE.search(sentence) else 0.0
        return 0.0

    @staticmethod
    def _trim(kind: str, sentence: str) -> str:
        """Drop a leading connective ("However, ") so the answer reads on its own; stays verbatim."""
        m = re.match(r"^(?:However|Meanwhile|Still|Yet|Instead|Also|Moreover|Furthermore|But|And),\s+", sentence)
        if m and len(sentence) - m.end() > 20:
            rest = sentence[m.end():]
            return rest
        return sentence
