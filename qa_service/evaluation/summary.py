"""Aggregate per-question results into summary.json. Uses only fields stored in results.jsonl,
so the summary can be recomputed from that file alone (tests do exactly that)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from qa_service.evaluation import metrics as m
from qa_service.evaluation.runner import RANK_CUTOFF, QuestionResult

WALL = "ask_wall"  # latency key for the wall clock measured around ask()


def retrieval_keys(k: int) -> list[str]:
    return [f"evidence_recall@{k}", f"all_evidence_hit@{k}", f"mrr@{RANK_CUTOFF}", f"ndcg@{RANK_CUTOFF}"]


def summarize_retrieval(results: Sequence[QuestionResult], k: int) -> dict[str, Any]:
    """Means over answerable questions with at least one evidence string."""
    scored = [r for r in results if r.answerable and r.scored_evidence]
    out: dict[str, Any] = {key: m.mean(r.metrics[key] for r in scored) for key in retrieval_keys(k)}
    depth = max((len(r.metrics["recall_curve"]) for r in scored), default=0)
    out["recall_curve"] = {
        str(i): m.mean(r.metrics["recall_curve"][i - 1] for r in scored) for i in range(1, depth + 1)
    }
    out["n_questions"] = len(scored)
    return out


def _latency(results: Sequence[QuestionResult]) -> dict[str, dict[str, float | int | None]]:
    series: dict[str, list[float]] = {WALL: [r.latency_s for r in results if r.latency_s is not None]}
    for r in results:
        for step, seconds in (r.metrics.get("timings") or {}).items():
            series.setdefault(step, []).append(seconds)
    return {
        step: {"median": m.percentile(values, 50), "p95": m.percentile(values, 95), "n": len(values)}
        for step, values in series.items()
    }


def _tokens(results: Sequence[QuestionResult]) -> dict[str, Any] | None:
    out = {}
    for key in ("prompt_tokens", "completion_tokens"):
        values = [r.metrics[key] for r in results if r.metrics.get(key) is not None]
        if values:
            out[key] = {"total": sum(values), "mean": sum(values) / len(values), "n": len(values)}
    return out or None


def _answers(results: Sequence[QuestionResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    yes_no = [r for r in answerable if r.metrics["yes_no"]]
    other = [r for r in answerable if not r.metrics["yes_no"]]
    return {
        "answer_match": m.mean(r.metrics["answer_match"] for r in answerable),
        "n_questions": len(answerable),
        "yes_no": {
            "answer_match": m.mean(r.metrics["answer_match"] for r in yes_no),
            "n_questions": len(yes_no),
        },
        "other": {
            "answer_match": m.mean(r.metrics["answer_match"] for r in other),
            "n_questions": len(other),
        },
    }


def _citations(results: Sequence[QuestionResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    n_citations = sum(r.metrics["n_citations"] for r in results)
    return {
        "citation_precision": m.mean(r.metrics["citation_precision"] for r in answerable),
        "citation_recall": m.mean(r.metrics["citation_recall"] for r in answerable),
        "quote_validity": m.safe_div(sum(r.metrics["n_valid_quotes"] for r in results), n_citations),
        "n_citations": n_citations,
        "n_questions_with_citations": sum(1 for r in answerable if r.metrics["n_citations"]),
    }


def calibration_bins(results: Sequence[QuestionResult], n_bins: int = 5) -> list[dict[str, float | int]]:
    """Questions binned by their support score (the answerability probability): how many were
    answerable in each bin. A calibrated score sits on the diagonal."""
    pairs = [(float(r.metrics["support_score"]), r.answerable) for r in results
             if r.metrics.get("support_score") is not None]
    bins = []
    for i in range(n_bins):
        lo, hi = i / n_bins, (i + 1) / n_bins
        inside = [(p, a) for p, a in pairs if lo <= p < hi or (i == n_bins - 1 and p >= 1.0)]
        if inside:
            bins.append({"from": lo, "to": hi, "n": len(inside),
                         "mean_score": sum(p for p, _ in inside) / len(inside),
                         "answerable": sum(a for _, a in inside) / len(inside)})
    return bins


def summarize(results: Sequence[QuestionResult], k: int) -> dict[str, Any]:
    """The full summary of an answering run (retrieval + citations + answers + cost)."""
    by_type: dict[str, Any] = {}
    for qtype in sorted({r.question_type or "untyped" for r in results}):
        group = [r for r in results if (r.question_type or "untyped") == qtype]
        retrieval = summarize_retrieval(group, k)
        by_type[qtype] = {
            "n_questions": len(group),
            **{key: retrieval[key] for key in retrieval_keys(k)},
            "answer_match": m.mean(r.metrics["answer_match"] for r in group if r.answerable),
            "abstention_rate": m.mean(1.0 if r.metrics["abstained"] else 0.0 for r in group),
        }
    support_from = Counter(r.metrics.get("support_score_from") for r in results)
    return {
        "k": k,
        "n_questions": len(results),
        "n_answerable": sum(1 for r in results if r.answerable),
        "n_unanswerable": sum(1 for r in results if not r.answerable),
        "n_errors": sum(1 for r in results if r.error),
        "retrieval_sources": dict(Counter(r.retrieval_source or "none" for r in results)),
        "retrieval": summarize_retrieval(results, k),
        "citations": _citations(results),
        "answers": _answers(results),
        "abstention": m.abstention_scores((r.answerable, r.metrics["abstained"]) for r in results),
        "latency_s": _latency(results),
        "tokens": _tokens(results),
        "support_score_from": {str(key): n for key, n in support_from.items()},
        "calibration": calibration_bins(results),
        "by_type": by_type,
    }
