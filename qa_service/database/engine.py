"""One pooled SQLAlchemy engine per database URL per process, migrated to head on first open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DataError
from sqlalchemy.pool import StaticPool

from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable, InvalidInputError

DATABASE = "the service database"

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def database_url(settings: Settings) -> str:
    """QA_DATABASE_URL, else one SQLite file beside the Chroma index (the embedded default)."""
    if settings.database_url:
        return settings.database_url
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.index_dir.resolve() / 'state.sqlite3'}"


def open_database(settings_or_url: Settings | str, pool_size: int = 5, *,
                  legacy_dir: Path | None = None) -> Engine:
    """The engine for this URL, made and migrated once per process (every store shares its pool).

    legacy_dir: where older versions kept one SQLite file per store, imported once on first
    open (SQLite only). Settings without QA_DATABASE_URL give their index_dir.
    """
    if isinstance(settings_or_url, Settings):
        url, pool_size = database_url(settings_or_url), settings_or_url.database_pool_size
        if legacy_dir is None and not settings_or_url.database_url:
            legacy_dir = settings_or_url.index_dir
    else:
        url = settings_or_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            from qa_service.database.migrate import upgrade  # alembic only when a database is opened

            engine = make_engine(url, pool_size)
            try:
                upgrade(engine)
            except BaseException:
                engine.dispose()  # the start-up retry loop makes a new one: no pools left behind
                raise
            if legacy_dir is not None and engine.dialect.name == "sqlite":
                from qa_service.database.legacy import import_legacy

                import_legacy(engine, legacy_dir)
            _engines[url] = engine
        return engine


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if not url.startswith("sqlite"):
        # pre_ping: a connection the server dropped (restart, failover) is replaced, not handed out.
        # connect_timeout: a host that does not answer is a 503 in seconds, not a hung request.
        # keepalives + statement_timeout: a server that stops answering mid-request is a 503
        # within a minute, not a thread stuck forever.
        connect_args = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                        "keepalives_count": 3, "options": "-c statement_timeout=60000"}
        engine = create_engine(url, pool_size=pool_size, max_overflow=3 * pool_size, pool_pre_ping=True,
                               pool_timeout=10, connect_args=connect_args)
        event.listen(engine, "handle_error", _translate)
        return engine
    memory = url in ("sqlite://", "sqlite:///:memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, or every checkout would see a new empty database
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below): pysqlite's own implicit transactions skip DDL
        # and cannot be made IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cur.execute("PRAGMA busy_timeout=30000")  # a CLI beside the server waits, not fails
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that reads first and
        # writes later fails at once ("database is locked") when another process wrote meanwhile.
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    event.listen(engine, "handle_error", _translate)
    return engine


def _translate(ctx: Any) -> BaseException | None:
    """A database that cannot be reached (or stays locked) becomes the one temporary error the
    front ends know (503 + Retry-After, not ready, CLI exit 75); a value the database refuses
    (PostgreSQL takes no NUL character in text) is the caller's error (422); every other error
    stays as it is."""
    exc = ctx.original_exception
    if ctx.is_disconnect or ctx.connection is None:  # dropped, or the connect itself failed
        return DependencyUnavailable(DATABASE, type(exc).__name__)
    if isinstance(ctx.sqlalchemy_exception, DataError):
        return InvalidInputError("the database refused a value (text with a NUL character, or a number out "
                                 "of range)")
    if "statement timeout" in str(exc) or "canceling statement" in str(exc):
        return DependencyUnavailable(DATABASE, "a statement timed out")
    if ctx.engine is not None and ctx.engine.dialect.name == "sqlite":
        if "locked" in str(exc) or "busy" in str(exc):  # another writer held it past busy_timeout
            return DependencyUnavailable(DATABASE, "locked by another writer")
    return None


def ping(engine: Engine) -> None:
    """One round trip (DependencyUnavailable when the database cannot be reached): for readiness."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


# The PostgreSQL advisory lock keys, all here so that no two uses share one: schema migration
# (migrate.py), one positions write transaction (positions/store.py), one article writer (below).
MIGRATION_LOCK_KEY = 7_311_402
POSITIONS_LOCK_KEY = 7_311_403
WRITER_LOCK_KEY = 7_311_404


@contextmanager
def writer_lock(engine: Engine, poll_s: float = 0.25) -> Iterator[None]:
    """One article writer at a time across every replica sharing this PostgreSQL database.

    An ingest derives positions, then commits to Chroma: two replicas interleaving those steps
    (or one re-syncing positions at start-up while another ingests) would leave positions that
    match neither article version. On SQLite (one machine) the callers' in-process lock is all
    there was before, and stays so. Polls pg_try_advisory_lock, so statement_timeout never
    cuts a long wait; the server drops the lock itself if this process dies.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": WRITER_LOCK_KEY}).scalar():
            conn.rollback()
            time.sleep(poll_s)
        conn.commit()  # the session-level lock outlives the transaction
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_LOCK_KEY})
            conn.commit()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-write transaction, committed on success and rolled back on error (SQLite: IMMEDIATE)."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn
