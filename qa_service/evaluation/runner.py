"""Run a dataset through a QAService and score every question from what it really returned."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, Field

from qa_service.evaluation import metrics as m
from qa_service.evaluation.dataset import EvalQuestion
from qa_service.models import Answer, RetrievedParagraph

# MRR and nDCG are defined at a fixed cutoff of 10 whatever --k is.
RANK_CUTOFF = 10
# Diagnostics keys the answering chain may fill (first present wins) for the score plot.
SUPPORT_KEYS = ("support_score", "support", "max_support")


class SearchesAndAsks(Protocol):
    def search(self, query: str, k: int = 8, filters: Any = None) -> list[RetrievedParagraph]: ...

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: Any = None) -> Answer: ...


class RetrievedRecord(BaseModel):
    rank: int
    paragraph_id: str
    article_id: str
    title: str
    text: str
    score: float
    source: str | None = None
    published: str | None = None
    held_evidence: list[int] = Field(default_factory=list)  # indices into scored_evidence


class QuestionResult(BaseModel):
    """One line of results.jsonl: the question, the raw material and every per-question metric."""

    id: str
    question: str
    question_type: str | None = None
    answers: list[str]
    evidence: list[str]
    scored_evidence: list[str]  # `evidence` deduplicated after normalisation; metrics use this
    answerable: bool
    extra: dict[str, Any] = Field(default_factory=dict)
    k: int
    retrieval_source: str | None = None  # "ask" (Answer.retrieved) or "search" (service.search)
    retrieval_query: str | None = None
    retrieved: list[RetrievedRecord] = Field(default_factory=list)
    answer: dict[str, Any] | None = None  # Answer.model_dump() without its `retrieved` list
    context_paragraph_ids: list[str] = Field(default_factory=list)  # Answer.retrieved, in order
    latency_s: float | None = None  # wall clock around ask()
    error: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)


def depth_for(k: int) -> int:
    return max(k, RANK_CUTOFF)


def retrieval_metrics(held: Sequence[Sequence[int]], n_evidence: int, k: int) -> dict[str, Any]:
    """Retrieval metrics of one ranked list (answerable questions with evidence; else all None)."""
    depth = depth_for(k)
    if n_evidence == 0:
        return {
            "evidence_ranks": [],
            "recall_curve": None,
            f"evidence_recall@{k}": None,
            f"all_evidence_hit@{k}": None,
            f"mrr@{RANK_CUTOFF}": None,
            f"ndcg@{RANK_CUTOFF}": None,
        }
    ranks = m.evidence_ranks(held, n_evidence)
    return {
        "evidence_ranks": ranks,
        "recall_curve": [m.recall_at_k(ranks, i) for i in range(1, depth + 1)],
        f"evidence_recall@{k}": m.recall_at_k(ranks, k),
        f"all_evidence_hit@{k}": m.all_hit_at_k(ranks, k),
        f"mrr@{RANK_CUTOFF}": m.mrr_at_k(ranks, RANK_CUTOFF),
        f"ndcg@{RANK_CUTOFF}": m.ndcg_at_k(held, n_evidence, RANK_CUTOFF),
    }


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def score_result(result: QuestionResult) -> dict[str, Any]:
    """Every per-question metric, computed only from the raw material stored in `result`."""
    evidence = result.scored_evidence if result.answerable else []
    held = [r.held_evidence for r in result.retrieved]
    out = retrieval_metrics(held, len(evidence), result.k)

    answer = result.answer or {}
    citations = answer.get("citations") or []
    valid = [m.quote_is_valid(c["paragraph_text"], c["quote"], c["start"], c["end"]) for c in citations]
    # Distinct cited paragraphs, in citation order.
    cited: dict[str, str] = {}
    for c in citations:
        cited.setdefault(c["paragraph_id"], c["paragraph_text"])
    text = answer.get("answer") or ""
    abstained = bool(answer.get("abstained", False))
    diagnostics = answer.get("diagnostics") or {}
    support = next((_number(diagnostics[key]) for key in SUPPORT_KEYS if key in diagnostics), None)
    support_from = next((key for key in SUPPORT_KEYS if key in diagnostics), None)
    if support is None and result.context_paragraph_ids and result.retrieved:
        support, support_from = result.retrieved[0].score, "top_retrieval_score"
    out.update(
        {
            "n_citations": len(citations),
            "n_valid_quotes": sum(valid),
            "quote_validity": m.safe_div(sum(valid), len(valid)),
            "n_cited_paragraphs": len(cited),
            "citation_precision": m.citation_precision(list(cited.values()), evidence)
            if result.answerable
            else None,
            "citation_recall": m.citation_recall(list(cited.values()), evidence)
            if result.answerable
            else None,
            "yes_no": m.is_yes_no(result.answers),
            "polarity": m.polarity(text),
            # An abstention never matches, even when its text names candidate answers.
            "answer_match": (1.0 if not abstained and m.answer_match(text, result.answers) else 0.0)
            if result.answerable
            else None,
            "abstained": abstained,
            "should_abstain": not result.answerable,
            "support_score": support,
            "support_score_from": support_from,
            "timings": {key: float(v) for key, v in (answer.get("timings") or {}).items()},
            "prompt_tokens": _number(diagnostics.get("prompt_tokens")),
            "completion_tokens": _number(diagnostics.get("completion_tokens")),
        }
    )
    return out


def to_records(paragraphs: Sequence[RetrievedParagraph], evidence: Sequence[str]) -> list[RetrievedRecord]:
    held = m.held_evidence([p.text for p in paragraphs], evidence)
    return [
        RetrievedRecord(
            rank=rank,
            paragraph_id=p.paragraph_id,
            article_id=p.article_id,
            title=p.title,
            text=p.text,
            score=p.score,
            source=p.source,
            published=p.published,
            held_evidence=h,
        )
        for rank, (p, h) in enumerate(zip(paragraphs, held, strict=True), start=1)
    ]


def _base(question: EvalQuestion, k: int) -> QuestionResult:
    return QuestionResult(
        id=question.id,
        question=question.question,
        question_type=question.question_type,
        answers=question.answers,
        evidence=question.evidence,
        scored_evidence=m.unique_evidence(question.evidence),
        answerable=question.answerable,
        extra=question.extra,
        k=k,
    )


def run_question(service: SearchesAndAsks, question: EvalQuestion, k: int) -> QuestionResult:
    """Ask one question. Retrieval is scored on Answer.retrieved when it holds at least
    max(k, 10) paragraphs, else on service.search(standalone question, max(k, 10))."""
    result = _base(question, k)
    depth = depth_for(k)
    answer: Answer | None = None
    started = time.perf_counter()
    try:
        answer = service.ask(question.question)
    except Exception as exc:  # noqa: BLE001 - one failing question must not stop the run
        result.error = f"ask: {type(exc).__name__}: {exc}"
    result.latency_s = time.perf_counter() - started

    if answer is not None:
        result.answer = answer.model_dump(mode="json", exclude={"retrieved"})
        result.context_paragraph_ids = [p.paragraph_id for p in answer.retrieved]
    query = (answer.standalone_question if answer else None) or question.question
    if answer is not None and len(answer.retrieved) >= depth:
        result.retrieval_source, ranked = "ask", answer.retrieved[:depth]
    else:
        result.retrieval_source = "search"
        try:
            ranked = service.search(query, k=depth)[:depth]
        except Exception as exc:  # noqa: BLE001
            ranked = []
            result.error = (
                result.error + "; " if result.error else ""
            ) + f"search: {type(exc).__name__}: {exc}"
    result.retrieval_query = query
    result.retrieved = to_records(ranked, result.scored_evidence)
    result.metrics = score_result(result)
    return result


def run_dataset(
    service: SearchesAndAsks,
    questions: Sequence[EvalQuestion],
    k: int,
    on_done: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    results = []
    for question in questions:
        result = run_question(service, question, k)
        results.append(result)
        if on_done:
            on_done(result)
    return results


def run_retrieval_only(
    service: SearchesAndAsks,
    questions: Sequence[EvalQuestion],
    k: int,
    on_done: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    """Search-only run for --compare: same scoring, no answering (answer stays None)."""
    results = []
    depth = depth_for(k)
    for question in questions:
        result = _base(question, k)
        started = time.perf_counter()
        try:
            ranked = service.search(question.question, k=depth)[:depth]
        except Exception as exc:  # noqa: BLE001
            ranked, result.error = [], f"search: {type(exc).__name__}: {exc}"
        result.latency_s = time.perf_counter() - started
        result.retrieval_source, result.retrieval_query = "search", question.question
        result.retrieved = to_records(ranked, result.scored_evidence)
        result.metrics = retrieval_metrics(
            [r.held_evidence for r in result.retrieved],
            len(result.scored_evidence) if result.answerable else 0,
            k,
        )
        results.append(result)
        if on_done:
            on_done(result)
    return results
