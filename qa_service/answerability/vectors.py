"""Soft word matching from the embedding model's own input word-piece vectors.

Static vectors are free (a table look-up, no forward pass), so every word of every
candidate sentence can be compared with the question's words within the latency
budget. They place "talks" near "negotiations" and "power" near "energy"; names
are never matched this way (Germany is near Sweden too).
"""

from __future__ import annotations

import copy
import threading
from functools import lru_cache
from typing import Any

import numpy as np

_MISSING = object()


class WordVectors:
    def __init__(self, table: np.ndarray, tokenizer: Any, max_words: int = 200_000) -> None:
        self.table = table
        # A fast tokenizer is not safe across threads ("Already borrowed"): its own copy, one caller at a time.
        self.tokenizer = copy.deepcopy(tokenizer)
        # Its Rust tokenizer, called directly: the same word pieces (normalising included) without the
        # Python wrapper's overhead, 0.47 -> 0.21 ms a sentence's words.
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        self._encode_batch = getattr(backend, "encode_batch", None)
        if backend is not None and self._encode_batch is not None:
            # The wrapper sets padding and truncation per call; the copy may still hold the encoder's.
            backend.no_padding()
            backend.no_truncation()
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray | None] = {}  # word -> unit vector, kept across questions
        self.max_words = max_words
        # A sentence's word matrix, shared by every question that retrieves its paragraph.
        self.matrix = lru_cache(maxsize=8192)(self._matrix)

    @classmethod
    def from_sentence_transformer(cls, model: Any) -> WordVectors | None:
        """None for a model that is not a transformer (the tests' fake embedder)."""
        try:
            auto = model[0].auto_model
            table = auto.embeddings.word_embeddings.weight.detach().cpu().numpy().astype(np.float32)
            return cls(table, model.tokenizer)
        except (AttributeError, TypeError, IndexError, KeyError):
            return None

    def vectors(self, words: list[str]) -> list[np.ndarray | None]:
        """Each (lower-case) word's vector; the words not seen before go to the tokenizer in one call
        (a paragraph's new words one call each were a third of the judgement's first-sight time)."""
        cache = self._vectors
        found: dict[str, np.ndarray | None] = {}
        for w in words:  # one read per word: another thread may clear the cache in between
            try:
                found[w] = cache[w]
            except KeyError:
                pass
        missing = list(dict.fromkeys(w for w in words if w not in found))
        if missing:
            with self._lock:  # the tokenizer only
                ids = self._word_pieces([w[:40] for w in missing])
            fresh = dict(zip(missing, (self._unit(word_ids) for word_ids in ids), strict=True))
            if len(cache) + len(missing) > self.max_words:
                cache.clear()  # bounded memory on any corpus
            cache.update(fresh)
            found.update(fresh)
        return [found[w] for w in words]

    def _word_pieces(self, words: list[str]) -> list[list[int]]:
        if self._encode_batch is not None:
            return [e.ids for e in self._encode_batch(words, add_special_tokens=False)]
        return list(self.tokenizer(words, add_special_tokens=False)["input_ids"])

    def vector(self, word: str) -> np.ndarray | None:
        v = self._vectors.get(word, _MISSING)
        return self.vectors([word])[0] if v is _MISSING else v  # type: ignore[return-value]

    def _unit(self, ids: list[int]) -> np.ndarray | None:
        if not ids:
            return None
        v = self.table[ids].mean(axis=0)
        n = float(np.linalg.norm(v))
        return v / n if n else None

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.vector(a.lower()), self.vector(b.lower())
        if va is None or vb is None:
            return 0.0
        return float(va @ vb)

    def _matrix(self, words: tuple[str, ...]) -> np.ndarray | None:
        vecs = [v for v in self.vectors([c.lower() for c in words]) if v is not None]
        return np.stack(vecs) if vecs else None

    def best_each(self, words: list[str], candidates: tuple[str, ...]) -> list[float]:
        """Per word, its highest cosine with any candidate word (0 when either has no vector), all in
        one matrix product."""
        vecs = [self.vector(w.lower()) for w in words]
        m = self.matrix(candidates) if candidates else None
        known = [(i, v) for i, v in enumerate(vecs) if v is not None]
        out = [0.0] * len(words)
        if m is None or not known:
            return out
        sims = (m @ np.stack([v for _, v in known]).T).max(axis=0)
        for (i, _), sim in zip(known, sims, strict=True):
            out[i] = float(sim)
        return out
