"""Ingest and read paths under concurrency, crashes and awkward input (fast: fake embedder)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from qa_service.condense import condense_rule, is_followup
from qa_service.config import Settings
from qa_service.loaders import Failure, build_article, parse_bytes
from qa_service.service import build_service
from qa_service.service_types import SearchFilters
from qa_service.textnorm import locate


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
