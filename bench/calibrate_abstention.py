"""Calibrate the abstention threshold on a dev gold set.

For every question the chain's support score (IDF-weighted share of the
question's terms found in the best retrieved paragraph) is computed with the
gate off; the threshold that best separates answerable from unanswerable
questions (max accuracy, ties -> the middle of the widest gap) is printed.

    python bench/calibrate_abstention.py eval/gold/sample-dev.jsonl --articles data/articles
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from qa_service.config import Settings
from qa_service.service import build_service


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--articles", type=Path, nargs="+", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = build_service(Settings(index_dir=Path(tmp), abstain_threshold=0.0))
        service.ingest(args.articles)
        rows = []
        for line in args.dataset.read_text().splitlines():
            q = json.loads(line)
            standalone = q["question"]
            retrieved = service.retriever.search(standalone, k=service.settings.top_k)
            support = service.extractive.support(standalone, retrieved)
            rows.append((support, bool(q["answerable"]), q["id"], q["question"]))
    rows.sort()
    best = None
    candidates = sorted({0.0, *[r[0] for r in rows], 1.01})
    for lo, hi in zip(candidates, candidates[1:], strict=False):
        t = (lo + hi) / 2
        correct = sum((s >= t) == ans for s, ans, *_ in rows)
        key = (correct, hi - lo)
        if best is None or key > best[0]:
            best = (key, t)
    for s, ans, qid, text in rows:
        print(f"{s:.3f} {'A' if ans else 'U'} {qid} {text[:80]}")
    (correct, _), t = best
    print(json.dumps({"threshold": round(t, 3), "accuracy": round(correct / len(rows), 3), "n": len(rows)}))


if __name__ == "__main__":
    main()
