"""The positions store on both databases (real SQLite, real PostgreSQL, real spaCy): the same
results from each, and what one replica writes another reads, its caches told by the generation."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from qa_service.config import Settings
from qa_service.database import open_database
from qa_service.database.engine import make_engine
from qa_service.database.tables import pos_actors
from qa_service.loaders import build_article, load_paths
from qa_service.loaders.common import RawArticle, slugify
from qa_service.models import Article
from qa_service.positions import PositionsIndex, extract_article, load_nlp
from qa_service.positions.index import _Held, question_spans
from qa_service.positions.models import ActorRecord, ArticleEntries
from qa_service.positions.store import PositionsStore, content_words
from qa_service.structured import StructuredLayer

DATA = Path(__file__).resolve().parent.parent / "data" / "articles"

QUESTIONS = [
    "What is Rutte's position on peace talks?",
    "How do NATO, Ukraine and Russia differ on Ukraine's membership?",
    "What did the Kremlin spokesman say about NATO?",
    "When did the NATO summit start?",
    "When does the Trump administration take office?",
    "When was the Budapest Memorandum signed?",
    "What happened to coffee prices after the frost in Brazil?",
    "When will the tourist tax in Lisbon rise?",
    "When does the chip plant in Dresden open?",
    "What is the weather in Lisbon?",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[Article, ArticleEntries]]:
    """The sample articles (every format) and an undated copy of the seed, with their extracted entries."""
    nlp = load_nlp()
    undated = tmp_path_factory.mktemp("undated") / "undated-copy.txt"
    shutil.copy(DATA / "nato-ukraine-military-aid.txt", undated)  # no sidecar: no year for "December 3"
    raws = [r for r in load_paths([DATA, undated]) if isinstance(r, RawArticle)]
    articles = [build_article(r, slugify(r.title) + ("-undated" if r.published is None else "")) for r in raws]
    assert len(articles) >= 6 and any(a.published is None for a in articles)
    return [(a, extract_article(a, nlp)) for a in articles]


def sqlite_url(where: Path) -> str:
    return f"sqlite:///{where / 'state.sqlite3'}"


def fill(store: PositionsStore, corpus: list[tuple[Article, ArticleEntries]]) -> None:
    """Every article, then one changed, one removed and one stored again: the counted rows move both ways."""
    for article, entries in corpus:
        store.replace_article(article, entries, extractor="x")
    article, entries = corpus[0]
    dropped = {p.paragraph_id for p in article.paragraphs[1:3]}
    changed = article.model_copy(update={"content_hash": "changed"})
    store.replace_article(changed, entries.model_copy(update={
        "positions": [p for p in entries.positions if p.paragraph_id not in dropped],
        "events": [e for e in entries.events if e.paragraph_id not in dropped],
        "actors": entries.actors[1:]}), extractor="x")
    store.remove_article(corpus[1][0].article_id)
    store.replace_article(*corpus[2], extractor="y")


def _longest(store: PositionsStore) -> int:
    """Most words in a name or affiliation key: what PositionsIndex bounds a question's spans by."""
    return max((len(k.split()) for k in store.name_keys()), default=0)


def snapshot(store: PositionsStore) -> dict[str, object]:
    """What every read answers, over names, topics and questions taken from the stored entries."""
    actors = store.actors()
    names = sorted({a.name for a in actors} | {x for a in actors for x in [*a.aliases, *a.affiliations]})
    names += ["Rutte", "Nobody Atall"]
    topics = ["membership", "peace", "price", "tax", "nothing like this"]
    events = store.timeline(include_yearless=True)
    out: dict[str, object] = {
        "generation": store.generation(), "hashes": store.article_hashes(), "actors": actors,
        "positions": store.positions(), "pages": [store.positions(limit=3, offset=2), store.positions(offset=5)],
        "by_actor": [store.positions(actor=n) for n in names], "several": store.positions(actor=names[:4]),
        "by_topic": [store.positions(topic=t) for t in topics],
        "both": store.positions(actor=["Rutte", "Peskov"], topic=["membership", "peace"]),
        "timeline": [store.timeline(), events, store.timeline(include_yearless=True, limit=2, offset=1)],
        "timeline_by": [store.timeline(actor=n) for n in names] + [store.timeline(topic=t) for t in topics],
        "events_in": [store.events_in(e.paragraph_id) for e in events],
        "stance_counts": store.stance_counts(), "keys": sorted(store.name_keys()),
        "forms": store.name_forms([a.name for a in actors]),
        "entries": [store.entries(aid) for aid in sorted(store.article_hashes())],
    }
    for q in QUESTIONS:
        words = content_words(q)
        haystack = " " + q.lower() + " "
        named, groups = store.named_in(question_spans(haystack, _longest(store)))
        out[q] = (named, sorted(groups), store.best_events(words, names[:3], 3), store.best_events(words, [], 5),
                  [store.best_position(n, words) for n in names], store.best_position("Rutte", set()))
    return out


