"""One-time import of the per-store SQLite files older versions kept in index_dir.

Before the shared database, conversations, Slack feedback and Slack event ids each had a
file of their own. On the SQLite default, the first open copies such a file's rows into
the new tables (only while those are empty) and renames it to *.imported, so it is never
read again and stays there should anyone want it back.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Connection, Engine, Table, insert, select

from qa_service.database.engine import write_transaction
from qa_service.database.tables import (
    conversation_answers,
    conversation_turns,
    conversations,
    feedback_answers,
    feedback_ratings,
    seen_events,
)

log = logging.getLogger(__name__)

# file -> [(old table, new table, (the new parent table, FK column) or None)], parents first
_Copy = tuple[str, Table, tuple[Table, str] | None]
LEGACY_FILES: dict[str, list[_Copy]] = {
    "conversations.sqlite3": [
        ("conversations", conversations, None),
        ("turns", conversation_turns, (conversations, "conversation_id")),
        ("answers", conversation_answers, (conversations, "conversation_id")),
    ],
    "feedback.sqlite3": [
        ("answers", feedback_answers, None),
        ("feedback", feedback_ratings, (feedback_answers, "answer_id")),
    ],
    "slack_events.sqlite3": [("seen_events", seen_events, None)],
}
_BATCH = 500


def import_legacy(engine: Engine, legacy_dir: Path) -> dict[str, int]:
    """Copy each old file found in legacy_dir whose tables are still empty; rows copied per file."""
    copied: dict[str, int] = {}
    for name, copies in LEGACY_FILES.items():
        path = legacy_dir / name
        if not path.is_file():
            continue
        try:
            n = _import_file(engine, path, copies)
        except Exception:  # the service runs without the old history rather than not at all
            log.exception("could not import %s; it is left where it is", path)
            continue
        if n is None:
            log.warning("%s not imported: the database already holds its kind of rows", path)
            continue
        for suffix in ("", "-wal", "-shm"):
            old = Path(f"{path}{suffix}")
            if old.exists():
                old.rename(f"{path}.imported{suffix}")
        log.info("imported %d rows from %s (renamed to %s.imported)", n, path, path.name)
        copied[name] = n
    return copied


def _import_file(engine: Engine, path: Path, copies: list[_Copy]) -> int | None:
    """None when the target tables already have rows (someone imported it, or new rows exist)."""
    # IMMEDIATE: a second process opening the same database waits, then finds the rows there.
    with write_transaction(engine) as conn:
        if any(conn.execute(select(1).select_from(new).limit(1)).first() is not None for _, new, _ in copies):
            return None
        src = sqlite3.connect(str(path))
        try:
            return sum(_copy_table(src, conn, old, new, parent) for old, new, parent in copies)
        finally:
            src.close()


def _copy_table(src: sqlite3.Connection, conn: Connection, old: str, new: Table,
                parent: tuple[Table, str] | None) -> int:
    old_columns = {row[1] for row in src.execute(f"PRAGMA table_info({old})")}  # noqa: S608 (fixed names)
    if not old_columns:
        return 0  # a file from before this table existed
    columns = [c for c in new.columns if c.name in old_columns]
    keep: set[Any] | None = None
    if parent is not None:  # rows whose parent the old store had already dropped would break the FK
        table, key = parent
        keep = set(conn.execute(select(table.primary_key.columns.values()[0])).scalars())
    n = 0
    quoted = ", ".join(f'"{c.name}"' for c in columns)  # "user" is a keyword in PostgreSQL, a name here
    for batch in _batches(src.execute(f"SELECT {quoted} FROM {old}")):  # noqa: S608 (fixed names)
        rows = [{c.name: (bool(v) if isinstance(c.type, Boolean) and v is not None else v)
                 for c, v in zip(columns, values, strict=True)} for values in batch]
        if keep is not None:
            rows = [r for r in rows if r[key] in keep]
        if rows:
            conn.execute(insert(new), rows)
            n += len(rows)
    return n


def _batches(cursor: sqlite3.Cursor) -> Iterator[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(_BATCH):
        yield batch
