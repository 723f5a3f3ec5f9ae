"""The int8 ONNX encoder option (QA_EMBEDDING_MODEL=onnx-int8:all-MiniLM-L6-v2), real model, offline."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.embeddings import ONNX_INT8, SentenceTransformerEmbeddings
from qa_service.errors import IndexMismatchError
from qa_service.store import ChromaStore, make_client

TEXTS = [
    "NATO leaders met in Brussels on December 3 to discuss military aid to Ukraine.",
    "Coffee futures rose sharply after a frost damaged crops in Brazil.",
    "The striker scored twice as the home side won the cup final.",
]


@pytest.fixture(scope="module")
def int8(monkeypatch_module: pytest.MonkeyPatch) -> SentenceTransformerEmbeddings:
    # Loading must need no network: the ONNX file and the tokenizer both come from installed packages.
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch_module.setenv("TRANSFORMERS_OFFLINE", "1")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the ONNX encoder tried to open a network connection")

    monkeypatch_module.setattr(socket.socket, "connect", no_network)
    return SentenceTransformerEmbeddings.load(Settings(embedding_model=ONNX_INT8).embedding_model)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_int8_encoder_loads_offline_and_embeds(int8: SentenceTransformerEmbeddings) -> None:
    assert int8.name == ONNX_INT8 and int8.dimension == 384 and int8.max_seq_length == 256
    docs = np.array(int8.embed_documents(TEXTS))
    assert docs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = np.array(int8.embed_query("frost and coffee prices in Brazil"))
    assert int(np.argmax(docs @ query)) == 1
    # Bulk (ingest) path: same vectors as the query-sized path, in input order.
    bulk = int8.embed_array(TEXTS * 20, batch_size=7)
    assert np.allclose(bulk[:3], docs, atol=1e-4) and np.allclose(bulk[-3:], docs, atol=1e-4)


def test_int8_vectors_agree_with_the_fp32_model(int8: SentenceTransformerEmbeddings, embedder) -> None:
    fp32 = np.array(embedder.embed_documents(TEXTS))
    cosines = (np.array(int8.embed_documents(TEXTS)) * fp32).sum(axis=1)
    assert cosines.min() > 0.99  # int8 weights: close to, not equal to, the fp32 vectors


def test_an_index_built_by_one_encoder_refuses_the_other(tmp_path) -> None:
    client = make_client(tmp_path, None)
    ChromaStore(client, "paragraphs", "packaged:all-MiniLM-L6-v2").bump_generation()
    with pytest.raises(IndexMismatchError, match="onnx-int8"):
        ChromaStore(client, "paragraphs", ONNX_INT8).check_model()
