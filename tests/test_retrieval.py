"""Hybrid retrieval on the real model and real Chroma (embedded and `chroma run` server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SAMPLES, SEED

from qa_service.config import Settings
from qa_service.errors import InvalidInputError
from qa_service.service import build_service
from qa_service.service_types import SearchFilters

SEED_QUESTIONS = [
    ("What is Rutte's position on peace talks?", "Rutte dismissed the value of abstract peace talks"),
    ("When did the NATO summit start?", "The two-day summit, starting December 3"),
    ("What did the Kremlin say about Ukraine joining NATO?", "Peskov dismissed Ukraine’s NATO aspirations"),
    ("How many air defense systems did Kyiv request?", "20 new air defense systems"),
    ("What is Ukraine's Foreign Ministry position on NATO membership?", "full NATO membership is the only acceptable path"),
    ("What did Zelensky acknowledge about reclaiming territory?", "lacks the military capacity to reclaim"),
    ("What did Blinken stress before Trump takes office?", "has what it needs"),
    ("When was the Budapest Memorandum signed?", "1994 Budapest Memorandum"),
    ("What did Trump claim about ending the war?", "end the war within 24 hours"),
    ("What did Rutte warn about a lopsided peace?", "lopsided peace favoring Russia"),
    ("Who attended the summit from the EU?", "Kaja Kallas also attended"),
    ("Where are North Korean troops deployed?", "Kursk region"),
]


def test_seed_answer_paragraph_in_top3_via_cli_json(tmp_path, sample_service):
    # The CLI's JSON contract on a real `qa ingest` + `qa search` (two processes, each loading the
    # models); the hit rate over all seed questions in-process, on the same samples and settings.
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx")}
    subprocess.run([sys.executable, "-m", "qa_service.cli", "ingest", str(SAMPLES)], env=env, check=True,
                   cwd=ROOT, capture_output=True, timeout=300)
    question, evidence = SEED_QUESTIONS[0]
    out = subprocess.run([sys.executable, "-m", "qa_service.cli", "search", question, "-k", "3", "--json"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    results = json.loads(out.stdout)["results"]
    assert {"paragraph_id", "article_id", "title", "text", "score"} <= set(results[0])
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert any(evidence in r["text"] for r in results)
    assert [r["text"] for r in results] == [h.text for h in sample_service.search(question, k=3)]
    misses = [q for q, evidence in SEED_QUESTIONS
              if not any(evidence in h.text for h in sample_service.search(q, k=3))]
    assert len(misses) <= 1, misses


def test_modes_filters_and_paragraph_collapse(sample_service):
    svc = sample_service
    for mode in ("dense", "bm25", "hybrid"):
        res = svc.retriever.search("Rutte dismissed peace talks", k=3, mode=mode)
        assert "Rutte dismissed" in res[0].text, mode
    res = svc.search("prices", k=10, filters=SearchFilters(source="Commodities Desk"))
    assert res and {r.source for r in res} == {"Commodities Desk"}
    res = svc.search("strike", k=10, filters=SearchFilters(date_from="2024-02-01", date_to="2024-03-01"))
    assert res and all("2024-02-01" <= r.published <= "2024-03-01" for r in res)
    res = svc.search("NATO", k=20, filters=SearchFilters(article_id=res[0].article_id))
    assert len({r.paragraph_id for r in res}) == len(res)  # windows collapse to paragraphs
    with pytest.raises(InvalidInputError):
        svc.search("x", filters=SearchFilters(date_from="yesterday"))
    with pytest.raises(InvalidInputError):
        svc.search("   ")


def test_langchain_retriever_interface(sample_service):
    docs = sample_service.retriever.invoke("Budapest Memorandum nuclear arsenal")
    assert "Budapest Memorandum" in docs[0].page_content
    assert docs[0].metadata["paragraph_id"].endswith(":p5")


def test_bm25_cache_follows_chroma_generation(tmp_path, embedder):
    """A second service (another replica) sees writes made through the first one."""
    settings = Settings(index_dir=tmp_path / "idx")
    a = build_service(settings, embedder=embedder)
    a.ingest([SEED])
    b = build_service(settings, embedder=embedder, chroma_client=a.store.client)
    assert b.search("Budapest Memorandum", k=1)[0].text.count("Budapest")
    extra = tmp_path / "extra.txt"
    extra.write_text("Glacier pact signed\n\nThe zebra conservation treaty was signed in Nairobi.\n")
    a.ingest([extra])
    # The other replica rebuilds its BM25 cache in the background while it keeps answering
    # from the old one (lexical.py): it sees the write within moments, not on the next query.
    deadline = time.monotonic() + 60
    while True:
        hits = b.retriever.search("zebra treaty", k=1, mode="bm25")
        if hits and "zebra" in hits[0].text:
            break
        assert time.monotonic() < deadline, "the second replica never saw the write"
        time.sleep(0.2)


def test_chroma_server_backend(chroma_server, tmp_path, embedder):
    settings = Settings(index_dir=tmp_path / "local-cache", chroma_url=chroma_server)
    service = build_service(settings, embedder=embedder)
    report = service.ingest([SEED])
    assert len(report.added) == 1 and report.paragraphs == 8
    assert not (tmp_path / "local-cache" / "chroma").exists()  # vectors live on the server
    hits = service.search("Peskov NATO aspirations threat", k=3)
    assert "Peskov" in hits[0].text
    answer = service.ask("What did Peskov say about Ukraine's NATO aspirations?")
    assert not answer.abstained and answer.citations


def test_snapshot_row_filters_match_the_metadata() -> None:
    # Vectorised once per snapshot (a per-search loop over 100k metadata rows cost ~100 ms).
    from qa_service.lexical import Snapshot

    metas = [{"source": "Reuters", "article_id": "a", "published_int": 20240105},
             {"source": "AP", "article_id": "b", "published_int": 0},
             {"source": "Reuters", "article_id": "c", "published_int": 20240220},
             {"article_id": "c"}]
    snap = Snapshot.make(("c", "g", False), ["a:p1", "b:p1", "c:p1", "c:p2"], metas, {}, {}, None)
    assert snap.rows_where().tolist() == [True] * 4
    assert snap.rows_where(source="Reuters").tolist() == [True, False, True, False]
    assert snap.rows_where(source="Unknown").tolist() == [False] * 4
    assert snap.rows_where(article_id="c").tolist() == [False, False, True, True]
    # A date bound drops undated rows; each bound is inclusive.
    assert snap.rows_where(date_from=20240105).tolist() == [True, False, True, False]
    assert snap.rows_where(date_to=20240131).tolist() == [True, False, False, False]
    assert snap.rows_where(source="Reuters", date_from=20240201, date_to=20240220).tolist() == [False, False, True,
                                                                                                 False]


def test_articles_of_a_search_are_read_in_one_call_and_only_at_their_version(sample_service, monkeypatch):
    """The hits' articles not cached are read together (at 100k chunks, six reads of 1.2 ms a
    question); an article replaced since the snapshot is left out, as a deleted one is."""
    from qa_service.retrieval import HybridRetriever

    svc = sample_service
    retriever = HybridRetriever(store=svc.store, lexical=svc.retriever.lexical, embedder=svc.embedder)
    reads: list[list[str]] = []
    get_articles = svc.store.get_articles
    monkeypatch.setattr(svc.store, "get_articles", lambda ids: reads.append(list(ids)) or get_articles(ids))
    hits = retriever.search("What did the ministers say about prices and the strike?", k=8)
    ids = sorted({h.article_id for h in hits})
    assert len(ids) > 1 and reads == [ids]  # one read for every article of the hits
    table = svc.retriever.lexical.refresh()
    first, second = ids[:2]
    found = retriever.articles({first: table.article_hash[first], second: "an older version", "gone": "x"})
    assert list(found) == [first] and found[first].article_id == first
    assert reads[1:] == [[second, "gone"]]  # the cached one is not read again
    # The positions layer's paragraphs come from the last search's snapshot and the same cache.
    para = found[first].paragraphs[0]
    got = retriever.paragraphs([(first, para.paragraph_id)]).get(para.paragraph_id)
    assert got is not None and got.text == para.text and got.article_id == first
    assert retriever.paragraphs([(first, f"{first}:p999"), ("gone", "gone:p1")]) == {}
    assert len(reads) == 2


def test_a_source_filter_matches_its_outlet_whatever_the_case_and_says_when_there_is_none(sample_service):
    """`source=commodities desk` is the "Commodities Desk" outlet; an outlet the index lacks was an
    empty result, which the chat turned into "the articles do not answer this question"."""
    exact = sample_service.search("prices", k=5, filters=SearchFilters(source="Commodities Desk"))
    loose = sample_service.search("prices", k=5, filters=SearchFilters(source="  commodities   DESK "))
    assert exact and [r.paragraph_id for r in loose] == [r.paragraph_id for r in exact]
    with pytest.raises(InvalidInputError, match="no articles from source 'bbc'.*Commodities Desk"):
        sample_service.search("prices", filters=SearchFilters(source="bbc"))
    with pytest.raises(InvalidInputError, match="no articles from source 'bbc'"):
        sample_service.ask("What happened to coffee prices?", filters=SearchFilters(source="bbc"))


def test_date_filter_errors_name_neither_spelling_of_the_fields() -> None:
    """/api/search takes `from`/`to`, bodies `date_from`/`date_to`: the messages fit both."""
    with pytest.raises(InvalidInputError, match=r"the start date \(2024-03-01\) is after the end date \(2024-02-01\)"):
        SearchFilters(date_from="2024-03-01", date_to="2024-02-01")
    with pytest.raises(InvalidInputError, match="the end date is not an ISO date"):
        SearchFilters(date_to="yesterday")


def test_paragraphs_of_many_articles_are_read_in_one_call(sample_service, monkeypatch) -> None:
    """The positions layer adds the statements of every actor a question names: their articles
    are read together, not one call each."""
    from qa_service.retrieval import HybridRetriever

    svc = sample_service
    retriever = HybridRetriever(store=svc.store, lexical=svc.retriever.lexical, embedder=svc.embedder)
    retriever.search("What did the ministers say?", k=4)  # the snapshot paragraphs come from
    table = svc.retriever.lexical.refresh()
    articles = svc.store.get_articles(sorted(table.article_hash)[:3])
    assert len(articles) == 3
    reads: list[list[str]] = []
    get_articles = svc.store.get_articles
    monkeypatch.setattr(svc.store, "get_articles", lambda ids: reads.append(list(ids)) or get_articles(ids))
    retriever._articles.clear()  # none cached: the search above read its hits' articles
    wanted = [(a.article_id, a.paragraphs[-1].paragraph_id) for a in articles]
    got = retriever.paragraphs([*wanted, (articles[0].article_id, "no-such-paragraph"), ("gone", "gone:p1")])
    assert list(got) == [pid for _, pid in wanted]
    assert [got[pid].text for _, pid in wanted] == [a.paragraphs[-1].text for a in articles]
    assert reads == [[a.article_id for a in articles]]  # one read; "gone" is not in the snapshot
