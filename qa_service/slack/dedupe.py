"""Remember Slack event ids so a retried or duplicated event never gets a second answer.

SQLite rather than a dict: it survives restarts and is shared by several workers
(Slack retries after 1 and 5 minutes, possibly reaching another process). Rows older
than the TTL are pruned, so the table stays bounded.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path


class SeenEvents:
    def __init__(self, path: Path, *, ttl_s: float = 3600.0, prune_every: int = 200) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self.prune_every = prune_every
        self._inserts = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, seen REAL NOT NULL)"
            )

    def first_time(self, event_id: str) -> bool:
        """True exactly once per event id within the TTL (atomic across processes)."""
        now = time.time()
        with self._lock, self._db:
            self._inserts += 1
            if self._inserts % self.prune_every == 0:
                self._db.execute("DELETE FROM seen_events WHERE seen < ?", (now - self.ttl_s,))
            # An expired row is replaced, a live one kept: rowcount tells which happened.
            cur = self._db.execute(
                "INSERT INTO seen_events VALUES (?, ?) "
                "ON CONFLICT(event_id) DO UPDATE SET seen = excluded.seen WHERE seen_events.seen < ?",
                (event_id, now, now - self.ttl_s),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
