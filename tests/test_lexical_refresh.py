"""The BM25 snapshot is rebuilt off the request path (readers keep the old one meanwhile),
incrementally, and writers see their own commits; bulk ingest steps aside for queries."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from qa_service.config import Settings
from qa_service.priority import QueryFirst
from qa_service.service import build_service


def _svc(tmp_path: Path, fake_embedder: Any) -> Any:
    return build_service(Settings(index_dir=tmp_path / "idx", positions_enabled=False), embedder=fake_embedder)


def _write(folder: Path, name: str, title: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"{title}\n\n{body}\n")


def test_a_stale_snapshot_is_served_while_the_next_is_built_in_the_background(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    _write(tmp_path / "c", "a.txt", "Harbour story", "The harbour plan was approved by the council.")
    svc.ingest([tmp_path / "c"])
    lexical = svc.retriever.lexical
    before = lexical.refresh()
    assert len(before.ids) == 1

    # Another writer (e.g. a CLI ingest) commits: this process's readers learn it from Chroma.
    gate = threading.Event()
    real_rebuild = lexical._rebuild

    def slow_rebuild(key):
        gate.wait(30)  # a rebuild that takes long
        return real_rebuild(key)

    lexical._rebuild = slow_rebuild
    lexical.stale_wait_s = 0.5
    _write(tmp_path / "c", "b.txt", "Ferry story", "The ferry terminal opened on Monday.")
    svc.ingester.ingest_paths([tmp_path / "c"])
    started = time.monotonic()
    during = lexical.refresh()
    assert time.monotonic() - started < 5  # waited its bound (0.5 s), not for the slow rebuild
    assert during is before  # the old snapshot, whole
    assert [h.title for h in svc.search("harbour plan", k=3)] == ["Harbour story"]
    gate.set()
    deadline = time.monotonic() + 30
    while lexical.snapshot is before and time.monotonic() < deadline:
        time.sleep(0.05)
    after = lexical.refresh()
    assert after is not before and len(after.ids) == 2
    assert "Ferry story" in [h.title for h in svc.search("ferry terminal", k=3)]


def test_a_quick_rebuild_is_awaited_so_the_next_question_sees_another_writers_commit(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)  # QA_LEXICAL_STALE_WAIT_S: 3 s by default
    _write(tmp_path / "c", "a.txt", "Harbour story", "The harbour plan was approved by the council.")
    svc.ingest([tmp_path / "c"])
    before = svc.retriever.lexical.refresh()
    _write(tmp_path / "c", "b.txt", "Ferry story", "The ferry terminal opened on Monday.")
    svc.ingester.ingest_paths([tmp_path / "c"])  # another writer: no refresh in this service
    # The first question after it already searches the new snapshot (another replica's upload).
    assert "Ferry story" in [h.title for h in svc.search("ferry terminal", k=3)]
    assert svc.retriever.lexical.snapshot is not before


def test_writers_see_their_commit_at_once_and_rebuilds_tokenise_only_new_chunks(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    for i in range(5):
        _write(tmp_path / "c", f"a{i}.txt", f"Harbour story {i}", f"The harbour plan number {i} was approved.")
    svc.ingest([tmp_path / "c"])
    lexical = svc.retriever.lexical
    tokenised: list[int] = []
    real = lexical._tokenized

    def counting(keys):
        out = real(keys)
        tokenised.append(len([k for k in keys if k not in lexical._tokens]))
        return out

    lexical._tokenized = counting
    _write(tmp_path / "c", "a5.txt", "Tram story", "The tram line to the harbour opened.")
    _write(tmp_path / "c", "a0.txt", "Harbour story 0", "The harbour plan number 0 was rejected after all.")
    svc.ingest([tmp_path / "c"])  # returns with its commit already searchable
    assert lexical.snapshot.key[1] == svc.store.generation()
    assert tokenised == [2]  # the new article's chunk and the changed one's, not all seven
    hits = svc.search("harbour plan rejected", k=3)
    assert hits[0].title == "Harbour story 0" and "rejected" in hits[0].text
    assert "Tram story" in [h.title for h in svc.search("tram line", k=3)]


def test_bulk_work_steps_aside_while_a_query_runs_but_never_for_long():
    gate = QueryFirst(max_pause_s=3.0)
    assert gate.pause() == 0.0  # no query: no wait
    released = threading.Event()

    def query() -> None:
        with gate.query():
            released.wait(10)

    t = threading.Thread(target=query)
    t.start()
    time.sleep(0.05)
    threading.Timer(0.1, released.set).start()
    waited = gate.pause()
    assert 0.05 < waited < 2.9  # until the query ended, not the cap
    t.join()
    released.clear()
    gate.max_pause_s = 0.3
    t = threading.Thread(target=query)
    t.start()
    time.sleep(0.05)
    waited = gate.pause()  # a query that lasts: the bulk work goes on after max_pause_s
    assert 0.25 <= waited < 2
    released.set()
    t.join()


def test_a_query_is_tokenised_as_the_index_was(tmp_path, fake_embedder):
    # tokenize_query skips bm25s.tokenize's per-call set-up (the judge calls it for every new sentence);
    # its tokens must stay those the chunks were indexed with, or BM25 and the judge miss words.
    import bm25s

    from qa_service.lexical import normalise_spelling

    lexical = _svc(tmp_path, fake_embedder).retriever.lexical
    texts = [
        "The harbour plan was approved by the council on Tuesday.",
        "Don't stop: U.S. officials' e-mails cost $4bn (2,000 of them), naïve café ÜBER colour.",
        "the a an of", "", "x", "日本語 テキスト and Zürich's mayors",
        "Running runners ran; organisations organized organising.",
    ]
    for text in texts:
        indexed = bm25s.tokenize([normalise_spelling(text)], stopwords="en", stemmer=lexical.stemmer,
                                 return_ids=False, show_progress=False)[0]
        assert lexical.tokenize_query(text) == indexed, text