def test_sqlite_and_postgresql_give_the_same_results(tmp_path, postgres_url, corpus) -> None:
    lite = PositionsStore(open_database(sqlite_url(tmp_path)))
    pg = PositionsStore(open_database(postgres_url))
    assert pg.engine.dialect.name == "postgresql"
    for store in (lite, pg):
        fill(store, corpus)
    got = snapshot(lite)
    assert got == snapshot(pg)
    # ... and they are results, not agreeing emptiness.
    assert got["positions"] and len(got["timeline"][1]) > len(got["timeline"][0]) > 0  # type: ignore[index]
    assert got["stance_counts"][2] and _longest(pg) > 1  # type: ignore[index]
    assert any(got[q][2] for q in QUESTIONS) and any(got[q][0] for q in QUESTIONS)  # type: ignore[index]
    # Stored in the order given: an article's entries come back as extracted.
    article, entries = corpus[3]
    assert pg.entries(article.article_id) == entries == lite.entries(article.article_id)
    assert [e for e in pg.positions() if e.article_id == article.article_id] == entries.positions


def second_engine(backend: str, tmp_path: Path, postgres_url: str) -> tuple[Engine, Engine]:
    url = sqlite_url(tmp_path) if backend == "sqlite" else postgres_url
    return open_database(url), make_engine(url)  # a second pool: what another replica holds


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_what_one_replica_writes_another_reads(backend, tmp_path, request, corpus) -> None:
    postgres_url = request.getfixturevalue("postgres_url") if backend == "postgresql" else ""
    first, second = second_engine(backend, tmp_path, postgres_url)
    settings = Settings(index_dir=tmp_path)
    writer = PositionsIndex(settings, nlp=None, engine=first)
    reader = PositionsIndex(settings, nlp=None, engine=second)
    layer = StructuredLayer(reader, paragraphs=lambda _wanted: {})
    question = "When did the NATO summit start?"
    assert layer.focus(question) == [] and reader.positions() == []
    # The reader's in-memory look-ups (name keys, actor forms, an actor's positions) are cached
    # per generation: asked now, they must not hide what the writer stores next.
    spokesman = "What did the Kremlin spokesman say?"
    assert reader.find_actors(spokesman) == [] and reader.best_positions(["Rutte"]) == {"Rutte": None}
    before = reader.version()

    seed, entries = next((a, e) for a, e in corpus if "Rutte" in a.text and a.published)
    writer.store.replace_article(seed, entries, extractor="x")
    assert reader.version() != before  # the cached (empty) focus is not used again
    focus = layer.focus(question)
    assert [(p, e.date) for _, p, e in focus][:1] == [(f"{seed.article_id}:p2", "2024-12-03")]
    assert reader.positions(actor="Rutte") == writer.positions(actor="Rutte") != []
    assert reader.find_actors(spokesman) == ["Dmitry Peskov"]
    best = reader.best_positions(["Rutte"], topic="peace talks")["Rutte"]
    assert best is not None and best == writer.store.best_position("Rutte", content_words("peace talks"))

    middle = writer.version()
    reader.remove_article(seed.article_id)  # any replica may write
    assert writer.version() != middle and writer.positions() == [] and layer.focus(question) == []
    assert reader.find_actors(spokesman) == [] and reader.best_positions(["Rutte"]) == {"Rutte": None}
    second.dispose()


def test_replicas_writing_at_once_on_postgresql(tmp_path, postgres_url, corpus) -> None:
    """Two pools writing different articles at the same time: no deadlock, the counts add up."""
    engines = [open_database(postgres_url), make_engine(postgres_url)]
    stores = [PositionsStore(e) for e in engines]
    errors: list[BaseException] = []

    def write(which: int) -> None:
        try:
            for _ in range(3):
                for article, entries in corpus[which::2]:
                    stores[which].replace_article(article, entries, extractor="x")
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    lite = PositionsStore(open_database(sqlite_url(tmp_path)))
    for article, entries in corpus:
        lite.replace_article(article, entries, extractor="x")
    pg = stores[1]
    assert pg.generation() == 3 * len(corpus)
    assert pg.article_hashes() == lite.article_hashes() and pg.stance_counts() == lite.stance_counts()
    assert pg.name_keys() == lite.name_keys()
    spans = question_spans(" " + " ".join(QUESTIONS).lower() + " ", _longest(lite))
    assert pg.named_in(spans)[0] == lite.named_in(spans)[0]
    assert sorted(pg.named_in(spans)[1]) == sorted(lite.named_in(spans)[1])
    for aid in lite.article_hashes():
        assert pg.entries(aid) == lite.entries(aid)
    engines[1].dispose()


