"""One-time import of index_dir/positions.sqlite3, the file older versions kept positions in.

Every schema that file had holds the same JSON records (articles rows; actors, positions
and events `data`; events' `keys`), so those are replayed into the service database in
their stored order, and the side tables are rebuilt from them as a write would. The file
is then renamed to positions.sqlite3.imported, so it is read once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

from qa_service.positions.models import ActorRecord, Event, Position
from qa_service.positions.store import PositionsStore

log = logging.getLogger(__name__)

LEGACY_FILE = "positions.sqlite3"


def import_legacy(index_dir: Path, store: PositionsStore) -> bool:
    """Replay index_dir/positions.sqlite3 into the store when the store is empty; True if imported."""
    path = index_dir / LEGACY_FILE
    if not path.is_file() or store.article_hashes():
        return False
    try:
        # mode=rw: a file another process just renamed is not created again, empty.
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
    except sqlite3.OperationalError:
        return False
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"articles", "actors", "positions", "events"} <= tables:
            return False  # not a positions file: leave it alone
        articles = conn.execute(
            "SELECT article_id, content_hash, extractor, title, published FROM articles ORDER BY rowid").fetchall()
        actors = [(aid, ActorRecord.model_validate_json(data)) for aid, data in
                  conn.execute("SELECT article_id, data FROM actors ORDER BY rowid")]
        positions = [(aid, Position.model_validate_json(data)) for aid, data in
                     conn.execute("SELECT article_id, data FROM positions ORDER BY rowid")]
        events = [(aid, Event.model_validate_json(data), json.loads(keys)) for aid, keys, data in
                  conn.execute("SELECT article_id, keys, data FROM events ORDER BY rowid")]
    except (sqlite3.DatabaseError, ValueError):
        # Unreadable: the service still starts; the next ingest extracts every article again.
        log.exception("cannot import %s; left in place", path)
        return False
    finally:
        conn.close()  # the last connection checkpoints and removes a -wal file
    imported = store.import_records(articles, actors, positions, events)
    if imported:
        log.info("imported %d articles' positions and events from %s", len(articles), path)
    else:
        log.info("not importing %s: the positions tables were filled meanwhile", path)
    for suffix in ("", "-wal", "-shm"):
        old = path.with_name(path.name + suffix)
        try:
            old.replace(old.with_name(f"{old.name}.imported"))
        except FileNotFoundError:
            pass  # never there, or renamed by a process importing at the same time
    return imported
