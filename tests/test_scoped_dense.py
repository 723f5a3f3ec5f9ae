"""Exact dense search inside an outlet, article or date scope against Chroma's filtered query (fast: fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qa_service.config import Settings
from qa_service.service import build_service

SOURCES = ("Reuters", "AP", "BBC")
WORDS = ("harbour budget council tariff minister strike railway vaccine election court drought bank "
         "energy rates housing police ferry school").split()


def _record(source: str, i: int, extra: str = "") -> dict[str, Any]:
    w = [WORDS[(i * 3 + j + len(source)) % len(WORDS)] for j in range(6)]
    body = "\n\n".join([f"The {w[0]} and the {w[1]} were discussed by {source} sources in story {i}.",
                        f"Officials said the {w[2]} plan depends on the {w[3]} vote. {extra}",
                        f"Critics warned that {w[4]} and {w[5]} costs would rise."])
    return {"id": f"{source.lower()}-{i}", "title": f"{source} story {i}", "source": source,
            "published": f"2024-0{1 + i % 3}-{10 + i:02}", "body": body}


def _feed(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def indexed(tmp_path, fake_embedder):
    svc = build_service(Settings(index_dir=tmp_path / "idx", positions_enabled=False), embedder=fake_embedder)
    records = [_record(s, i) for s in SOURCES for i in range(6)]
    report = svc.ingest([_feed(tmp_path / "feed.jsonl", records)])
    assert len(report.added) == 18
    return svc, records


SCOPES = [{"source": "Reuters"}, {"article_id": "ap-3"}, {"date_from": "2024-02-01", "date_to": "2024-02-29"},
          {"source": "BBC", "date_from": "2024-03-01"}, {"source": "nobody"}]
QUERIES = ["harbour budget vote", "railway strike costs", "what did officials say about the vaccine plan"]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: "-".join(s))
def test_exact_scoped_search_scores_as_chromas_filtered_query(indexed, fake_embedder, scope):
    svc, _ = indexed
    retriever = svc.retriever
    table = retriever.lexical.refresh()
    for query in QUERIES:
        qvec = fake_embedder.embed_query(query)
        for n in (50, 3):  # all of the scope, and its top three
            exact_ids, exact = retriever._dense(qvec, n, scope, table)
            retriever.exact_scope_rows = 0  # every scope through Chroma's `where`
            try:
                chroma_ids, chroma = retriever._dense(qvec, n, scope, table)
            finally:
                retriever.exact_scope_rows = 8000
            assert len(exact_ids) == len(chroma_ids) <= n
            assert [exact[c] for c in exact_ids] == pytest.approx([chroma[c] for c in chroma_ids], abs=1e-4)
            if n == 50:  # the whole scope: the same chunks
                assert set(exact_ids) == set(chroma_ids)
            assert [exact[c] for c in exact_ids] == sorted((exact[c] for c in exact_ids), reverse=True)
    if scope == {"source": "nobody"}:
        assert retriever._dense(qvec, 5, scope, table) == ([], {})


def test_scoped_vectors_follow_a_reingest(indexed, fake_embedder, tmp_path):
    svc, records = indexed
    scope = {"source": "Reuters"}
    query = "zeppelin moratorium"
    before, _ = svc.retriever._dense(fake_embedder.embed_query(query), 3, scope, svc.retriever.lexical.refresh())
    assert before  # cached for this snapshot now
    changed = [r if r["id"] != "reuters-2" else _record("Reuters", 2, extra="A zeppelin moratorium was agreed.")
               for r in records]
    report = svc.ingest([_feed(tmp_path / "feed.jsonl", changed)])
    assert report.updated == ["reuters-2"]
    table = svc.retriever.lexical.refresh(wait=True)
    ranked, sims = svc.retriever._dense(fake_embedder.embed_query(query), 3, scope, table)
    assert ranked[0].startswith("reuters-2:") and sims[ranked[0]] > 0.3  # the new version, not the cached old one
    hits = svc.search(f"{query} Reuters", k=3)
    assert hits and hits[0].article_id == "reuters-2"


def test_cached_scope_vectors_are_bounded_by_rows(indexed, fake_embedder):
    import numpy as np

    from qa_service.scoped_dense import ScopedVectors

    svc, _ = indexed
    scoped = ScopedVectors(svc.store, max_cached_rows=30)
    table = svc.retriever.lexical.refresh()
    qvec = fake_embedder.embed_query("harbour budget")
    for source in SOURCES:  # 18 chunks each: two scopes exceed the bound, so only the latest stays
        rows = np.flatnonzero(table.rows_where(source=source))
        assert len(scoped.search(table, ("source", source), rows, qvec, 3)[0]) == 3
    assert [key[1] for key in scoped._cache] == [("source", "BBC")]


def test_question_and_outlet_clauses_are_encoded_in_one_call(indexed, fake_embedder):
    """A question naming two outlets searches each with its own clause; the question and its clauses
    go to the encoder together, and rank as they do encoded one at a time."""
    svc, _ = indexed
    calls: list[list[str]] = []

    def embed_queries(texts: list[str]) -> list[list[float]]:
        calls.append(list(texts))
        return [fake_embedder.embed_query(t) for t in texts]

    question = ("Did the Reuters story on the harbour budget vote agree with the BBC report about "
                "the railway strike costs?")
    one_by_one = [(p.paragraph_id, p.score) for p in svc.retriever.search(question, k=5)]  # no embed_queries
    fake_embedder.embed_queries = embed_queries
    try:
        batched = [(p.paragraph_id, p.score) for p in svc.retriever.search(question, k=5)]
    finally:
        del fake_embedder.embed_queries
    assert len(calls) == 1 and calls[0][0] == question and len(calls[0]) == 3  # the question and two clauses
    assert batched == one_by_one
