"""Ingest and read paths under concurrency, crashes and awkward input (fast: fake embedder)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from qa_service.condense import condense_rule, is_followup
from qa_service.config import Settings
from qa_service.loaders import Failure, build_article, parse_bytes
from qa_service.service import build_service
from qa_service.service_types import SearchFilters
from qa_service.text import locate


def _svc(tmp_path: Path, fake_embedder):
    return build_service(Settings(index_dir=tmp_path / "idx", positions_enabled=False), embedder=fake_embedder)


def _write(folder: Path, name: str, title: str, body: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(title + "\n\n" + "\n\n".join(body) + "\n")
    return path


def test_search_during_ingest_never_errors(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    corpus = tmp_path / "c"
    for i in range(6):
        _write(corpus, f"a{i}.txt", f"Harbour story {i}", [f"The harbour plan {i} version zero is here."] * 3)
    svc.ingest([corpus])
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                for hit in svc.search("harbour plan version", k=10):
                    assert hit.text.startswith("The harbour plan")
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for round_ in range(8):
        for i in range(6):
            n = 1 + (round_ + i) % 4
            _write(corpus, f"a{i}.txt", f"Harbour story {i}", [f"The harbour plan {i} version {round_} part {j}." for j in range(n)])
        svc.ingest([corpus])
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_crash_after_commit_before_generation_bump_is_healed(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    corpus = tmp_path / "c"
    _write(corpus, "a.txt", "Harbour story", ["The harbour plan is here and now."])
    svc.ingest([corpus])
    assert svc.search("harbour plan", k=3)
    # Simulate a writer killed after committing an article but before bumping the generation.
    svc.ingester.store.bump_generation, real_bump = (lambda: None), svc.ingester.store.bump_generation
    _write(corpus, "b.txt", "Football final", ["The striker scored twice in the football final."])
    svc.ingest([corpus])
    svc.ingester.store.bump_generation = real_bump
    assert svc.store.is_dirty()
    fresh = _svc(tmp_path, fake_embedder)  # a new process: no stale cache is trusted
    assert "striker" in fresh.search("football striker", k=1)[0].text
    fresh.ingest([corpus])  # the next ingest clears the dirty state
    assert not fresh.store.is_dirty()


def test_same_file_by_another_path_spelling_is_unchanged(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    corpus = tmp_path / "c"
    _write(corpus, "a.txt", "Harbour story", ["The harbour plan is here and now."])
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        first = svc.ingest([Path("c")])
    finally:
        os.chdir(cwd)
    again = svc.ingest([corpus.resolve()])
    assert len(first.added) == 1 and again.unchanged == first.added and not again.added


def test_feed_ids_never_overwrite_other_articles(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    folder = tmp_path / "c"
    _write(folder, "harbour-plan.txt", "Harbour plan", ["The text article about the harbour plan."])
    lines = [{"id": "harbour-plan", "title": "Feed one", "body": "A feed article about something else."},
             {"id": "x 1", "title": "X one", "body": "First x article body text."},
             {"id": "x-1", "title": "X two", "body": "Second x article body text."}]
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = svc.ingest([folder])
    assert len(set(report.added)) == 4 and not report.failed
    again = svc.ingest([folder])
    assert len(again.unchanged) == 4 and not again.added and not again.updated


def test_jsonl_line_with_wrong_field_type_fails_alone(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    feed = tmp_path / "f.jsonl"
    feed.write_text(json.dumps({"id": "ok", "title": "Good", "body": "A good body text here."}) + "\n"
                    + json.dumps({"id": "bad", "title": "Bad", "author": ["A", "B"], "body": "Body."}) + "\n")
    report = svc.ingest([feed])
    assert report.added == ["ok"] and len(report.failed) == 1 and "author" in report.failed[0][1]


def test_paragraph_starting_with_by_is_not_a_byline():
    text = "Net domain names\n\nBy early 2005 the net could have two new domain names.\n\nMore text follows here.\n"
    (raw,) = list(parse_bytes(text.encode(), Path("t.txt")))
    assert raw.author is None and raw.blocks[0][1].startswith("By early 2005")


def test_seed_layout_with_a_stray_blank_line_keeps_its_paragraphs():
    seed = (Path(__file__).parent.parent / "data" / "articles" / "nato-ukraine-military-aid.txt").read_text()
    lines = seed.split("\n")
    text = "\n".join(lines[:3] + [""] + lines[3:])
    (raw,) = [x for x in parse_bytes(text.encode(), Path("s.txt")) if not isinstance(x, Failure)]
    assert len(build_article(raw, "s").paragraphs) == 8


def test_date_range_excludes_undated_and_empty_pages_are_fine(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    _write(tmp_path / "c", "a.txt", "Undated harbour story", ["The harbour plan is here and now."])
    svc.ingest([tmp_path / "c"])
    assert svc.search("harbour plan", k=5, filters=SearchFilters(date_to="2000-01-01")) == []
    total, page = svc.list_articles(offset=100)
    assert total == 1 and page == []


def test_locate_handles_dotted_capital_i():
    text = "Talks were held in İstanbul on Monday."
    start, end = locate("Talks were held in İstanbul on Monday", text)
    assert text[start:end] == "Talks were held in İstanbul on Monday"


def test_condense_chains_and_possessives():
    history = [{"role": "user", "content": "What is Rutte's position on Ukraine's NATO membership?"},
               {"role": "assistant", "content": "..."},
               {"role": "user", "content": "And what did the Kremlin say about that?",
                "standalone": "What did the Kremlin say about Ukraine's NATO membership?"},
               {"role": "assistant", "content": "..."}]
    assert "NATO membership" in condense_rule("What about Zelensky?", history)
    assert not is_followup("How many troops did Germany pledge in its new package?")


@pytest.mark.parametrize("mode", ["hybrid", "sparse"])
def test_settings_reject_bad_values(mode):
    from pydantic import ValidationError

    if mode == "hybrid":
        assert Settings(retrieval_mode=mode).retrieval_mode == "hybrid"
    else:
        with pytest.raises(ValidationError):
            Settings(retrieval_mode=mode)
    with pytest.raises(ValidationError):
        Settings(top_k=0)


def test_british_and_american_spellings_meet(tmp_path, fake_embedder):
    from qa_service.lexical import normalise_spelling

    assert normalise_spelling("favoured criticised defence centre") == "favored criticized defense center"
    assert normalise_spelling("our four hours rise promised") == "our four hours rise promised"
    svc = _svc(tmp_path, fake_embedder)
    _write(tmp_path / "c", "a.txt", "Trade deal", ["The minister favored a labor-friendly defense budget."])
    svc.ingest([tmp_path / "c"])
    assert svc.retriever.search("favoured labour defence", k=1, mode="bm25")


# ---------------------------------------------------------------- issue 15: hostile or huge input


def _ingester(svc, **limits):
    """The service's ingester with other per-article limits (as Settings would set them)."""
    for name, value in limits.items():
        setattr(svc.ingester, name, value)
    return svc.ingester


