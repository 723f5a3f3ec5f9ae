"""Remember Slack event ids so a retried or duplicated event never gets a second answer.

In the service's database rather than a dict: it survives restarts and is shared by every
replica (Slack retries after 1 and 5 minutes, possibly reaching another one). Rows older
than the TTL are pruned, so the table stays bounded.
"""

from __future__ import annotations

import itertools
import time

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite

from qa_service.database import write_transaction
from qa_service.database.tables import seen_events


class SeenEvents:
    def __init__(self, engine: Engine, *, ttl_s: float = 3600.0, prune_every: int = 200) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self.prune_every = prune_every
        self._calls = itertools.count(1)  # next() is atomic under the GIL: no lock needed
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def first_time(self, event_id: str) -> bool:
        """True exactly once per event id within the TTL (atomic across processes and replicas)."""
        now = time.time()
        cutoff = now - self.ttl_s
        # One statement decides: a new id is inserted, an expired row is replaced, a live one is
        # left alone. Both PostgreSQL and SQLite count a row the DO UPDATE's WHERE rejected as
        # not changed (rowcount 0); a concurrent insert of the same id waits for the winner.
        # preserve_rowcount: SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg's is
        # gone once the cursor is closed).
        stmt = self._insert(seen_events).values(event_id=event_id, seen=now)
        stmt = stmt.on_conflict_do_update(index_elements=[seen_events.c.event_id],
                                          set_={"seen": stmt.excluded.seen}, where=seen_events.c.seen < cutoff)
        stmt = stmt.execution_options(preserve_rowcount=True)
        with write_transaction(self.engine) as conn:
            if next(self._calls) % self.prune_every == 0:
                conn.execute(delete(seen_events).where(seen_events.c.seen < cutoff))
            return conn.execute(stmt).rowcount == 1

    def close(self) -> None:
        """Nothing to release: the engine's pool is shared by every store of the process."""
