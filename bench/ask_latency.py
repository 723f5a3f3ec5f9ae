"""`ask` latency per step (condense, retrieve, generate, verify, total): median and p95.

    python bench/ask_latency.py eval/gold/sample-test.jsonl --articles data/articles
    QA_INDEX_DIR=/tmp/bbc-index python bench/ask_latency.py QUESTIONS.jsonl   # an existing index
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from qa_service.config import Settings
from qa_service.service import build_service


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--articles", type=Path, nargs="*")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    settings = Settings(index_dir=Path(tmp.name)) if args.articles else Settings()
    service = build_service(settings)
    if args.articles:
        service.ingest(args.articles)
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    service.ask(questions[0])  # warm-up (BM25 cache, model)
    steps: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for q in questions:
            answer = service.ask(q, history=[])
            for step, seconds in answer.timings.items():
                steps.setdefault(step, []).append(seconds * 1000)
    print(json.dumps({"questions": len(questions) * args.repeat, "chunks": service.store.chunks.count(),
                      "ms": {s: {"median": round(statistics.median(v), 1), "p95": round(pct(v, 0.95), 1)}
                             for s, v in steps.items()}}, indent=2))


if __name__ == "__main__":
    main()
