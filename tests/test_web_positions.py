"""The positions/timeline API as the stance table and timeline pages use it: verbs as written,
one sentence's duplicates merged, facets, year-less dates kept (real spaCy, real SQLite)."""

from __future__ import annotations

import json
import shutil
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
from qa_service.positions import PositionsIndex, load_nlp
from qa_service.positions.cli import register
from qa_service.positions.routes import past_tense, router, verb_as_written

DATA = Path(__file__).resolve().parent.parent / "data" / "articles"
SEED = DATA / "nato-ukraine-military-aid.txt"
COFFEE = DATA / "coffee-prices-brazil-frost.txt"


def load_article(path: Path, article_id: str | None = None) -> Article:
    raws = [r for r in load_paths([path]) if isinstance(r, RawArticle)]
    assert len(raws) == 1
    return build_article(raws[0], article_id or slugify(raws[0].title))


@pytest.fixture(scope="module")
def nlp():
    return load_nlp()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, nlp) -> Path:
    """The seed (dated by its sidecar), the coffee article, and the seed's text without a sidecar."""
    where = tmp_path_factory.mktemp("positions")
    undated_dir = tmp_path_factory.mktemp("undated")
    shutil.copy(SEED, undated_dir / "undated-copy.txt")  # no .meta.json beside it: no publication date
    undated = load_article(undated_dir / "undated-copy.txt", "undated")
    assert undated.published is None
    index = PositionsIndex(Settings(index_dir=where), nlp)
    for article in (load_article(SEED), load_article(COFFEE), undated):
        index.update_article(article)
    return where


@pytest.fixture(scope="module")
def client(index_dir: Path) -> TestClient:
    app = FastAPI()
    app.state.settings = Settings(index_dir=index_dir)
    app.include_router(router)
    return TestClient(app)


def test_past_tense_of_stance_verbs() -> None:
    assert [past_tense(v) for v in ("say", "tell", "deny", "emphasize", "dismiss", "call for", "admit", "stress")] == [
        "said", "told", "denied", "emphasized", "dismissed", "called for", "admitted", "stressed"]


def test_verbs_are_shown_as_written_in_the_past_tense(client: TestClient) -> None:
    rows = client.get("/api/positions", params={"actor": "Rutte"}).json()["positions"]
    verbs = {r["verb"]: r["verb_text"] for r in rows}
    assert verbs["dismiss"] == "dismissed" and verbs["warn"] == "warned" and verbs["clarify"] == "clarified"
    for r in rows:
        assert r["verb_text"] != r["verb"] or r["verb"] in ("put", "set")
        head = r["verb_text"].split()[0]
        if r["verb"] != "according to":
            assert head.lower() in r["quote"].lower() or head == past_tense(r["verb"]).split()[0]


def test_according_to_reads_as_said(nlp) -> None:
    from qa_service.positions.models import Position

    quote = "The talks stalled, according to Rutte."
    p = Position(actor="Mark Rutte", actor_text="Rutte", verb="according to", stance="The talks stalled",
                 stance_start=0, stance_end=17, quote=quote, start=0, end=len(quote), paragraph_id="a:p1",
                 article_id="a")
    assert verb_as_written(p) == "said"


def test_merge_folds_one_sentences_duplicates(client: TestClient) -> None:
    raw = client.get("/api/positions").json()["positions"]
    merged = client.get("/api/positions", params={"merge": "true"}).json()["positions"]
    keys = [(r["actor"], r["paragraph_id"], r["start"], r["topic"]) for r in raw]
    assert len(merged) == len(set(keys)) < len(raw)  # the seed has sentences with two stance verbs
    by_key = {(r["actor"], r["paragraph_id"], r["start"], r["topic"]): r for r in merged}
    for r in raw:
        row = by_key[(r["actor"], r["paragraph_id"], r["start"], r["topic"])]
        assert r["verb_text"] in row["verbs"] and r["stance"] in row["stances"]
        assert row["verb_text"] == " and ".join(row["verbs"])


