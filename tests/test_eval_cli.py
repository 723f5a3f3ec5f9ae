"""Integration: `qa eval` through the real CLI, real ingestion, embedder, Chroma and chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa_service.evaluation.report import read_results
from qa_service.evaluation.summary import summarize

ROOT = Path(__file__).resolve().parent.parent
QA = Path(sys.executable).parent / "qa"
pytestmark = pytest.mark.slow


def _env(index_dir: Path) -> dict[str, str]:
    """The caller's environment without QA_* settings, pointing the configured index elsewhere."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    return env | {"QA_INDEX_DIR": str(index_dir)}


def _dataset(tmp_path: Path) -> Path:
    """Three gold questions from the dev set plus one broken line."""
    lines = (ROOT / "eval" / "gold" / "sample-dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    picked = [r for r in rows if r["answerable"]][:2] + [r for r in rows if not r["answerable"]][:1]
    path = tmp_path / "small.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in picked) + '\n{"id": 1}\n', encoding="utf-8")
    return path


def test_qa_eval_cli_end_to_end(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    out = tmp_path / "out"
    user_index = tmp_path / "user-index"
    proc = subprocess.run(
        [
            str(QA),
            "eval",
            str(dataset),
            "--articles",
            str(ROOT / "data" / "articles"),
            "--json",
            "--out",
            str(out),
            "--compare",
            "--k",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=_env(user_index),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)  # stdout carries only the JSON summary
    assert summary["n_questions"] == 3
    assert summary["invalid_lines"][0]["line"] == 4
    assert summary["run"]["ingested_paragraphs"] > 0
    assert set(summary["compare"]) >= {"bm25", "dense", "hybrid"}
    assert summary["retrieval"]["evidence_recall@5"] is not None
    assert summary["citations"]["quote_validity"] in (1.0, None)
    assert not user_index.exists()  # --articles never touches the configured index
    for name in ["summary.json", "results.jsonl", "report.md", "report.html", "recall_at_k.png"]:
        assert (out / name).stat().st_size > 0
    results = read_results(out / "results.jsonl")
    recomputed = summarize(results, 5)
    assert recomputed["retrieval"] == summary["retrieval"]
    assert recomputed["abstention"] == summary["abstention"]
    assert all(r.retrieved and r.answer for r in results)


def test_qa_eval_says_what_is_wrong_with_its_inputs(tmp_path: Path) -> None:
    """A missing dataset is a usage error, not a traceback; articles that give no paragraph at all
    fail the run instead of scoring an empty index at 0.000."""
    missing = subprocess.run([str(QA), "eval", str(tmp_path / "missing.jsonl")], env=_env(tmp_path / "i1"),
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    empty = tmp_path / "no-articles"
    empty.mkdir()
    (empty / "broken.txt").write_bytes(b"\x00\x01\x02")
    run = subprocess.run([str(QA), "eval", str(_dataset(tmp_path)), "--articles", str(empty), "--json"],
                         env=_env(tmp_path / "i2"), capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-500:]
    assert "could not be ingested" in run.stderr and "nothing was evaluated" in run.stderr
