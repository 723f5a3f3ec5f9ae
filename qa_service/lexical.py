"""BM25 over the committed chunks: a derived cache of what Chroma holds.

Rebuilt from Chroma's stored documents whenever the generation counter stored
with the collection differs from the one the cache was built at, so a crash, a
second replica or a shared Chroma server never leaves the two disagreeing.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from qa_service.store import ChromaStore

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional; BM25 still works unstemmed
        return None


@dataclass
class ChunkTable:
    """Committed chunks in a fixed order: row i of BM25 is ids[i]."""

    generation: int = -1
    ids: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    article_hash: dict[str, str] = field(default_factory=dict)  # article_id -> committed hash
    sources: dict[str, str] = field(default_factory=dict)  # lowercased source -> source


class LexicalIndex:
    def __init__(self, store: ChromaStore, cache_dir: Path | None) -> None:
        self.store = store
        self.cache_dir = cache_dir
        self.table = ChunkTable()
        self.bm25: bm25s.BM25 | None = None
        self.stemmer = _stemmer()
        self._lock = threading.Lock()

    def refresh(self) -> ChunkTable:
        """Make sure the cache matches Chroma's current generation; cheap when it does."""
        gen = self.store.generation()
        if gen == self.table.generation:
            return self.table
        with self._lock:
            if gen != self.table.generation and not self._load_cache(gen):
                self._rebuild(gen)
        return self.table

    def _rebuild(self, gen: int) -> None:
        records = self.store.article_records()
        committed = {aid: r.content_hash for aid, r in records.items()}
        raw = self.store.all_chunks()
        rows = [
            (i, m, d)
            for i, m, d in zip(raw["ids"], raw["metadatas"], raw["documents"], strict=True)
            if committed.get(m["article_id"]) == m.get("content_hash")
        ]
        table = ChunkTable(
            generation=gen,
            ids=[r[0] for r in rows],
            metas=[dict(r[1]) for r in rows],
            article_hash=committed,
            sources={r.source.lower(): r.source for r in records.values() if r.source},
        )
        bm25 = None
        if rows:
            tokens = bm25s.tokenize([r[2] for r in rows], stopwords="en", stemmer=self.stemmer, show_progress=False)
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        self.table, self.bm25 = table, bm25
        self._save_cache()
        log.info("BM25 index rebuilt at generation %d: %d chunks", gen, len(rows))

    def _save_cache(self) -> None:
        if self.cache_dir is None or self.bm25 is None:
            return
        try:
            tmp = self.cache_dir.with_name(self.cache_dir.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            self.bm25.save(str(tmp / "bm25"))
            t = self.table
            (tmp / "table.json").write_text(
                json.dumps({"generation": t.generation, "ids": t.ids, "metas": t.metas,
                            "article_hash": t.article_hash, "sources": t.sources})
            )
            import shutil

            shutil.rmtree(self.cache_dir, ignore_errors=True)
            tmp.rename(self.cache_dir)
        except OSError as exc:  # the cache is an optimisation only
            log.warning("could not save BM25 cache: %s", exc)

    def _load_cache(self, gen: int) -> bool:
        if self.cache_dir is None or not (self.cache_dir / "table.json").is_file():
            return False
        try:
            data = json.loads((self.cache_dir / "table.json").read_text())
            if data["generation"] != gen:
                return False
            self.bm25 = bm25s.BM25.load(str(self.cache_dir / "bm25"))
            self.table = ChunkTable(gen, data["ids"], data["metas"], data["article_hash"], data["sources"])
            return True
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 cache unreadable, rebuilding: %s", exc)
            return False

    def tokenize_query(self, text: str) -> list[str]:
        q = bm25s.tokenize([text], stopwords="en", stemmer=self.stemmer, show_progress=False)
        return bm25s.tokenization.convert_tokenized_to_string_list(q)[0]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a stemmed token (0 when unseen)."""
        if self.bm25 is None:
            return 0.0
        vocab = self.bm25.vocab_dict
        if token not in vocab:
            return 0.0
        n_docs = len(self.table.ids)
        df = self._doc_freq().get(vocab[token], 0)
        import math

        return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

    def _doc_freq(self) -> dict[int, int]:
        cached = getattr(self, "_df_cache", None)
        if cached is not None and cached[0] == self.table.generation:
            return cached[1]
        indptr = self.bm25.scores["indptr"]
        counts = np.diff(indptr)
        df = {int(i): int(c) for i, c in enumerate(counts)}
        self._df_cache = (self.table.generation, df)
        return df

    def search(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, score) best first; `allowed` is a boolean mask of rows passing the filters."""
        if self.bm25 is None or not self.table.ids:
            return []
        query_tokens = self.tokenize_query(query)
        if not query_tokens:
            return []
        # Score every row and mask: exact filtering without over-fetching guesses.
        scores = self.bm25.get_scores(query_tokens)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