def test_names_are_found_when_no_actor_has_an_affiliation(tmp_path, corpus) -> None:
    """The longest key bounds the spans looked up: no affiliation row anywhere must not make it 0."""
    index = PositionsIndex(Settings(index_dir=tmp_path), nlp=None)
    article = corpus[0][0]
    rutte = ActorRecord(name="Mark Rutte", kind="PERSON", aliases=["Rutte"])
    index.store.replace_article(article, ArticleEntries(article_id=article.article_id, actors=[rutte]))
    assert index._name_keys(index.version())[1] == 2
    assert index.find_actors("What did Rutte say?") == ["Mark Rutte"]


def test_all_actors_read_each_repeated_record_once_and_merge_the_same(tmp_path, corpus) -> None:
    """`actors()` parses a record repeated across articles once (322k rows, 17k distinct at 100k chunks);
    the merged records must be what merging every row in order gives, as `actors(names)` still does."""
    store = PositionsStore(open_database(sqlite_url(tmp_path)))
    fill(store, corpus)
    article, entries = corpus[3]
    rutte = ActorRecord(name="Mark Rutte", kind="PERSON", role="Prime Minister", affiliations=["Netherlands"])
    store.replace_article(article, entries.model_copy(update={"actors": [*entries.actors, rutte]}), extractor="x")
    with store.engine.connect() as conn:
        data = [row.data for row in conn.execute(select(pos_actors.c.data))]
    assert len(set(data)) < len(data)  # the undated copy of the seed repeats its records
    every = store.actors()
    assert every == store.actors([a.name for a in every])
    merged = next(a for a in every if a.name == "Mark Rutte")
    assert "Netherlands" in merged.affiliations and merged.role  # pooled from several articles


def test_best_positions_in_memory_rank_as_the_sql_query_does(tmp_path, corpus) -> None:
    """`PositionsIndex.best_positions` ranks each actor's positions in memory (kept per generation);
    it must pick what `PositionsStore.best_position`'s query picks, ties (oldest, undated first) included."""
    index = PositionsIndex(Settings(index_dir=tmp_path), nlp=None, engine=open_database(sqlite_url(tmp_path)))
    fill(index.store, corpus)
    actors = index.store.actors()
    names = sorted({a.name for a in actors} | {x for a in actors for x in [*a.aliases, *a.affiliations]})
    assert len(names) > 20
    for topic in [None, *QUESTIONS, "membership", "peace talks military aid", "nothing like this"]:
        words = content_words(topic) if topic else set()
        got = index.best_positions(names, topic=topic)
        assert got == {n: index.store.best_position(n, words) for n in names}
    assert sum(p is not None for p in got.values()) > 10


def test_term_positions_come_oldest_first_with_their_words_padded(tmp_path, corpus) -> None:
    """What the in-memory ranking relies on: undated first, then by date, then by id; each
    position's words as " word word " so that " word " finds whole words only."""
    store = PositionsStore(open_database(sqlite_url(tmp_path)))
    fill(store, corpus)
    held = [store.term_positions(t) for t in sorted(store.name_keys())]
    assert sum(map(len, held)) > 20
    for rows in held:
        assert rows == sorted(rows, key=lambda r: (r[1], r[0]))
        assert all(w.startswith(" ") and w.endswith(" ") for _, _, w in rows)


def test_most_shared_counts_whole_words_and_prefers_the_oldest() -> None:
    held = _Held([(7, "", " aids war "), (3, "2020-01-02", " aid "), (5, "2021-05-06", " aid war "), (9, "2022", "  ")])
    assert held.most_shared((" aid ", " war ")) == 5  # both words; "aids" is not "aid"
    assert held.most_shared((" aid ",)) == 3  # the oldest of two sharing one word
    assert held.most_shared((" war ",)) == 7  # undated comes first
    assert held.most_shared((" peace ",)) == 7  # none shares a word: the oldest
    assert held.most_shared(()) == 7
    assert _Held([]).most_shared((" aid ",)) is None


_WORDS = ["aid", "aids", "said", "war", "wars", "peace", "talk", "talks", "nato"]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["", "2020-01-02", "2021", "2021-05-06"]),
                               st.lists(st.sampled_from(_WORDS), max_size=5)), max_size=12),
       asked=st.sets(st.sampled_from(_WORDS), max_size=4))
