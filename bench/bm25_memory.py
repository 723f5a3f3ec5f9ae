"""Memory of one replica's BM25 cache (issue 14: it stays per replica, rebuilt from Chroma).

    python bench/bm25_memory.py /work/shared/corpus/bbc --chunks 100000

Feeds LexicalIndex the corpus's paragraphs (cycled, each copy with its own id, until
--chunks) through a stand-in for the Chroma store, builds the snapshot the retriever reads,
and prints the process's resident memory before and after, the snapshot's parts, and the
on-disk cache. The chunk texts are what ingest indexes (paragraph text; header lines are
a few more tokens per chunk).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from qa_service.lexical import LexicalIndex
from qa_service.loaders import Failure, build_article, load_paths


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Records:
    def __init__(self, article_id: str) -> None:
        self.content_hash = "h"
        self.source = "BBC"


class Chunks:
    id = "bench"

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def get(self, ids: list[str], include: list[str]) -> dict[str, Any]:
        return {"ids": ids, "metadatas": [{"article_id": i.split("#")[0], "content_hash": "h"} for i in ids],
                "documents": [self.texts[i] for i in ids]}


class Store:
    """What LexicalIndex reads from ChromaStore: state, article records, chunk ids and texts."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.chunks = Chunks(texts)
        self.articles = {i.split("#")[0] for i in texts}

    def state(self) -> dict[str, Any]:
        return {"generation": "g1", "dirty": False}

    def article_records(self) -> dict[str, Records]:
        return {a: Records(a) for a in self.articles}

    def all_chunks(self, include_documents: bool = False) -> dict[str, Any]:
        ids = list(self.chunks.texts)
        return {"ids": ids, "metadatas": [{"article_id": i.split("#")[0], "content_hash": "h",
                                           "paragraph_id": i} for i in ids]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", type=Path, nargs="+")
    ap.add_argument("--chunks", type=int, default=100_000)
    args = ap.parse_args()
    raws = [r for r in load_paths(args.paths) if not isinstance(r, Failure)]
    paragraphs = [p.text for i, r in enumerate(raws) for p in build_article(r, f"a{i}").paragraphs]
    texts: dict[str, str] = {}
    per_article = 20
    for n in range(args.chunks):
        texts[f"a{n // per_article}#p{n % per_article}"] = paragraphs[n % len(paragraphs)]
    chars = sum(map(len, texts.values()))
    gc.collect()
    before = rss_mb()
    with tempfile.TemporaryDirectory() as cache:
        index = LexicalIndex(Store(texts), Path(cache))  # type: ignore[arg-type]
        started = time.perf_counter()
        snap = index.refresh(wait=True)
        built = time.perf_counter() - started
        del texts  # the stand-in's copy of the texts is not part of a replica's memory
        index.store = None  # type: ignore[assignment]
        gc.collect()
        after = rss_mb()
        disk = sum(f.stat().st_size for f in Path(cache).rglob("*") if f.is_file())
        assert snap.bm25 is not None
        vocab = len(snap.bm25.vocab_dict)
        nnz = int(snap.bm25.scores["data"].size)
        tokens = sum(len(t) for t in index._tokens.values())
        print(f"chunks {len(snap.ids):,} from {len(paragraphs):,} distinct paragraphs ({chars / 1e6:.1f} M chars)")
        print(f"build {built:.1f} s; vocabulary {vocab:,}; postings {nnz:,}; kept tokens {tokens:,}")
        print(f"resident memory {before:.0f} MB -> {after:.0f} MB: +{after - before:.0f} MB for the snapshot "
              f"(BM25 postings, chunk table, token cache); on-disk cache {disk / 1e6:.1f} MB")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
