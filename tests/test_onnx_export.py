"""Questions encoded by the packaged fp32 model exported to ONNX (onnx_export.py), with numpy kept off
its cores: real model, real export, offline; the cache, and torch kept whenever the export cannot be
trusted."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from qa_service import onnx_export
from qa_service.config import Settings
from qa_service.embeddings import (
    PACKAGED_PREFIX,
    OnnxSentenceEncoder,
    SentenceTransformerEmbeddings,
    resolve_model_path,
)
from tests.conftest import SEED

MODEL_DIR = Path(resolve_model_path(PACKAGED_PREFIX))


def _paragraphs() -> list[str]:
    return [p.strip() for p in SEED.read_text().split("\n\n") if len(p.strip()) > 40][:12]


def test_the_service_encodes_questions_on_onnx_with_torchs_vectors(embedder) -> None:
    """The embedder every service builds by default (Settings()): questions on onnxruntime, and each
    vector what torch gives for the same text, so an index built by torch is searched unchanged."""
    assert isinstance(embedder.query_model, OnnxSentenceEncoder)
    texts = [*_paragraphs(), "What did Rutte say about air defence?", "Ørsted"]
    onnx = np.array([embedder.embed_query(t) for t in texts])
    onnx_batch = np.array(embedder.embed_queries(texts[-3:]))  # one at a time inside: same vectors
    torch = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert (onnx * torch).sum(axis=1).min() > 0.9999
    assert np.allclose(onnx_batch, onnx[-3:], atol=1e-5)
    # Ingest stays on torch.
    assert embedder.bulk_model is not embedder.query_model


def test_export_is_cached_and_reused_offline(tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the export tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    first = onnx_export.query_encoder(MODEL_DIR, tmp_path, embedder.model)
    assert first is not None
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".onnx"]  # no temporary file left behind
    stamp = files[0].stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("exported again although the cached file is good")

    monkeypatch.setattr(onnx_export, "export", no_export)
    second = onnx_export.query_encoder(MODEL_DIR, tmp_path, embedder.model)
    assert second is not None and files[0].stat().st_mtime_ns == stamp
    text = "Coffee futures rose after a frost in Brazil."
    assert np.allclose(first.encode([text]), second.encode([text]), atol=1e-6)


def test_a_truncated_cache_file_is_exported_again(tmp_path: Path, embedder) -> None:
    target = tmp_path / f"minilm-fp32-{onnx_export.cache_key(MODEL_DIR)}.onnx"
    target.write_bytes(b"not an onnx graph")
    # An export under an older key, a killed export's temporary file, and one still being written.
    older, killed, writing = (tmp_path / "minilm-fp32-0123456789abcdef.onnx",
                              tmp_path / "minilm-fp32-0123.onnxk1.tmp", tmp_path / "minilm-fp32-0123.onnxk2.tmp")
    for f in (older, killed, writing):
        f.write_bytes(b"x")
    os.utime(killed, (time.time() - 3600, time.time() - 3600))
    encoder = onnx_export.query_encoder(MODEL_DIR, tmp_path, embedder.model)
    assert encoder is not None and target.stat().st_size > 1_000_000
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted([target.name, writing.name])
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)  # readable by the service's other users


def test_torch_is_kept_when_the_export_fails_or_disagrees(tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    def broken(model_dir: Path, target: Path) -> None:
        raise RuntimeError("no space left on device")

    monkeypatch.setattr(onnx_export, "export", broken)
    with caplog.at_level(logging.WARNING, logger="qa_service.onnx_export"):
        assert onnx_export.query_encoder(MODEL_DIR, tmp_path / "a", embedder.model) is None
    assert "no space left on device" in caplog.text and "torch" in caplog.text

    monkeypatch.undo()
    monkeypatch.setattr(onnx_export, "agrees", lambda encoder, model: 0.5)  # e.g. another model's weights
    with caplog.at_level(logging.WARNING, logger="qa_service.onnx_export"):
        assert onnx_export.query_encoder(MODEL_DIR, tmp_path / "b", embedder.model) is None
    assert "cosine 0.500000" in caplog.text


def test_the_setting_chooses_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def load(spec: str, batch_size: int = 64, bulk_batch_size: int = 32, separate_bulk: bool = True,
             onnx_cache: Path | None = None) -> None:
        seen["onnx_cache"] = onnx_cache

    monkeypatch.setattr(SentenceTransformerEmbeddings, "load", staticmethod(load))
    SentenceTransformerEmbeddings.from_settings(Settings(query_encoder="torch"))
    assert seen["onnx_cache"] is None
    SentenceTransformerEmbeddings.from_settings(Settings(model_cache_dir=Path("/somewhere")))
    assert seen["onnx_cache"] == Path("/somewhere")


def test_the_service_keeps_numpy_blas_to_one_thread(tmp_path: Path, embedder) -> None:
    """Idle OpenBLAS threads spin and take the cores the question encoder needs (service.limit_blas_threads)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from qa_service.service import build_service

    with threadpool_limits(limits=2, user_api="blas"):
        service = build_service(Settings(index_dir=tmp_path / "index", database_url=None), embedder=embedder)
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)
        service.database.dispose()
