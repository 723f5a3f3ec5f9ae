"""Evaluation metrics as pure functions. Definitions are documented in docs/evaluation.md.

Conventions: ranks are 1-based; a metric that is undefined for a question (e.g. recall
with no evidence, precision with nothing cited) is None and is left out of averages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from qa_service.text import fold

_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\[\d+\]")
_NON_WORD = re.compile(r"[^\w]+")
YES_NO = {"yes", "no"}


def normalize(text: str) -> str:
    """NFKC, curly quotes -> straight, dashes -> '-', whitespace collapsed, lower-cased (text.fold)."""
    return fold(text)


def holds(paragraph: str, evidence: str) -> bool:
    """A paragraph holds an evidence string when it contains it after normalisation."""
    needle = normalize(evidence)
    return bool(needle) and needle in normalize(paragraph)


def unique_evidence(evidence: Iterable[str]) -> list[str]:
    """Evidence strings deduplicated by their normalised form, first occurrence kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item in evidence:
        key = normalize(item)
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def held_evidence(paragraphs: Sequence[str], evidence: Sequence[str]) -> list[list[int]]:
    """For each paragraph in rank order, the indices of the evidence strings it holds."""
    needles = [normalize(e) for e in evidence]
    out = []
    for text in paragraphs:
        hay = normalize(text)
        out.append([i for i, needle in enumerate(needles) if needle and needle in hay])
    return out


def evidence_ranks(held: Sequence[Sequence[int]], n_evidence: int) -> list[int | None]:
    """Per evidence string, the 1-based rank of the first paragraph holding it (None: never)."""
    ranks: list[int | None] = [None] * n_evidence
    for rank, indices in enumerate(held, start=1):
        for i in indices:
            if ranks[i] is None:
                ranks[i] = rank
    return ranks


def recall_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of evidence strings held by at least one of the top k paragraphs."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def all_hit_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """1.0 when every evidence string is held within the top k, else 0.0."""
    if not ranks:
        return None
    return 1.0 if all(r is not None and r <= k for r in ranks) else 0.0


def mrr_at_k(ranks: Sequence[int | None], k: int = 10) -> float | None:
    """Reciprocal rank of the first paragraph holding any evidence string (0 if none in top k)."""
    if not ranks:
        return None
    found = [r for r in ranks if r is not None and r <= k]
    return 1.0 / min(found) if found else 0.0


def ndcg_at_k(held: Sequence[Sequence[int]], n_evidence: int, k: int = 10) -> float | None:
    """Binary-gain nDCG: a paragraph gains 1 when it holds an evidence string no higher-ranked
    paragraph held (so duplicates earn nothing). The ideal ranking puts one paragraph per
    evidence string at ranks 1..min(n_evidence, k)."""
    if n_evidence == 0:
        return None
    covered: set[int] = set()
    dcg = 0.0
    for rank, indices in enumerate(held[:k], start=1):
        new = set(indices) - covered
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            covered |= new
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_evidence, k) + 1))
    return dcg / ideal


def citation_precision(cited_paragraphs: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of distinct cited paragraphs holding some evidence string. None if nothing cited."""
    if not cited_paragraphs:
        return None
    good = sum(1 for indices in held_evidence(cited_paragraphs, evidence) if indices)
    return good / len(cited_paragraphs)


def citation_recall(cited_paragraphs: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of evidence strings held by some cited paragraph. None if there is no evidence."""
    if not evidence:
        return None
    held = {i for indices in held_evidence(cited_paragraphs, evidence) for i in indices}
    return len(held) / len(evidence)


def quote_is_valid(paragraph_text: str, quote: str, start: int, end: int) -> bool:
    """The quote stands verbatim at its offsets: paragraph_text[start:end] == quote (no normalisation)."""
    return 0 <= start <= end <= len(paragraph_text) and paragraph_text[start:end] == quote


def normalize_answer(text: str) -> str:
    """Answer text for matching: citation markers dropped, normalised, punctuation -> spaces."""
    text = normalize(_MARKER.sub(" ", text))
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def is_yes_no(gold_answers: Sequence[str]) -> bool:
    """A yes/no question: every gold answer normalises to the same 'yes' or 'no'."""
    norm = {normalize_answer(a) for a in gold_answers}
    return len(norm) == 1 and norm <= YES_NO


def polarity(answer: str) -> str | None:
    """'yes' or 'no' when the answer's first word is one of them, else None."""
    words = normalize_answer(answer).split(" ")
    return words[0] if words and words[0] in YES_NO else None


def answer_match(answer: str, gold_answers: Sequence[str]) -> bool:
    """Yes/no questions: the answer's polarity equals the gold one. Otherwise: the normalised
    answer contains some normalised gold answer as a whole-word sequence."""
    if not gold_answers:
        return False
    if is_yes_no(gold_answers):
        return polarity(answer) == normalize_answer(gold_answers[0])
    hay = f" {normalize_answer(answer)} "
    return any(f" {g} " in hay for g in (normalize_answer(a) for a in gold_answers) if g)


def safe_div(num: float, den: float) -> float | None:
    return num / den if den else None


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | int | None]:
    """Precision/recall/F1 of abstaining, from (answerable, abstained) pairs.

    Positive class = the question should be abstained on (answerable is False).
    Precision is None with no abstentions, recall None with no unanswerable questions,
    F1 = 2TP / (2TP + FP + FN), None only when both are empty."""
    tp = fp = fn = tn = 0
    for answerable, abstained in pairs:
        if abstained and not answerable:
            tp += 1
        elif abstained and answerable:
            fp += 1
        elif not abstained and not answerable:
            fn += 1
        else:
            tn += 1
    return {
        "precision": safe_div(tp, tp + fp),
        "recall": safe_div(tp, tp + fn),
        "f1": safe_div(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
