"""Parse and verify citations: every kept claim cites a retrieved paragraph that
holds its quote verbatim (after whitespace/quote normalisation).

Generators hand over a Draft: either structured claims (extractive) or raw text
with [n] markers and "quoted" spans (LLMs). A claim whose citation fails is
re-pointed to the retrieved paragraph that does hold it (repaired) or dropped
(removed); the counts go into the answer's diagnostics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from qa_service.models import Citation, RetrievedParagraph
from qa_service.safety import overlaps_flagged
from qa_service.text import REPORTED, STOP_WORDS, human_date, locate, normalize, reported, sentence_spans

_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_QUOTED = re.compile(r"[\"“]([^\"“”]{8,}?)[\"”]")
_WORD = re.compile(r"[a-z0-9]+")
# A claim without a verbatim quote is supported by a paragraph sentence when this
# share of its content words appears in that sentence.
SUPPORT_OVERLAP = 0.6
# A claim needs this many content words: a bare name or heading copied from a
# source is not a statement, even though it "stands" in the paragraph.
MIN_CLAIM_WORDS = 5
MAX_DATED_QUOTE = 2000  # a quote's dates are looked for in this much of it: bounded work


@dataclass
class Claim:
    text: str  # the sentence as shown to the user, without markers
    source: int  # 1-based index into the retrieved list
    quote: str | None = None  # the words that must stand in the source paragraph


@dataclass
class Draft:
    claims: list[Claim] = field(default_factory=list)
    raw_text: str | None = None  # LLM output still to be parsed
    abstain_reason: str | None = None
    support: float | None = None
    judgement: Any = None  # the answerability Judgement the draft was made under


@dataclass
class Verified:
    answer: str
    citations: list[Citation]
    diagnostics: dict[str, int]


def parse_raw(text: str, n_sources: int) -> list[Claim]:
    """Split LLM text into claims: each sentence with its [n] markers and quotes."""
    claims: list[Claim] = []
    text = re.sub(r"\s*\n+\s*", "\n", text.strip())
    # "A claim. [1] Next claim. [2]": small models put markers after the period; move them before it.
    text = re.sub(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)", r"\2\1", text)
    spans = [(ls + s, ls + e) for ls, le in _lines(text) for s, e in (sentence_spans(text[ls:le]) or [(0, le - ls)])]
    for s, e in spans:
        sentence = text[s:e].strip()
        markers = [int(x) for m in _MARKERS.finditer(sentence) for x in re.split(r"[,;]", m.group(1))]
        plain = _MARKERS.sub("", sentence).strip()
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if not plain:
            continue
        quotes = [q.strip() for q in _QUOTED.findall(plain)]
        if not markers:
            claims.append(Claim(text=plain, source=0, quote=quotes[0] if quotes else None))
            continue
        for n in dict.fromkeys(markers):
            claims.append(Claim(text=plain, source=n, quote=quotes[0] if quotes else None))
    return claims


def _lines(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for part in text.split("\n"):
        out.append((start, start + len(part)))
        start += len(part) + 1
    return [(a, b) for a, b in out if b > a]


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalize(text)) if w not in STOP_WORDS and len(w) > 1}


def stands_alone(text: str) -> bool:
    """Says enough to be a claim of its own: the verifier removes any with fewer content words."""
    return len(_content(text)) >= MIN_CLAIM_WORDS


def _best_sentence(claim: str, paragraph: str) -> tuple[float, tuple[int, int] | None]:
    words = _content(claim)
    if not words:
        return 0.0, None
    best: tuple[float, tuple[int, int] | None] = (0.0, None)
    for s, e in sentence_spans(paragraph):
        overlap = len(words & _content(paragraph[s:e])) / len(words)
        if overlap > best[0]:
            best = (overlap, (s, e))
    return best


def _find(claim: Claim, para: RetrievedParagraph) -> tuple[int, int] | None:
    """Offsets in para.text that back the claim: its quote verbatim, else a supporting sentence.

    Never inside an instruction-like sentence: planted instructions are data, not evidence."""
    hit = locate(claim.quote, para.text) if claim.quote else _find_unquoted(claim, para)
    if hit is not None and overlaps_flagged(para.text, *hit):
        return None
    return hit


def _find_unquoted(claim: Claim, para: RetrievedParagraph) -> tuple[int, int] | None:
    hit = locate(claim.text, para.text)
    if hit:
        return hit
    overlap, span = _best_sentence(claim.text, para.text)
    return span if overlap >= SUPPORT_OVERLAP else None


def _outside_quote_supported(claim: Claim, sources: list[RetrievedParagraph]) -> bool:
    """Do the claim's words outside its quote appear in some retrieved paragraph's sentence?"""
    rest = claim.text.replace(claim.quote or "", " ")
    published = sources[claim.source - 1].published if 1 <= claim.source <= len(sources) else None
    if published:
        # A dated answer's "Reported <day>:" is the cited article's own publication date.
        rest = rest.replace(reported(published), " ")
    if m := _DATE_PREFIX.match(rest.lstrip()):
        # A date opening is checked once the paragraph finally cited is known (_dated_as).
        rest = rest.lstrip()[m.end():]
    rest = re.sub(r"[\"“”]", " ", rest)
    words = _content(rest)
    if len(words) <= 2:  # "X said" / "according to" framing
        return True
    return any(_best_sentence(rest, s.text)[0] >= 0.5 for s in sources)


_DATE_PREFIX = re.compile(r"((?:[A-Z][a-z]+ \d{1,2}, )?\d{4}|[A-Z][a-z]+ \d{4}):\s")  # as text.human_date writes


_FUTURE = re.compile(r"\b(?:will|shall|is due|are due|is to|are to|plans? to|scheduled|expected to|next)\b",
                     re.IGNORECASE)


def quoted_dates(quote: str, published: str) -> set[str]:
    """The dates a quote states ("on Thursday", "in March", "2027"), resolved against the day its
    article was published and written as answers write them (text.human_date). "will meet on
    Thursday" is the Thursday after publication, "met on Thursday" the one before."""
    from qa_service.positions.dates import find_dates  # dateparser: loaded only when a claim is dated

    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return set()
    text = quote[:MAX_DATED_QUOTE]

    def tense(offset: int) -> str:
        return "future" if _FUTURE.search(text, max(0, offset - 60), offset) else "past"

    return {human_date(d.iso, d.precision) for d in find_dates(text, day, tense) if d.year_known}


