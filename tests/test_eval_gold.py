"""CI regression gate: the project's gold test set on the bundled sample corpus.

Thresholds sit a little below the values measured when they were set (see
docs/evaluation.md), so a real regression fails the build while run-to-run noise does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QA = Path(sys.executable).parent / "qa"
pytestmark = pytest.mark.slow


def _env(index_dir: Path) -> dict[str, str]:
    """The caller's environment without QA_* settings, pointing the configured index elsewhere."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("QA_")}
    return env | {"QA_INDEX_DIR": str(index_dir)}


# Measured 2026-11-29 with `qa eval eval/gold/sample-test.jsonl --articles data/articles --json`
# (extractive generator, the fitted answerability model with its topic feature): recall@10 1.0,
# quote validity 1.0, answer match 0.90, abstention F1 0.778 (7 of 10 near misses refused, one
# answerable question refused; 0.706 and 6 of 10 before the money answer type). The old word-overlap gate scored 0.778 F1 on this set but
# refused 26 of 28 readers' paraphrases; see README "Answerability figures".
THRESHOLDS = {
    ("retrieval", "evidence_recall@10"): 0.95,
    ("citations", "quote_validity"): 1.0,
    ("answers", "answer_match"): 0.85,
    ("abstention", "f1"): 0.70,  # one refusal below the measured 7 of 10 (0.706); two below fails
}


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("gold")
    proc = subprocess.run(
        [
            str(QA),
            "eval",
            str(ROOT / "eval" / "gold" / "sample-test.jsonl"),
            "--articles",
            str(ROOT / "data" / "articles"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=home,
        env=_env(home / "unused-index"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_gold_set_is_valid(summary: dict) -> None:
    assert summary["invalid_lines"] == []
    assert summary["n_errors"] == 0
    assert summary["n_unanswerable"] > 0  # abstention F1 needs unanswerable questions


@pytest.mark.parametrize(("section", "metric"), list(THRESHOLDS))
def test_metric_above_threshold(summary: dict, section: str, metric: str) -> None:
    value = summary[section][metric]
    assert value is not None and value >= THRESHOLDS[(section, metric)], f"{section}.{metric} = {value}"
