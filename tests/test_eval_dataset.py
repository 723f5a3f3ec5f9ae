"""Dataset loading: valid lines kept, invalid ones reported by line number and skipped."""

from __future__ import annotations

import json
from pathlib import Path

from qa_service.evaluation.dataset import load_dataset

GOOD = {"id": "a", "question": "Q?", "answers": ["x"], "evidence": ["e"], "answerable": True}


def test_bad_lines_reported_by_number_and_skipped(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD | {"question_type": "inference_query", "source_note": "kept"}),
        "",  # blank lines are ignored, not errors
        "{not json",
        json.dumps([1, 2]),
        json.dumps({k: v for k, v in GOOD.items() if k != "evidence"} | {"id": "b"}),
        json.dumps(GOOD | {"id": "c", "answerable": "yes"}),
        json.dumps(GOOD | {"id": "d", "evidence": ["  "]}),
        json.dumps(GOOD),  # duplicate id "a"
        json.dumps(GOOD | {"id": 7}),
        json.dumps(GOOD | {"id": "e", "answerable": False, "evidence": [], "answers": []}),
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_dataset(path)
    assert [q.id for q in data.questions] == ["a", "e"]
    assert data.questions[0].question_type == "inference_query"
    assert data.questions[0].extra == {"source_note": "kept"}
    assert [bad.line for bad in data.invalid] == [3, 4, 5, 6, 7, 8, 9]
    reasons = {bad.line: bad.error for bad in data.invalid}
    assert "JSON" in reasons[3]
    assert "evidence" in reasons[5]
    assert "answerable" in reasons[6]
    assert "duplicate" in reasons[8]


def test_invalid_utf8_does_not_abort(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n\xff\xfe\n")
    data = load_dataset(path)
    assert len(data.questions) == 1 and [b.line for b in data.invalid] == [2]