def _dated_as(text: str, quote: str | None, cited: RetrievedParagraph) -> str:
    """A date opening ("October 10, 2024: ...") stays only if the quote states that date, as written
    or as the day it means counted from the publication of the article finally cited."""
    m = _DATE_PREFIX.match(text)
    if m is None:
        return text
    quote = quote or text[m.end():]
    if m.group(1) in quote or (cited.published and m.group(1) in quoted_dates(quote, cited.published)):
        return text
    return text[m.end():]


_REPORTED_PREFIX = re.compile(rf"^{REPORTED} [A-Z][a-z]+ \d{{1,2}}, \d{{4}}:\s*")


def _reported_as(text: str, cited: RetrievedParagraph) -> str:
    """A "Reported <day>:" opening stays only if it is the day the cited article was published
    (a citation re-pointed to another paragraph, or a model's own date, would misdate the claim)."""
    m = _REPORTED_PREFIX.match(text)
    if m is None:
        return text
    wanted = reported(cited.published) if cited.published else None
    return text if wanted is not None and text.startswith(wanted) else text[m.end():]


def sentences(claims: list[Claim]) -> list[list[Claim]]:
    """Consecutive claims with the same text are one sentence citing several sources."""
    groups: list[list[Claim]] = []
    for claim in claims:
        if groups and groups[-1][0].text == claim.text:
            groups[-1].append(claim)
        else:
            groups.append([claim])
    return groups


