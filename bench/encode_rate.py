"""Encode rate of the fp32 (torch) and int8 (ONNX) MiniLM encoders on the same corpus texts.

    python bench/encode_rate.py /work/shared/corpus/bbc --limit 2000 --rounds 2

The encoders take turns (A B A B ...) so a busy machine slows both alike; each round
encodes the same paragraphs through the bulk (ingest) path. Prints texts/s per round,
the best round's ratio, and how close the two encoders' vectors are (cosine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qa_service.embeddings import ONNX_INT8, SentenceTransformerEmbeddings
from qa_service.loaders import Failure, build_article, load_paths

FP32 = "packaged:all-MiniLM-L6-v2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", type=Path, nargs="+")
    ap.add_argument("--limit", type=int, default=2000, help="paragraphs to encode")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    raws = [r for r in load_paths(args.paths) if not isinstance(r, Failure)]
    texts = [p.text for i, r in enumerate(raws) for p in build_article(r, f"a{i}").paragraphs][: args.limit]
    encoders = {spec: SentenceTransformerEmbeddings.load(spec, separate_bulk=False) for spec in (FP32, ONNX_INT8)}
    rates: dict[str, list[float]] = {spec: [] for spec in encoders}
    vectors: dict[str, np.ndarray] = {}
    for enc in encoders.values():
        enc.embed_array(texts[:64])  # warm-up
    for _ in range(args.rounds):
        for spec, enc in encoders.items():
            started = time.perf_counter()
            vectors[spec] = enc.embed_array(texts)
            rates[spec].append(len(texts) / (time.perf_counter() - started))
    cos = (vectors[FP32] * vectors[ONNX_INT8]).sum(axis=1)
    print(json.dumps({
        "texts": len(texts),
        "texts_per_s": {spec: [round(r, 1) for r in rs] for spec, rs in rates.items()},
        "int8_over_fp32_best": round(max(rates[ONNX_INT8]) / max(rates[FP32]), 2),
        "cosine_int8_fp32": {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)},
    }, indent=2))


if __name__ == "__main__":
    main()