def _feed(*records: object) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode() + b"\n"


def test_uploads_with_the_same_file_name_never_replace_each_other(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    first = svc.ingest_bytes("report.txt", b"Harbour plan approved\n\nThe council approved the harbour plan.\n")
    second = svc.ingest_bytes("report.txt", b"Football final\n\nThe striker scored twice in the final.\n")
    assert len(first.added) == 1 and len(second.added) == 1 and first.added != second.added
    assert not second.updated
    assert {a.title for a in svc.list_articles()[1]} == {"Harbour plan approved", "Football final"}


def test_upload_with_a_stored_id_and_new_content_needs_replace(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    v1 = b"Harbour plan approved\n\nThe council approved the harbour plan.\n"
    v2 = b"Harbour plan approved\n\nThe council approved the harbour plan after a long debate.\n"
    (aid,) = svc.ingest_bytes("a.txt", v1).added
    assert svc.ingest_bytes("b.txt", v1).unchanged == [aid]  # same content identity: no-op, any name
    refused = svc.ingest_bytes("a.txt", v2)
    assert not (refused.added or refused.updated) and refused.conflicts
    assert "replace=true" in refused.conflicts[0][1]
    assert "long debate" not in svc.get_article(aid).text
    replaced = svc.ingest_bytes("a.txt", v2, replace=True)
    assert replaced.updated == [aid] and "long debate" in svc.get_article(aid).text


def test_jsonl_upload_never_replaces_the_article_holding_its_feed_id(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    svc.ingest_bytes("f.jsonl", _feed({"id": "x1", "title": "Harbour", "body": "The harbour plan text."}))
    again = svc.ingest_bytes("g.jsonl", _feed({"id": "x1", "title": "Other", "body": "Another story entirely."},
                                              {"id": "x2", "title": "New", "body": "A new story body."}))
    assert again.added == ["x2"] and not again.updated and [w for w, _ in again.conflicts] == ["upload/g.jsonl#1"]
    assert svc.get_article("x1").title == "Harbour"
    assert svc.ingest_bytes("f.jsonl", _feed({"id": "x1", "title": "Harbour", "body": "The harbour plan text."})
                            ).unchanged == ["x1"]


def test_reserved_ids_are_refused_with_a_clear_error_and_the_index_state_survives(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    gen = svc.store.generation()
    report = svc.ingest_bytes("f.jsonl", _feed({"id": "__state__", "title": "Evil", "body": "Overwrite the state."},
                                               {"id": "..", "title": "Dots", "body": "An id no URL can hold."},
                                               {"id": "ok", "title": "Fine", "body": "A normal article body."}))
    assert report.added == ["ok"]
    reasons = dict(report.failed)
    assert "reserved" in reasons["upload/f.jsonl#1"] and "reserved" in reasons["upload/f.jsonl#2"]
    assert svc.store.state()["embedding_model"] == fake_embedder.name and svc.store.generation() != gen
    assert set(svc.store.article_records()) == {"ok"}
    assert all(meta["article_id"] == "ok" for meta in svc.store.all_chunks(include_documents=False)["metadatas"])


def test_deeply_nested_jsonl_line_is_reported_and_later_lines_still_load(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    nested = '{"id": "deep", "title": "T", "body": ' + "[" * 100_000 + "]" * 100_000 + "}"
    report = svc.ingest_bytes("f.jsonl", _feed({"id": "a", "title": "First", "body": "The first body."}, nested,
                                               {"id": "b", "title": "Third", "body": "The third body."}))
    assert sorted(report.added) == ["a", "b"]
    (where, why), = report.failed
    assert where.endswith("line 2") and "nested" in why and "Recursion" not in why


def test_api_upload_reports_each_article_and_refuses_replacement_without_asking(tmp_path, fake_embedder):
    from fastapi.testclient import TestClient

    from qa_service.api import create_app

    svc = _svc(tmp_path, fake_embedder)
    settings = Settings(index_dir=tmp_path / "idx", allow_open_writes=True, positions_enabled=False)
    nested = '{"id": "deep", "title": "T", "body": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with TestClient(create_app(settings, svc), raise_server_exceptions=False) as client:
        def post(name: str, data: bytes, **params: str):
            return client.post("/api/articles", params=params, files={"file": (name, data, "text/plain")})

        r = post("feed.jsonl", _feed({"id": "x1", "title": "Harbour", "body": "The harbour plan text."}))
        assert r.status_code == 201 and r.json()["articles"] == [{"article_id": "x1", "status": "added"}]
        changed = _feed({"id": "x1", "title": "Harbour", "body": "The harbour plan text, revised."})
        r = post("feed.jsonl", changed)
        assert r.status_code == 409 and "replace=true" in r.json()["detail"]
        r = post("feed.jsonl", changed, replace="true")
        assert r.status_code == 201 and r.json()["articles"] == [{"article_id": "x1", "status": "updated"}]
        r = post("feed.jsonl", changed)
        assert r.status_code == 201 and r.json()["articles"] == [{"article_id": "x1", "status": "unchanged"}]
        r = post("deep.jsonl", nested.encode())
        assert r.status_code == 422 and "nested" in r.json()["detail"]
        assert "Recursion" not in r.text and "maximum recursion" not in r.text


def test_article_over_the_size_limit_fails_alone(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)
    _ingester(svc, max_article_chars=5_000)
    _write(tmp_path / "c", "big.txt", "Big story", ["A sentence of the long article body. " * 40] * 5)
    _write(tmp_path / "c", "small.txt", "Small story", ["A short body."])
    report = svc.ingest([tmp_path / "c"])
    assert report.added == ["small-story"]
    (where, why), = report.failed
    assert where.endswith("big.txt") and "too large" in why and "5,000" in why


def test_article_over_the_time_limit_fails_alone_and_is_not_indexed(tmp_path, fake_embedder):
    import time as _time

    from qa_service.loaders.common import check_time

    svc = _svc(tmp_path, fake_embedder)
    seen: list[str] = []

    def slow_for_one(article) -> None:  # stands in for a derived layer stuck on one article
        seen.append(article.article_id)
        while article.title == "Slow story":
            _time.sleep(0.01)
            check_time()

    _ingester(svc, article_time_limit_s=0.3).on_article = slow_for_one
    _write(tmp_path / "c", "a.txt", "Slow story", ["The body of the slow story."])
    _write(tmp_path / "c", "b.txt", "Quick story", ["The body of the quick story."])
    started = _time.monotonic()
    report = svc.ingest([tmp_path / "c"])
    assert _time.monotonic() - started < 30
    assert report.added == ["quick-story"] and sorted(seen) == ["quick-story", "slow-story"]
    (where, why), = report.failed
    assert where.endswith("a.txt") and "0.3 s" in why and "not indexed" in why
    assert set(svc.store.article_records()) == {"quick-story"}


def test_a_failing_positions_layer_is_reported_not_silent(tmp_path, fake_embedder):
    svc = _svc(tmp_path, fake_embedder)

    def broken(article) -> None:
        raise ValueError("[E088] Text of length 1000001 exceeds maximum of 1000000")

    svc.ingester.on_article = broken
    _write(tmp_path / "c", "a.txt", "Harbour story", ["The harbour plan is here and now."])
    report = svc.ingest([tmp_path / "c"])
    assert report.added == ["harbour-story"]  # searchable all the same
    (where, why), = report.failed
    assert "without positions" in why and "E088" not in why


@pytest.fixture(scope="module")
def nlp():
    from qa_service.positions import load_nlp

    return load_nlp()


VERBLESS = [  # spaCy parses each without a verb at its root; each holds a date without a year
    "Next up for the champions: a trip to Leeds on 3 April.",
    "Arsenal v Chelsea, Saturday 18 February.",
    "Jones next competes in the high-class Sheffield Grand Prix on 12 March.",  # "competes" tagged a noun
]


@pytest.mark.timeout(120)  # the walk up the parse tree used to loop forever on these
def test_dates_in_verbless_sentences_do_not_hang_extraction(nlp):
    from datetime import date

    from qa_service.models import Article, Paragraph
    from qa_service.positions.extract import _date_root, _event_clause, _tense, extract_article

    for text in VERBLESS:
        doc = nlp(text)
        assert all(t.pos_ not in ("VERB", "AUX") for t in doc if t.head.i == t.i)
        for tok in doc:  # every walk ends, from every token
            _tense(tok)
            _event_clause(tok)
        assert _date_root(doc, 0, len(text)) is not None
    paragraphs = [Paragraph(paragraph_id=f"a:p{i + 1}", number=i + 1, text=t, start=0, end=len(t))
                  for i, t in enumerate(VERBLESS)]
    article = Article(article_id="a", title="Fixtures", published=date(2005, 2, 1), paragraphs=paragraphs,
                      text="\n\n".join(VERBLESS))
    entries = extract_article(article, nlp)
    assert {"2005-04-03", "2005-02-18", "2005-03-12"} <= {e.date for e in entries.events}


def test_paragraph_longer_than_spacy_max_length_gets_positions(nlp, monkeypatch):
    from qa_service.models import Article, Paragraph
    from qa_service.positions.extract import extract_article

    # spaCy refuses a text over nlp.max_length (1,000,000 by default) with E088; a lower
    # limit shows the same on a text that parses in seconds.
    monkeypatch.setattr(nlp, "max_length", 20_000)
    sentence = "Mark Rutte said that NATO must send more air defence systems to Ukraine this winter. "
    text = (sentence * 700).strip()  # 60 KB in one paragraph
    article = Article(article_id="a", title="Long", paragraphs=[
        Paragraph(paragraph_id="a:p1", number=1, text=text, start=0, end=len(text))], text=text)
    entries = extract_article(article, nlp)
    assert len(entries.positions) == 700
    for p in entries.positions:
        assert p.actor == "Mark Rutte" and text[p.stance_start : p.stance_end] == p.stance
        assert text[p.start : p.end] == p.quote


def test_ingest_of_an_article_over_spacy_max_length_indexes_its_positions(tmp_path, fake_embedder, nlp, monkeypatch):
    from qa_service.positions import PositionsIndex

    monkeypatch.setattr(nlp, "max_length", 20_000)
    settings = Settings(index_dir=tmp_path / "idx")
    svc = build_service(settings, embedder=fake_embedder, positions=PositionsIndex(settings, nlp))
    sentence = "Mark Rutte said that NATO must send more air defence systems to Ukraine this winter. "
    (tmp_path / "long.txt").write_text("A long statement\n\n" + sentence * 700 + "\n")
    report = svc.ingest([tmp_path / "long.txt"])
    assert report.added == ["a-long-statement"] and not report.failed
    assert len(svc.positions.positions("Mark Rutte")) == 700


def test_a_query_waits_for_one_small_batch_not_for_the_whole_upload():
    import time as _time

    import numpy as np

    from qa_service.embeddings import SentenceTransformerEmbeddings

    class SlowModel:  # 5 ms a text, sleeping outside the GIL as torch computes outside it
        def get_sentence_embedding_dimension(self) -> int:
            return 2

        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            _time.sleep(0.005 * len(texts))
            return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    embedder = SentenceTransformerEmbeddings(SlowModel(), "slow")
    texts = ["x" * (i % 50 + 1) for i in range(800)]  # 4 s of encoding in all
    out: dict[str, np.ndarray] = {}
    bulk = threading.Thread(target=lambda: out.setdefault("vectors", embedder.embed_array(texts)))
    bulk.start()
    _time.sleep(0.5)
    started = _time.monotonic()
    embedder.embed_query("a question")
    waited = _time.monotonic() - started
    bulk.join()
    assert waited < 1.0, waited  # one default batch is 32 texts (160 ms); one lock over all of it was 3.5 s
    assert out["vectors"][:, 0].tolist() == [float(len(t)) for t in texts]  # rows in input order


def test_a_base64_dump_fails_at_once_with_a_reason_and_the_rest_is_ingested(tmp_path, fake_embedder):
    """A 4 MB base64 "article" once became 52k one-line paragraphs that ran for the whole 120 s
    time limit before failing with a message about time, not about what the file was."""
    import base64
    import random

    folder = tmp_path / "in"
    folder.mkdir()
    blob = base64.encodebytes(random.Random(7).randbytes(60_000)).decode()
    (folder / "dump.txt").write_text("Quarterly data\n\n" + blob, encoding="utf-8")
    (folder / "story.txt").write_text("Harbour story\n\nMark Rutte said on Monday that the harbour plan must be "
                                      "funded.\n", encoding="utf-8")
    # Long words of real text and a few long identifiers are not encoded data.
    (folder / "names.txt").write_text("Identifiers\n\n" + " ".join(["Pneumonoultramicroscopicsilicovolcanoconiosis"]
                                                                    * 3 + ["a word"] * 2000), encoding="utf-8")
    report = _svc(tmp_path, fake_embedder).ingest([folder])
    (where, why), = report.failed
    assert where.endswith("dump.txt") and "looks like encoded data (base64 or hex)" in why
    assert len(report.added) == 2


def test_a_folders_unsupported_files_are_listed_not_skipped_silently(tmp_path, fake_embedder):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "story.txt").write_text("Harbour story\n\nThe council met on Monday to fund the harbour plan.\n")
    (folder / "weird.pdf").write_bytes(b"%PDF-1.4 not an article we read")
    (folder / "README.md").write_text("# About this folder\n")  # a corpus's own notes are not articles
    report = _svc(tmp_path, fake_embedder).ingest([folder])
    (where, why), = report.failed
    assert where.endswith("weird.pdf") and why.startswith("unsupported file type .pdf (articles are ")
    assert len(report.added) == 1


def test_dense_search_skips_chunks_its_snapshot_does_not_hold(tmp_path, fake_embedder):
    """Ids and distances come from Chroma, never metadata: the BM25 snapshot decides what is committed."""
    svc = _svc(tmp_path, fake_embedder)
    corpus = tmp_path / "c"
    _write(corpus, "a.txt", "Harbour story", ["The harbour plan is here and now.", "The ferry runs at noon."])
    svc.ingest([corpus])
    vector = fake_embedder.embed_query("harbour plan")
    # An interrupted ingest's leftover: in Chroma, never committed, the nearest of all to the query.
    svc.store.chunks.upsert(ids=["ghost:p1:w0"], embeddings=[vector], documents=["harbour plan"],
                            metadatas=[{"article_id": "ghost", "content_hash": "x", "paragraph_id": "ghost:p1"}])
    ranked, sims = svc.retriever._dense(vector, 5, {}, svc.retriever.lexical.refresh())
    assert ranked and "ghost:p1:w0" not in ranked and "ghost:p1:w0" not in sims
    assert all(hit.article_id != "ghost" for hit in svc.search("harbour plan", k=5))


def test_while_a_reingest_is_under_way_its_new_vectors_do_not_rank_the_old_text(tmp_path, fake_embedder):
    """Chunk ids are kept across versions: a re-ingest under way holds a new vector under an id the
    snapshot names. The dense search and the scoped vectors then check each hit's version."""
    from qa_service.scoped_dense import ScopedVectors

    svc = _svc(tmp_path, fake_embedder)
    corpus = tmp_path / "c"
    _write(corpus, "a.txt", "Harbour story", ["The harbour plan is here and now.", "The ferry runs at noon."])
    _write(corpus, "b.txt", "Football final", ["The striker scored twice in the football final."])
    svc.ingest([corpus])
    clean, current = svc.retriever.lexical.refresh_checked()
    assert current
    chunk_id = next(c for c in clean.ids if c.endswith(":p1:w0") and "harbour" in c)
    meta = svc.store.chunks.get(ids=[chunk_id], include=["metadatas"])["metadatas"][0]
    vector = fake_embedder.embed_query("zebra crossing")
    svc.store.mark_dirty()  # what a re-ingest does first; then it writes the new version under the same ids
    svc.store.chunks.upsert(ids=[chunk_id], embeddings=[vector], documents=["zebra crossing"],
                            metadatas=[{**meta, "content_hash": "next-version"}])
    table, current = svc.retriever.lexical.refresh_checked()
    assert not current
    ranked, _ = svc.retriever._dense(vector, 5, {}, table, None, current)
    assert ranked and chunk_id not in ranked
    rows = np.arange(len(table.ids))
    for checked in (current, True):  # told current, the fetch still sees the write begun in the state
        ids, _ = ScopedVectors(svc.store)._fetch(table, rows, checked)
        assert ids and chunk_id not in ids
