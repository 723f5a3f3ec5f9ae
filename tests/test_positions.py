"""Positions/events layer on the seed article, with the real spaCy pipeline and real SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa_service.config import Settings
from qa_service.loaders import build_article, load_paths
from qa_service.loaders.common import RawArticle, slugify
from qa_service.models import Article
from qa_service.positions import PositionsIndex, extract_article, load_nlp
from qa_service.positions.cli import register
from qa_service.positions.routes import router

SEED = Path(__file__).resolve().parent.parent / "data" / "articles" / "nato-ukraine-military-aid.txt"


def load_article(path: Path) -> Article:
    raws = [r for r in load_paths([path]) if isinstance(r, RawArticle)]
    assert len(raws) == 1
    return build_article(raws[0], slugify(raws[0].title))


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


@pytest.fixture(scope="module")
def seed() -> Article:
    return load_article(SEED)


@pytest.fixture(scope="module")
def entries(seed, nlp):
    return extract_article(seed, nlp)


@pytest.fixture()
def index(tmp_path, nlp, seed) -> PositionsIndex:
    idx = PositionsIndex(Settings(index_dir=tmp_path), nlp)
    idx.update_article(seed)
    return idx


# The stances the seed article attributes, as (actor query, verb, words the stance must hold).
EXPECTED = [
    ("Rutte", "dismiss", "the value of abstract peace talks"),
    ("Rutte", "warn", "a lopsided peace favoring Russia could embolden adversaries"),
    ("Rutte", "clarify", "immediate membership is not on the table"),
    ("Rutte", "welcome", "increased contributions from countries like Germany"),
    ("Foreign Ministry", "reiterate", "full NATO membership is the only acceptable path"),
    ("Zelensky", "acknowledge", "his country lacks the military capacity"),
    ("Zelensky", "emphasize", "military strength remains crucial"),
    ("Peskov", "dismiss", "Ukraine’s NATO aspirations as a direct threat to Russian security"),
    ("Blinken", "stress", "the urgency of ensuring Ukraine “has what it needs”"),
    ("Trump", "claim", "he could end the war within 24 hours"),
]


@pytest.mark.parametrize(("actor", "verb", "words"), EXPECTED)
def test_seed_positions_are_attributed_with_verbatim_spans(index, actor, verb, words) -> None:
    found = [p for p in index.positions(actor=actor) if p.verb == verb and words in p.stance]
    assert found, f"no {actor} {verb} '{words}' in {[(p.actor, p.verb, p.stance) for p in index.positions()]}"
    for p in found:
        assert p.paragraph_text[p.start : p.end] == p.quote
        assert p.paragraph_text[p.stance_start : p.stance_end] == p.stance
        assert p.start <= p.stance_start < p.stance_end <= p.end
        assert p.published == "2024-12-04"


def test_every_entry_is_verbatim_in_its_paragraph(entries, seed) -> None:
    paragraphs = {p.paragraph_id: p.text for p in seed.paragraphs}
    assert entries.positions and entries.events
    for p in entries.positions:
        assert paragraphs[p.paragraph_id][p.start : p.end] == p.quote
        assert paragraphs[p.paragraph_id][p.stance_start : p.stance_end] == p.stance
    for e in entries.events:
        text = paragraphs[e.paragraph_id]
        assert text[e.start : e.end] == e.quote
        assert text[e.date_start : e.date_end] == e.date_text
        assert e.description in e.quote


def test_aliases_roles_and_pronouns_merge_into_one_actor(entries) -> None:
    rutte = [a for a in entries.actors if a.name == "Mark Rutte"]
    assert len(rutte) == 1
    assert "Rutte" in rutte[0].aliases
    assert rutte[0].role == "NATO's new Secretary General"
    assert "NATO" in rutte[0].affiliations
    he = [p for p in entries.positions if p.actor_text == "He"]
    assert he and all(p.actor == "Mark Rutte" for p in he)
    peskov = next(a for a in entries.actors if a.name == "Dmitry Peskov")
    assert peskov.role == "Kremlin spokesman" and "Russia" in peskov.affiliations
    # "Trump" (tagged an organisation in "the Trump administration") is Donald Trump.
    assert {p.actor for p in entries.positions if p.actor_text == "Trump"} == {"Donald Trump"}


def test_direct_quotation_is_told_from_reported_speech(entries) -> None:
    blinken = next(p for p in entries.positions if p.actor == "Antony Blinken")
    assert blinken.direct is True
    ministry = next(p for p in entries.positions if p.verb == "reiterate")
    assert ministry.direct is False
    assert ministry.topic == "NATO membership"


def test_seed_timeline_is_normalised_and_in_order(index) -> None:
    events = index.timeline()
    dated = [(e.date, e.precision) for e in events]
    want = [("1994", "year"), ("2014", "year"), ("2022", "year"),
            ("2024-12-03", "day"), ("2025-01-20", "day")]
    assert [d for d in dated if d in want] == want
    by_date = {e.date: e for e in events}
    assert "Budapest Memorandum" in by_date["1994"].description
    assert "violated" in by_date["2014"].description and "violated" in by_date["2022"].description
    assert "summit" in by_date["2024-12-03"].description and by_date["2024-12-03"].date_text == "December 3"
    assert "takes office" in by_date["2025-01-20"].description
    assert [e.sort_date for e in events] == sorted(e.sort_date for e in events)


def test_timeline_filters_by_actor_and_topic(index) -> None:
    russia = index.timeline(actor="Russia")
    assert {"2014", "2022"} <= {e.date for e in russia}
    assert "2024-12-03" not in {e.date for e in russia}
    assert [e.date for e in index.timeline(topic="summit")] == ["2024-12-03"]


def test_store_replaces_an_article_atomically_and_survives_restart(tmp_path, nlp, seed) -> None:
    settings = Settings(index_dir=tmp_path)
    idx = PositionsIndex(settings, nlp)
    assert idx.update_article(seed) is not None
    assert idx.update_article(seed) is None  # unchanged: not extracted again
    before = len(idx.positions())
    # A changed article replaces its entries: Peskov's paragraph is gone in the new version.
    changed = seed.model_copy(deep=True)
    changed.paragraphs = [p for p in changed.paragraphs if "Peskov" not in p.text]
    changed.content_hash = "changed"
    assert idx.update_article(changed) is not None
    after = PositionsIndex(settings, nlp=None)  # a new process reading the same file
    assert after.positions(actor="Peskov") == []
    assert 0 < len(after.positions()) < before
    after.remove_article(seed.article_id)
    assert after.positions() == [] and after.timeline() == []


def test_sync_drops_vanished_articles_and_reports_stale_ones(index, seed) -> None:
    assert index.sync({seed.article_id: seed.content_hash}) == []
    assert index.sync({seed.article_id: "other-hash", "new-article": "h"}) == sorted(
        ["new-article", seed.article_id]
    )
    assert index.sync({}) == []
    assert index.positions() == []


def test_find_actors_maps_question_names_to_canonical_actors(index) -> None:
    assert index.find_actors("What is Rutte's position on peace talks?") == ["Mark Rutte"]
    assert index.find_actors("How do NATO, Ukraine and Russia differ on Ukraine's membership?") == [
        "NATO", "Ukraine", "Russia"
    ]
    assert index.find_actors("What did the Kremlin spokesman say?") == ["Dmitry Peskov"]
    assert index.find_actors("What is the weather in Lisbon?") == []
    # A possessive or a name before a full stop: "... from Rutte's." names Rutte as "Rutte's?" does.
    assert index.find_actors("Compare Peskov's view with Rutte's.") == ["Dmitry Peskov", "Mark Rutte"]
    assert index.find_actors("Tell me what Peskov said. And Rutte.") == ["Dmitry Peskov", "Mark Rutte"]


def test_find_actors_keeps_the_dots_of_names(tmp_path, nlp) -> None:
    """Dropping a full stop after a word must not lose the dot inside "St. Louis Fed"."""
    raw = RawArticle(title="Fed holds rates", blocks=[(None, "The St. Louis Fed said on Tuesday that inflation was easing."),
                                                      (None, "President James Bullard said rates would stay high.")],
                     path="fed.txt", origin="fed.txt")
    idx = PositionsIndex(Settings(index_dir=tmp_path), nlp)
    idx.update_article(build_article(raw, "fed"))
    named = {n.lower() for n in idx.find_actors("What did the St. Louis Fed say?")}
    assert any("st. louis" in n for n in named), named
    assert idx.find_actors("What did Bullard say about the St. Louis Fed.")[:1] == ["James Bullard"]


def test_positions_for_gives_per_actor_entries(index) -> None:
    per = index.positions_for(["NATO", "Ukraine", "Russia"], topic="membership")
    assert per["NATO"][0].actor == "Mark Rutte" and per["NATO"][0].topic == "NATO membership"
    assert per["Ukraine"][0].actor == "Ukraine's Foreign Ministry"
    assert per["Russia"][0].actor == "Dmitry Peskov"
    rutte = index.positions_for(["Mark Rutte"], topic="peace talks")["Mark Rutte"]
    assert rutte[0].topic == "peace talks"


def test_when_helper_returns_the_normalised_date_and_paragraph(index, seed) -> None:
    summit = index.when("When did the NATO summit start?")[0]
    assert (summit.date, summit.paragraph_id) == ("2024-12-03", f"{seed.article_id}:p2")
    office = index.when("When does the Trump administration take office?")[0]
    assert office.date == "2025-01-20"
    memo = index.when("When was the Budapest Memorandum signed?")[0]
    assert memo.date == "1994"


def test_api_routes_return_the_documented_shapes(index, tmp_path) -> None:
    app = FastAPI()
    app.state.settings = Settings(index_dir=tmp_path)  # the route opens the same SQLite file
    app.include_router(router)
    client = TestClient(app)
    body = client.get("/api/positions", params={"actor": "Peskov"}).json()
    assert body["positions"]
    row = body["positions"][0]
    for key in ("actor", "aliases", "role", "verb", "stance", "quote", "start", "end", "topic", "direct",
                "paragraph_id", "article_id", "title", "published"):
        assert key in row
    assert row["paragraph_text"][row["start"] : row["end"]] == row["quote"]
    events = client.get("/api/timeline").json()["events"]
    for key in ("date", "precision", "date_text", "description", "actors", "place", "quote", "start", "end",
                "paragraph_id", "article_id", "title"):
        assert key in events[0]
    assert [e["date"] for e in events] == [e["date"] for e in sorted(events, key=lambda e: e["sort_date"])]
    assert client.get("/api/positions", params={"actor": "Nobody Atall"}).json() == {"positions": []}


def test_cli_commands_print_tables_and_json(index, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path))
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["positions", "Rutte", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["positions"]
    assert rows and all(r["actor"] == "Mark Rutte" for r in rows)
    res = runner.invoke(app, ["timeline", "--json"])
    assert [e["date"] for e in json.loads(res.output)["events"]][:3] == ["1994", "2014", "2022"]
    table = runner.invoke(app, ["positions", "Peskov", "--topic", "membership"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "Dmitry Peskov" in table.output and "dismiss" in table.output
    assert runner.invoke(app, ["timeline", "--actor", "Nobody Atall"]).exit_code == 1


# ---------------------------------------------------------------- indexed reads (issue 13)

QUESTIONS = [
    "What is Rutte's position on peace talks?",
    "How do NATO, Ukraine and Russia differ on Ukraine's membership?",
    "What did the Kremlin spokesman say about NATO?",
    "What did Zelensky acknowledge about military capacity?",
    "When did the NATO summit start?",
    "When does the Trump administration take office?",
    "When was the Budapest Memorandum signed?",
    "When did Russia violate Ukraine's sovereignty?",
    "What is the weather in Lisbon?",
]


def scanned_when(index: PositionsIndex, question: str, limit: int) -> list:
    """The "when" ranking as a scan over the whole timeline: what the indexed query must equal."""
    from qa_service.positions.index import content_words
    from qa_service.positions.store import actor_keys, matches

    words = content_words(question)
    actors = index.find_actors(question)
    scored = []
    for event in index.timeline():
        overlap = len(words & content_words(f"{event.description} {event.date_text}"))
        overlap += 0.5 * len(words & content_words(event.quote))
        if actors and any(matches(a, actor_keys(event.actors)) for a in actors):
            overlap += 1
        if overlap > 0:
            scored.append((overlap - len(event.description) / 10_000, event))
    scored.sort(key=lambda x: -x[0])
    return [e for _, e in scored[:limit]]


@pytest.mark.parametrize("question", QUESTIONS)
def test_indexed_lookups_equal_the_full_scans(index, question) -> None:
    actors = index.find_actors(question)
    best = index.best_positions(actors, topic=question)
    full = index.positions_for(actors, topic=question)
    assert best == {a: (full[a][0] if full[a] else None) for a in actors}
    assert index.when(question, limit=3) == scanned_when(index, question, 3)
    for event in index.timeline():
        assert index.events_in(event.paragraph_id) == [e for e in index.timeline()
                                                       if e.paragraph_id == event.paragraph_id]


# The per-index file older versions wrote: its first schema, and the last (ids and side columns).
OLD_SCHEMAS = {
    "v1": """
        CREATE TABLE articles (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, extractor TEXT NOT NULL,
                               title TEXT, published TEXT);
        CREATE TABLE actors (article_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
        CREATE TABLE positions (article_id TEXT NOT NULL, actor TEXT NOT NULL, keys TEXT NOT NULL, published TEXT,
                                data TEXT NOT NULL);
        CREATE TABLE events (article_id TEXT NOT NULL, sort_date TEXT NOT NULL, keys TEXT NOT NULL, data TEXT NOT NULL);
    """,
    "v3": """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE articles (article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, extractor TEXT NOT NULL,
                               title TEXT, published TEXT);
        CREATE TABLE actors (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
                             kind TEXT NOT NULL, role TEXT);
        CREATE TABLE positions (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, actor TEXT NOT NULL,
                                keys TEXT NOT NULL, published TEXT, data TEXT NOT NULL, paragraph_id TEXT NOT NULL,
                                start INTEGER NOT NULL, topic TEXT, topic_lc TEXT, stance_lc TEXT NOT NULL);
        CREATE TABLE events (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, sort_date TEXT NOT NULL,
                             keys TEXT NOT NULL, data TEXT NOT NULL, paragraph_id TEXT NOT NULL,
                             yearless INTEGER NOT NULL, desc_len INTEGER NOT NULL, topic_lc TEXT,
                             desc_lc TEXT NOT NULL, quote_lc TEXT NOT NULL);
        INSERT INTO meta VALUES ('generation', 7);
        PRAGMA user_version = 3;
    """,
}


@pytest.mark.parametrize("schema", sorted(OLD_SCHEMAS))
def test_an_old_positions_file_is_imported_once_with_order_kept(tmp_path, index, seed, schema) -> None:
    import sqlite3

    from sqlalchemy import select

    from qa_service.database.tables import pos_actors, pos_articles, pos_events, pos_positions

    (tmp_path / "old").mkdir()
    legacy = tmp_path / "old" / "positions.sqlite3"
    old = sqlite3.connect(legacy)
    old.executescript(OLD_SCHEMAS[schema])
    with index.store.engine.connect() as new:  # the records as the old code stored them, in order
        for table, src in (("articles", pos_articles), ("actors", pos_actors), ("positions", pos_positions),
                           ("events", pos_events)):
            columns = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
            query = select(*(src.c[c] for c in columns))
            rows = new.execute(query.order_by(src.c.id) if "id" in src.c else query).all()
            old.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(columns))})", [tuple(r) for r in rows])
    old.commit()
    old.close()
    migrated = PositionsIndex(Settings(index_dir=tmp_path / "old"), nlp=None)
    assert not legacy.exists() and (tmp_path / "old" / "positions.sqlite3.imported").is_file()
    assert migrated.positions() == index.positions() and migrated.timeline() == index.timeline()
    assert migrated.store.timeline(include_yearless=True) == index.store.timeline(include_yearless=True)
    assert migrated.actors() == index.actors()
    assert migrated.store.stance_counts() == index.store.stance_counts()
    for question in QUESTIONS:
        assert migrated.find_actors(question) == index.find_actors(question)
        assert migrated.when(question) == index.when(question)
    assert not migrated.needs_update(seed)
    # A store with entries never imports: the file turning up again is left alone, nothing doubled.
    imported = tmp_path / "old" / "positions.sqlite3.imported"
    imported.rename(legacy)
    again = PositionsIndex(Settings(index_dir=tmp_path / "old"), nlp=None)
    assert legacy.exists() and again.positions() == index.positions()
    # An emptied one (every article removed) takes it in again.
    again.remove_article(seed.article_id)
    assert PositionsIndex(Settings(index_dir=tmp_path / "old"), nlp=None).positions() == index.positions()
    assert not legacy.exists() and imported.exists()


def test_pages_and_the_generation(index, seed) -> None:
    everything = index.store.positions()
    assert index.store.positions(limit=3, offset=2) == everything[2:5]
    events = index.store.timeline(include_yearless=True)
    assert index.store.timeline(include_yearless=True, limit=2, offset=1) == events[1:3]
    before = index.version()
    index.update_article(seed, force=True)
    assert index.version() != before  # the answering chain's cached focus is dropped
    assert index.find_actors("What is Rutte's position?") == ["Mark Rutte"]
    index.remove_article(seed.article_id)
    assert index.version() != before and index.positions() == []
    assert index.find_actors("What is Rutte's position?") == [] and index.store.name_keys() == set()
    index.update_article(seed)
    assert index.find_actors("What did the Kremlin spokesman say?") == ["Dmitry Peskov"]


def test_name_keys_are_cached_for_names_not_for_whole_questions() -> None:
    """find_actors keys the whole question too; a server sees endless distinct ones, names recur."""
    from qa_service.text import _name_key, name_key

    question = "What did the Kremlin spokesman say about NATO's new Secretary General and the talks in Istanbul?"
    before = _name_key.cache_info().currsize
    assert name_key(question).startswith("What did the Kremlin spokesman")
    assert _name_key.cache_info().currsize == before
    assert name_key("the Zorblatt Institute's") == "Zorblatt Institute"  # a name never seen in this process
    assert _name_key.cache_info().currsize == before + 1