class Verifier:
    """Verifies an answer one sentence at a time, so a stream can release each sentence
    as soon as it is verified: the final answer is exactly the released sentences joined."""

    def __init__(self, sources: list[RetrievedParagraph]) -> None:
        self.sources = sources
        self.parts: list[str] = []
        self.citations: list[Citation] = []
        self.diagnostics = {"claims": 0, "citations_verified": 0, "citations_repaired": 0,
                            "citations_removed": 0, "claims_removed": 0}
        self._marker_of: dict[tuple[int, int, int], int] = {}
        self._kept_texts: set[str] = set()

    @property
    def answer(self) -> str:
        return " ".join(self.parts)

    def result(self) -> Verified:
        return Verified(answer=self.answer, citations=list(self.citations), diagnostics=dict(self.diagnostics))

    def add_sentence(self, claims: list[Claim]) -> str | None:
        """The sentence as the answer shows it (with its [n] markers), or None when nothing of it stands."""
        diag = self.diagnostics
        diag["claims"] += len(claims)
        hits: list[tuple[int, int, int]] = []
        text: str | None = None
        for claim in claims:
            found = self._check(claim)
            if found is None:
                continue
            text, hit = found
            hits.append(hit)
        if text is None or not hits:
            diag["claims_removed"] += 1
            return None
        if text in self._kept_texts:  # a repeated sentence adds nothing
            return None
        self._kept_texts.add(text)
        marks: list[int] = []
        for source, start, end in hits:
            key = (source, start, end)
            if key not in self._marker_of:
                para = self.sources[source - 1]
                self._marker_of[key] = len(self.citations) + 1
                self.citations.append(Citation(
                    marker=self._marker_of[key], article_id=para.article_id, paragraph_id=para.paragraph_id,
                    title=para.title, paragraph_text=para.text, quote=para.text[start:end],
                    start=start, end=end, source=para.source, published=para.published, heading=para.heading,
                ))
            if self._marker_of[key] not in marks:
                marks.append(self._marker_of[key])
        body = text.rstrip()
        tail = ""
        if body and body[-1] in ".!?":
            body, tail = body[:-1], body[-1]
        rendered = f"{body} {''.join(f'[{m}]' for m in marks)}{tail}"
        self.parts.append(rendered)
        return rendered

    def _check(self, claim: Claim) -> tuple[str, tuple[int, int, int]] | None:
        """(the claim's text as kept, (source, start, end)) or None when it cannot be verified."""
        diag = self.diagnostics
        sources = self.sources
        if len(_content(claim.quote or claim.text)) < MIN_CLAIM_WORDS and len(_content(claim.text)) < MIN_CLAIM_WORDS:
            diag["citations_removed"] += 1 if claim.source else 0
            return None
        if claim.quote and claim.text != claim.quote and not _outside_quote_supported(claim, sources):
            # The quote stands but the rest of the sentence says more than any source:
            # keep only what the source says, verbatim.
            claim = Claim(text=claim.quote, source=claim.source, quote=claim.quote)
            diag["claims_trimmed"] = diag.get("claims_trimmed", 0) + 1
        hit = None
        source = claim.source
        if 1 <= source <= len(sources):
            hit = _find(claim, sources[source - 1])
            if hit:
                diag["citations_verified"] += 1
        if hit is None:
            # Re-point to the retrieved paragraph that holds it, if any.
            for i, para in enumerate(sources, start=1):
                if i != claim.source and (found := _find(claim, para)):
                    hit, source = found, i
                    diag["citations_repaired" if claim.source else "citations_verified"] += 1
                    break
        if hit is None:
            if claim.source:
                diag["citations_removed"] += 1
            return None
        cited = sources[source - 1]
        return _reported_as(_dated_as(claim.text, claim.quote, cited), cited), (source, *hit)


def draft_claims(draft: Draft, n_sources: int) -> list[Claim]:
    return draft.claims if draft.raw_text is None else parse_raw(draft.raw_text, n_sources)


def verify(draft: Draft, sources: list[RetrievedParagraph]) -> Verified:
    verifier = Verifier(sources)
    for group in sentences(draft_claims(draft, len(sources))):
        verifier.add_sentence(group)
    return verifier.result()
