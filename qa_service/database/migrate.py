"""Alembic migrations, run programmatically at open so both README commands stay as they are."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from qa_service.database.engine import MIGRATION_LOCK_KEY

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # A batch migration recreates a table: with foreign keys on, that would cascade-delete
            # its children. The pragma only takes effect outside a transaction.
            _pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Replicas starting together migrate one after the other, not in a race.
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        finally:
            if sqlite:
                _pragma(conn, "PRAGMA foreign_keys=ON")


def _pragma(conn: Connection, sql: str) -> None:
    # On the driver's connection: through SQLAlchemy it would open a transaction first (autobegin).
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(sql)