def test_most_shared_picks_what_ranking_every_position_picks(rows, asked) -> None:
    """Against the ranking it replaced: most shared words, then oldest (undated first), then lowest id."""
    held = sorted(((i, p, f" {' '.join(ws)} ") for i, p, ws in rows), key=lambda r: (r[1], r[0]))
    ranked = [(i, p, frozenset(w.split())) for i, p, w in held]
    old = min(ranked, key=lambda r: (-len(frozenset(asked) & r[2]), r[1], r[0]), default=None)
    got = _Held(held).most_shared(tuple(f" {w} " for w in asked))
    assert got == (old[0] if old is not None else None)


def test_positions_read_by_two_threads_at_once_are_counted_once(tmp_path, corpus, monkeypatch) -> None:
    """Both threads miss the cache and read; the entry kept is counted once, or the bound on positions
    held would drift up until every read evicted all the rest."""
    index = PositionsIndex(Settings(index_dir=tmp_path), nlp=None, engine=open_database(sqlite_url(tmp_path)))
    fill(index.store, corpus)
    both_missed = threading.Barrier(2, timeout=30)
    read = index.store.term_positions

    def slow_read(actor: str) -> list[tuple[int, str, str]]:
        both_missed.wait()
        return read(actor)

    monkeypatch.setattr(index.store, "term_positions", slow_read)
    threads = [threading.Thread(target=index.best_positions, args=(["Rutte"],)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (held,) = index._terms.values()
    assert held and index._held == len(held)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_positions_stored_before_the_rank_table_are_ranked_the_same_after_migrating(backend, tmp_path, request,
                                                                                     corpus) -> None:
    """Migration 0003 fills pos_position_rank from the positions a 0002 database holds."""
    from sqlalchemy import text

    from qa_service.database.migrate import upgrade

    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = PositionsStore(open_database(url))
    fill(store, corpus)
    terms = sorted(store.name_keys())
    before = {t: sorted(store.term_positions(t), key=str) for t in terms}
    assert sum(map(len, before.values())) > 20 and any(w for held in before.values() for _, _, w in held)
    with store.engine.begin() as conn:  # back to revision 0002: no rank table
        conn.execute(text("DROP TABLE pos_position_rank"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    upgrade(store.engine)
    assert {t: sorted(store.term_positions(t), key=str) for t in terms} == before


def test_an_outlet_the_question_names_as_its_source_is_not_an_actor(tmp_path) -> None:
    """"Did the TechCrunch article say ...?" names where it was reported, not who said it: the layer
    looks for actors in the question without its outlets (the positions of "TechCrunch" stay its own)."""
    from qa_service.news_signals import outlet_spans
    from qa_service.positions.models import Position

    index = PositionsIndex(Settings(index_dir=tmp_path), nlp=None, engine=open_database(sqlite_url(tmp_path)))
    text = "TechCrunch said the merger would fail."
    said = Position(actor="TechCrunch", actor_text="TechCrunch", verb="say", stance="the merger would fail",
                    stance_start=16, stance_end=37, quote=text, start=0, end=len(text), article_id="a",
                    paragraph_id="a:p1", paragraph_text=text)
    other = "Age Concern said pensions must rise."
    age = Position(actor="Age Concern", actor_text="Age Concern", verb="say", stance="pensions must rise",
                   stance_start=17, stance_end=35, quote=other, start=0, end=len(other), article_id="a",
                   paragraph_id="a:p2", paragraph_text=other)
    index.store.replace_article(Article(article_id="a", title="Merger", content_hash="h"), ArticleEntries(
        article_id="a", positions=[said, age],
        actors=[ActorRecord(name="TechCrunch", kind="ORG"), ActorRecord(name="Age Concern", kind="ORG")]))
    known = {"techcrunch": "TechCrunch", "cnbc | world business news leader": "Cnbc | World Business News Leader",
             "the age": "The Age"}
    question = "Did the TechCrunch article say that the merger would fail?"
    assert [actor for actor, _, _ in StructuredLayer(index, paragraphs=lambda _wanted: {}).focus(question)] == [
        "TechCrunch"]
    layer = StructuredLayer(index, paragraphs=lambda _wanted: {}, outlets=lambda q: outlet_spans(q, known))
    assert layer.focus(question) == []
    # An outlet's name running on into a longer name is that name: "Age Concern" is not "The Age".
    assert [actor for actor, _, _ in layer.focus("What did Age Concern say about pensions?")] == ["Age Concern"]
    assert outlet_spans("Did Cnbc | World Business News Leader's piece and The Verge agree?", known) == [(4, 37)]
