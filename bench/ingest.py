"""Ingest throughput against the raw encode rate, on the same texts, in the same run.

    python bench/ingest.py /work/shared/corpus/bbc [--limit N]

1. Parse and chunk the corpus (as ingest does) to get the exact texts it embeds.
2. Time SentenceTransformer.encode on those texts alone (the raw rate).
3. Time a full `ingest` into a fresh index (parse, chunk, embed, write Chroma),
   with the positions layer off and, separately, on: extracted in the ingest's own thread
   (positions_processes=0) and in a worker process beside the embedding (=1, the default).
4. Time a second ingest of the unchanged corpus (should do no embedding).
Prints paragraphs/s for each and the pipeline's overhead over raw encode.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from qa_service.chunking import Chunker
from qa_service.config import Settings
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.loaders import Failure, build_article, load_paths
from qa_service.service import build_service


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", type=Path, nargs="+")
    ap.add_argument("--with-positions", action="store_true", help="also time ingest with the positions layer")
    args = ap.parse_args()
    settings = Settings()
    embedder = SentenceTransformerEmbeddings.from_settings(settings)
    chunker = Chunker(embedder.tokenizer, settings.chunk_max_tokens, settings.chunk_overlap_tokens,
                      embedder.max_seq_length, settings.header_in_index)
    t = time.perf_counter()
    raws = [r for r in load_paths(args.paths) if not isinstance(r, Failure)]
    articles = [build_article(r, f"a{i}") for i, r in enumerate(raws)]
    texts = [c.index_text for a in articles for c in chunker.chunk_article(a)]
    paragraphs = sum(len(a.paragraphs) for a in articles)
    parse_s = time.perf_counter() - t

    embedder.embed_documents(texts[:64])  # warm-up
    t = time.perf_counter()
    embedder.model.encode(texts, batch_size=settings.embed_batch_size, normalize_embeddings=True)
    raw_s = time.perf_counter() - t

    out = {"articles": len(articles), "paragraphs": paragraphs, "chunks": len(texts),
           "parse_chunk_s": round(parse_s, 2), "raw_encode_s": round(raw_s, 2),
           "raw_encode_paragraphs_per_s": round(paragraphs / raw_s, 1)}
    runs = [("ingest", False, 0)]
    if args.with_positions:
        runs += [("ingest_with_positions_in_thread", True, 0), ("ingest_with_positions_worker", True, 1)]
    for name, positions, processes in runs:
        with tempfile.TemporaryDirectory() as tmp:
            s = Settings(index_dir=Path(tmp), positions_enabled=positions, positions_processes=processes)
            service = build_service(s, embedder=embedder)
            t = time.perf_counter()
            report = service.ingest(args.paths)
            first = time.perf_counter() - t
            t = time.perf_counter()
            again = service.ingest(args.paths)
            second = time.perf_counter() - t
            out[f"{name}_s"] = round(first, 2)
            out[f"{name}_paragraphs_per_s"] = round(report.paragraphs / first, 1)
            out[f"{name}_overhead_vs_raw_encode"] = round(first / raw_s - 1, 3)
            out[f"{name}_failed"] = len(report.failed)
            out[f"{name}_reingest_s"] = round(second, 2)
            out[f"{name}_reingest_chunks_embedded"] = again.chunks
            out[f"{name}_reingest_fraction"] = round(second / first, 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
