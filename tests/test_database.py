"""The service's database: migrations build what tables.py declares (SQLite and a real
PostgreSQL), opening twice from two processes is harmless, and the per-store SQLite files
of older versions are imported once."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from qa_service.conversations import ConversationStore
from qa_service.database import open_database, writer_lock
from qa_service.database.engine import make_engine
from qa_service.database.legacy import import_legacy
from qa_service.database.migrate import alembic_config
from qa_service.database.tables import metadata
from qa_service.errors import InvalidInputError
from qa_service.slack.dedupe import SeenEvents
from qa_service.slack.feedback import FeedbackStore

ROOT = Path(__file__).resolve().parent.parent
SERVICE_STATE = {"conversations", "conversation_turns", "conversation_answers", "feedback_answers",
                 "feedback_ratings", "seen_events", "jobs"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def test_migrations_build_exactly_the_declared_tables(url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = open_database(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        names = set(engine.dialect.get_table_names(conn))
    assert SERVICE_STATE <= names


def test_other_processes_open_the_same_database_without_failing(url: str) -> None:
    code = ("import sys; from qa_service.database import open_database; "
            "from qa_service.conversations import ConversationStore; "
            "print(ConversationStore(open_database(sys.argv[1])).new())")
    # Two at once on a new database: the second waits for the first's migration (advisory lock /
    # IMMEDIATE), then finds it done.
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    store = ConversationStore(open_database(url))
    assert all(store.exists(out.strip()) for out, _ in outs)


# -- the files older versions kept in QA_INDEX_DIR (their CREATE TABLEs, as they were) -------------

OLD_CONVERSATIONS = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, extra TEXT,
    PRIMARY KEY (conversation_id, seq));
CREATE TABLE IF NOT EXISTS answers (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq));
ALTER TABLE conversations ADD COLUMN title TEXT;
INSERT INTO conversations VALUES ('c1', 100.0, 'Who pledged missiles?'), ('c2', 200.0, NULL);
INSERT INTO turns VALUES ('c1', 1, 'user', 'Who pledged missiles?', NULL),
    ('c1', 2, 'assistant', 'Germany [1].', NULL),
    ('c1', 3, 'user', 'How many?', '{"standalone_question": "How many missiles did Germany pledge?"}'),
    ('c2', 1, 'user', 'Untitled old question', NULL),
    ('gone', 1, 'user', 'a turn whose conversation was evicted', NULL);
INSERT INTO answers VALUES ('c1', 2, '{"answer": "Germany [1].", "citations": []}');
"""

OLD_FEEDBACK = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY, created REAL NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    abstained INTEGER NOT NULL, citations TEXT NOT NULL, channel TEXT, thread_ts TEXT, user TEXT);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id), user TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')), created REAL NOT NULL,
    PRIMARY KEY (answer_id, user));
INSERT INTO answers VALUES ('a1', 1.0, 'Q1?', 'It was X [1].', 0, '[{"quote": "It was X"}]', 'C1', '1.1', 'U0'),
    ('a2', 2.0, 'Q2?', 'No idea.', 1, '[]', 'C1', NULL, 'U0');
INSERT INTO feedback VALUES ('a1', 'U1', 'helpful', 3.0), ('a1', 'U2', 'helpful', 4.0),
    ('a2', 'U1', 'not_helpful', 5.0);
