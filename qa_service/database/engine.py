"""One pooled SQLAlchemy engine per database URL per process, migrated to head on first open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable

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
            upgrade(engine)
            if legacy_dir is not None and engine.dialect.name == "sqlite":
                from qa_service.database.legacy import import_legacy

                import_legacy(engine, legacy_dir)
            _engines[url] = engine
        return engine


def make_engine(url: str, pool_size: int = 5) -> Engine:
    if not url.startswith("sqlite"):
        # pre_ping: a connection the server dropped (restart, failover) is replaced, not handed out.
        # connect_timeout: a host that does not answer is a 503 in seconds, not a hung request.
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                               pool_timeout=10, connect_args={"connect_timeout": 5})
        event.listen(engine, "handle_error", _unavailable)
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

    event.listen(engine, "handle_error", _unavailable)
    return engine


def _unavailable(ctx: Any) -> BaseException | None:
    """A database that cannot be reached (or stays locked) becomes the one temporary error the
    front ends know (503 + Retry-After, not ready, CLI exit 75); every other error stays as it is."""
    exc = ctx.original_exception
    if ctx.is_disconnect or ctx.connection is None:  # dropped, or the connect itself failed
        return DependencyUnavailable(DATABASE, type(exc).__name__)
    if ctx.engine is not None and ctx.engine.dialect.name == "sqlite":
        if "locked" in str(exc) or "busy" in str(exc):  # another writer held it past busy_timeout
            return DependencyUnavailable(DATABASE, "locked by another writer")
    return None


def ping(engine: Engine) -> None:
    """One round trip (DependencyUnavailable when the database cannot be reached): for readiness."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-write transaction, committed on success and rolled back on error (SQLite: IMMEDIATE)."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn
