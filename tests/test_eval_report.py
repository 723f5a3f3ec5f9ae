"""Report writing with a fake service: files exist and summary.json is recomputable from results.jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_fakes import FakeService

from qa_service.config import Settings
from qa_service.evaluation import EvalOptions, run_evaluation
from qa_service.evaluation.report import read_results
from qa_service.evaluation.runner import score_result
from qa_service.evaluation.summary import summarize

ROWS = [
    {
        "id": "q1",
        "question": "How much did the chancellor raise the fuel tax?",
        "answers": ["two pence"],
        "evidence": ["raised the tax on fuel by \u201ctwo pence\u201d"],
        "answerable": True,
        "question_type": "fact",
    },
    {
        "id": "q2",
        "question": "Who scored the winning goal in the cup final?",
        "answers": ["Smith"],
        "evidence": ["The winning goal was scored by Smith", "United won the cup final 2\u20131", "gales"],
        "answerable": True,
        "question_type": "fact",
    },
    {
        "id": "q3",
        "question": "Did United win the cup final?",
        "answers": ["Yes"],
        "evidence": ["United won the cup final"],
        "answerable": True,
        "question_type": "yesno",
    },
    {
        "id": "q4",
        "question": "What is the price of bananas in Peru?",
        "answers": ["Insufficient information."],
        "evidence": [],
        "answerable": False,
        "question_type": "null",
    },
    {
        "id": "q5",
        "question": "Which storm warning was issued for the west coast?",
        "answers": ["gales"],
        "evidence": [],
        "answerable": False,
        "question_type": "null",
    },
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    lines = [json.dumps(row) for row in ROWS] + ['{"id": "broken"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _close(a: Any, b: Any) -> bool:
    """Deep equality with float tolerance (summary values are floats from the same arithmetic)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-12
    return a == b


def test_writes_all_outputs_and_summary_is_recomputable(tmp_path: Path, dataset: Path) -> None:
    out = tmp_path / "out"
    outcome = run_evaluation(
        EvalOptions(dataset=dataset, out=out, k=3, compare=True, progress=False),
        Settings(index_dir=tmp_path / "index"),
        FakeService,
    )
    for name in [
        "summary.json",
        "results.jsonl",
        "report.md",
        "report.html",
        "recall_at_k.png",
        "scores.png",
        "calibration.png",
        "latency.png",
        "by_type.png",
        "compare/bm25.jsonl",
        "compare/dense.jsonl",
        "compare/hybrid.jsonl",
    ]:
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["invalid_lines"][0]["line"] == 6
    assert summary["n_questions"] == 5
    assert set(summary["compare"]) == {"bm25", "dense", "hybrid", "hybrid-no-news-signals"}
    assert "evidence recall@k" in (out / "report.md").read_text()
    assert "<img src='recall_at_k.png'" in (out / "report.html").read_text()

    # Recompute per-question metrics from the stored raw material, then the whole summary.
    results = read_results(out / "results.jsonl")
    for result in results:
        assert _close(score_result(result), result.metrics)
    recomputed = json.loads(json.dumps(summarize(results, summary["k"])))
    stored = {key: value for key, value in summary.items() if key in recomputed}
    assert _close(recomputed, stored)
    assert outcome.summary["retrieval"] == summary["retrieval"]


def test_independent_recomputation_of_headline_metrics(tmp_path: Path, dataset: Path) -> None:
    """Recompute recall@k, MRR, quote validity and abstention straight from results.jsonl text."""
    out = tmp_path / "out"
    run_evaluation(
        EvalOptions(dataset=dataset, out=out, k=1, progress=False), Settings(index_dir=tmp_path), FakeService
    )
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())

    def norm(s: str) -> str:
        return " ".join(
            s.replace("\u201c", '"').replace("\u201d", '"').replace("\u2013", "-").split()
        ).lower()

    recalls, rrs = [], []
    for row in rows:
        if not row["answerable"]:
            continue
        texts = [norm(p["text"]) for p in row["retrieved"]]
        ev = [norm(e) for e in row["evidence"]]
        recalls.append(sum(any(e in t for t in texts[:1]) for e in ev) / len(ev))
        first = next((i for i, t in enumerate(texts[:10], 1) if any(e in t for e in ev)), None)
        rrs.append(1 / first if first else 0.0)
    assert summary["retrieval"]["evidence_recall@1"] == pytest.approx(sum(recalls) / len(recalls))
    assert summary["retrieval"]["mrr@10"] == pytest.approx(sum(rrs) / len(rrs))
    # q2's "gales" evidence sits in a paragraph the fake ranks low: recall@1 is below 1.
    assert summary["retrieval"]["evidence_recall@1"] < 1.0
    cites = [c for row in rows for c in (row["answer"] or {}).get("citations", [])]
    assert summary["citations"]["quote_validity"] == 1.0
    assert all(c["paragraph_text"][c["start"] : c["end"]] == c["quote"] for c in cites)
    # q4 abstains (true positive); q5 is unanswerable but answered (false negative).
    assert summary["abstention"]["tp"] == 1 and summary["abstention"]["fn"] == 1
    assert summary["abstention"]["recall"] == 0.5


def test_broken_quotes_lower_quote_validity(tmp_path: Path, dataset: Path) -> None:
    outcome = run_evaluation(
        EvalOptions(dataset=dataset, progress=False),
        Settings(index_dir=tmp_path),
        lambda s: FakeService(s, broken_quote=True),
    )
    assert outcome.summary["citations"]["quote_validity"] == 0.0
    assert outcome.summary["answers"]["yes_no"]["answer_match"] == 0.0  # the fake never says yes/no
