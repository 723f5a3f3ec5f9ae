"""Shared fixtures: the real embedding model and a real index over the sample corpus
(session-scoped: loaded once), plus fast fakes for unit tests."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from tests.chroma_server import chroma_server  # noqa: F401  (fixture: a real `chroma run` server)
from tests.postgres_server import postgres, postgres_url  # noqa: F401  (fixtures: a real PostgreSQL)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "articles"
FIXTURES = ROOT / "tests" / "fixtures" / "articles"
SHARED = ROOT.parent / "shared"
SEED = SAMPLES / "nato-ukraine-military-aid.txt"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def embedder():
    """The real packaged MiniLM model (loads in well under a second once cached)."""
    from qa_service.config import Settings
    from qa_service.embeddings import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings.from_settings(Settings())


@pytest.fixture(scope="session")
def sample_service(tmp_path_factory, embedder):
    """A real service (real model, real embedded Chroma) over the bundled sample corpus."""
    from qa_service.config import Settings
    from qa_service.service import build_service

    index = tmp_path_factory.mktemp("sample-index")
    service = build_service(Settings(index_dir=index), embedder=embedder)
    report = service.ingest([SAMPLES])
    assert not report.failed, report.failed
    return service


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for fast unit tests."""

    name = "fake-hash-embedder"
    dimension = 64
    max_seq_length = 256

    def __init__(self) -> None:
        from qa_service.embeddings import SentenceTransformerEmbeddings  # noqa: F401 (same interface)

        self.tokenizer = _WhitespaceTokenizer()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            v = np.zeros(self.dimension)
            for w in text.lower().split():
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dimension] += 1.0
            n = np.linalg.norm(v) or 1.0
            out.append((v / n).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class _WhitespaceTokenizer:
    """Mimics a HF fast tokenizer's call signature: one token per whitespace-separated word."""

    def __call__(self, text: str, add_special_tokens: bool = False, return_offsets_mapping: bool = False,
                 verbose: bool = True):
        import re

        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        out = {"input_ids": list(range(len(spans)))}
        if return_offsets_mapping:
            out["offset_mapping"] = spans
        return out


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


# The API's real uvicorn server (session-scoped), shared by test_api_integration and test_web_page.
from live_server import live  # noqa: E402,F401

# The longest files first: `make test` hands whole files to two processes (pytest-xdist,
# --dist loadfile) in collection order, and these two would otherwise start last and run alone.
FIRST = ("test_bbc_corpus.py", "test_concurrent_clients.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return FIRST.index(name) if name in FIRST else len(FIRST)

    items.sort(key=rank)  # stable: the order within and among the other files is kept