"""

OLD_EVENTS = "CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen REAL NOT NULL);"


def _write_old(path: Path, script: str, *rows: tuple[str, float]) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(script)
        if rows:
            db.executemany("INSERT INTO seen_events VALUES (?, ?)", rows)
    db.close()


def test_old_store_files_are_imported_once(tmp_path: Path) -> None:
    import time

    index = tmp_path / "index"
    index.mkdir()
    _write_old(index / "conversations.sqlite3", OLD_CONVERSATIONS)
    _write_old(index / "feedback.sqlite3", OLD_FEEDBACK)
    _write_old(index / "slack_events.sqlite3", OLD_EVENTS, ("Elive", time.time()), ("Eold", time.time() - 7200))

    engine = open_database(f"sqlite:///{index / 'state.sqlite3'}", legacy_dir=index)
    for name in ("conversations", "feedback", "slack_events"):
        assert not (index / f"{name}.sqlite3").exists() and (index / f"{name}.sqlite3.imported").exists()

    conversations = ConversationStore(engine)
    assert conversations.history("c1")[2] == {"role": "user", "content": "How many?",
                                              "standalone_question": "How many missiles did Germany pledge?"}
    assert conversations.transcript("c1")[1]["answer"] == {"answer": "Germany [1].", "citations": []}
    assert [(c.id, c.title, c.turns) for c in conversations.recent()] == [
        ("c2", "Untitled old question", 1), ("c1", "Who pledged missiles?", 3)]
    assert not conversations.exists("gone")

    out = io.StringIO()
    assert FeedbackStore(engine).export_jsonl(out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["id"] == "slack-a1" and lines[0]["votes"] == {"helpful": 2, "not_helpful": 0}
    assert lines[0]["answers"] == ["It was X."] and lines[0]["answerable"] is True
    assert lines[1]["id"] == "slack-a2" and lines[1]["answerable"] is False

    seen = SeenEvents(engine)
    assert not seen.first_time("Elive")  # a retry of an event answered before the upgrade stays dropped
    assert seen.first_time("Eold")  # expired, as it would have been

    # Another old file appearing later (a restore, a second copy) is not merged into live data.
    _write_old(index / "conversations.sqlite3", OLD_CONVERSATIONS.replace("'c1'", "'c9'"))
    assert import_legacy(engine, index) == {}
    assert (index / "conversations.sqlite3").exists() and not conversations.exists("c9")


def test_settings_without_a_database_url_import_from_index_dir(tmp_path: Path) -> None:
    from qa_service.config import Settings

    _write_old(tmp_path / "slack_events.sqlite3", OLD_EVENTS, ("E1", 4e9))  # far future: still live
    engine = open_database(Settings(index_dir=tmp_path, database_url=None))
    assert str(engine.url) == f"sqlite:///{tmp_path.resolve() / 'state.sqlite3'}"
    assert not SeenEvents(engine).first_time("E1")
    assert (tmp_path / "slack_events.sqlite3.imported").exists()


def test_a_value_the_database_refuses_is_the_callers_error(url: str) -> None:
    """PostgreSQL stores no NUL character in text: a 422 (InvalidInputError), never a 500."""
    store = ConversationStore(open_database(url))
    cid = store.new()
    if url.startswith("postgresql"):
        with pytest.raises(InvalidInputError):
            store.append(cid, "user", "a question with a \x00 inside")
        with pytest.raises(InvalidInputError):
            store.exists("id\x00")
    else:
        store.append(cid, "user", "a question with a \x00 inside")  # SQLite stores it as it is
    store.append(cid, "user", "the next question")  # the store is still usable after the refusal
    assert store.history(cid)[-1]["content"] == "the next question"


def test_one_article_writer_at_a_time_across_replicas(postgres_url: str) -> None:
    """writer_lock: a second replica's ingest waits for the first's (PostgreSQL advisory lock)."""
    first, second = make_engine(postgres_url), make_engine(postgres_url)  # two replicas' own pools
    open_database(postgres_url)  # migrated
    entered = threading.Event()

    def other_replica() -> None:
        with writer_lock(second, poll_s=0.05):
            entered.set()

    with writer_lock(first):
        thread = threading.Thread(target=other_replica)
        thread.start()
        assert not entered.wait(1.0), "the second writer got in while the first held the lock"
        ConversationStore(first).new()  # the holder's own writes do not wait on it
    assert entered.wait(30), "the second writer never got the lock after the first let go"
    thread.join()
    with writer_lock(first):  # released again by the second: taken at once
        pass