def test_several_actors_at_once_and_facets(client: TestClient) -> None:
    both = client.get("/api/positions", params=[("actor", "Rutte"), ("actor", "Peskov")]).json()["positions"]
    assert {r["actor"] for r in both} == {"Mark Rutte", "Dmitry Peskov"}
    facets = client.get("/api/positions/facets").json()
    counts = [a["count"] for a in facets["actors"]]
    assert counts == sorted(counts, reverse=True)
    rutte = next(a for a in facets["actors"] if a["name"] == "Mark Rutte")
    merged = client.get("/api/positions", params={"merge": "true"}).json()["positions"]
    assert rutte["count"] == sum(1 for r in merged if r["actor"] == "Mark Rutte")
    assert rutte["topics"] and "peace talks" in rutte["topics"]
    assert {t["name"] for t in facets["topics"]} >= {"NATO membership", "peace talks"}


def test_timeline_keeps_dates_without_a_year_last(client: TestClient) -> None:
    events = client.get("/api/timeline").json()["events"]
    yearless = [e for e in events if not e["year_known"]]
    assert {(e["date"], e["date_text"]) for e in yearless} >= {("--12-03", "December 3"), ("--01-20", "January 20")}
    assert all(e["article_id"] == "undated" for e in yearless)
    first_yearless = events.index(yearless[0])
    assert all(not e["year_known"] for e in events[first_yearless:])
    dated = [e["sort_date"] for e in events[:first_yearless]]
    assert dated == sorted(dated)
    assert all(e["year_known"] for e in client.get("/api/timeline", params={"yearless": "false"}).json()["events"])


def test_the_answering_chain_never_meets_a_yearless_date(index_dir: Path) -> None:
    index = PositionsIndex(Settings(index_dir=index_dir), nlp=None)
    assert index.timeline() and all(not e.date.startswith("--") for e in index.timeline())
    assert all(not e.date.startswith("--") for e in index.when("When did the NATO summit start?"))


def test_coffee_article_is_dated_right(client: TestClient) -> None:
    events = client.get("/api/timeline", params={"topic": "delivery"}).json()["events"]
    coffee = [e for e in events if e["date_text"] == "September"]
    assert [e["date"] for e in coffee] == ["2024-09"]
    everything = client.get("/api/timeline").json()["events"]
    assert not [e for e in everything if e["date_text"] == "2021"]  # "since 2021" is no event
    assert [e["date"] for e in everything if e["date_text"] == "July 2021"] == ["2021-07"]


def test_timeline_facets(client: TestClient) -> None:
    facets = client.get("/api/timeline/facets").json()
    assert any(a["name"] == "Russia" for a in facets["actors"])
    assert all(t["count"] >= 1 for t in facets["topics"])


def test_cli_timeline_keeps_yearless_dates(index_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["timeline", "--json"])
    assert res.exit_code == 0, res.output
    dates = [e["date"] for e in json.loads(res.output)["events"]]
    assert "--12-03" in dates and dates.index("--12-03") > dates.index("2025-01-20")
    table = CliRunner().invoke(app, ["timeline"], env={"COLUMNS": "200"})
    assert "year unknown" in table.output


def test_positions_and_timeline_pages(client: TestClient) -> None:
    everything = client.get("/api/positions").json()["positions"]
    page = client.get("/api/positions", params={"limit": 3, "offset": 2}).json()["positions"]
    assert page == everything[2:5]
    events = client.get("/api/timeline").json()["events"]
    assert client.get("/api/timeline", params={"limit": 2, "offset": 1}).json()["events"] == events[1:3]
    for bad in ({"limit": 0}, {"offset": -1}, {"limit": "many"}):
        assert client.get("/api/positions", params=bad).status_code == 422
        assert client.get("/api/timeline", params=bad).status_code == 422
