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


class WordVectors:
    def __init__(self, table: np.ndarray, tokenizer: Any) -> None:
        self.table = table
        # A fast tokenizer is not safe across threads ("Already borrowed"): its own copy, one caller at a time.
        self.tokenizer = copy.deepcopy(tokenizer)
        self._lock = threading.Lock()
        self.vector = lru_cache(maxsize=200_000)(self._vector)
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

    def _vector(self, word: str) -> np.ndarray | None:
        with self._lock:
            ids = self.tokenizer(word[:40], add_special_tokens=False)["input_ids"]
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
        vecs = [v for v in (self.vector(c.lower()) for c in words) if v is not None]
        return np.stack(vecs) if vecs else None

    def best(self, word: str, candidates: tuple[str, ...]) -> float:
        """Highest cosine between `word` and any candidate word."""
        va = self.vector(word.lower())
        if va is None or not candidates:
            return 0.0
        m = self.matrix(candidates)
        return 0.0 if m is None else float(np.max(m @ va))
