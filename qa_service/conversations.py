"""Conversation history in SQLite, keyed by conversation id, bounded in size."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from qa_service.errors import NotFoundError


class ConversationStore:
    def __init__(self, path: Path, max_turns: int = 20, max_conversations: int = 10_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_turns = max_turns
        self.max_conversations = max_conversations
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")  # a CLI chat beside the server waits, not fails
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, updated REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS turns (
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, extra TEXT,
                PRIMARY KEY (conversation_id, seq));
            """
        )

    def new(self) -> str:
        cid = uuid.uuid4().hex
        with self._lock:
            self._db.execute("INSERT INTO conversations VALUES (?, ?)", (cid, time.time()))
            self._evict()
        return cid

    def exists(self, cid: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM conversations WHERE id=?", (cid,)).fetchone() is not None

    def history(self, cid: str) -> list[dict[str, str]]:
        if not self.exists(cid):
            raise NotFoundError(f"unknown conversation id {cid!r}")
        with self._lock:
            rows = self._db.execute(
                "SELECT role, content, extra FROM turns WHERE conversation_id=? ORDER BY seq", (cid,)
            ).fetchall()
        out = []
        for role, content, extra in rows:
            turn = {"role": role, "content": content}
            if extra:
                turn.update(json.loads(extra))
            out.append(turn)
        return out

    def append(self, cid: str, role: str, content: str, **extra: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("UPDATE conversations SET updated=? WHERE id=?", (time.time(), cid)).rowcount == 0:
                    raise NotFoundError(f"unknown conversation id {cid!r}")  # evicted meanwhile
                seq = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id=?", (cid,)
                ).fetchone()[0]
                self._db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                                 (cid, seq, role, content, json.dumps(extra) if extra else None))
                # Keep the newest turns only: a long chat must not grow without bound.
                self._db.execute("DELETE FROM turns WHERE conversation_id=? AND seq <= ?",
                                 (cid, seq - self.max_turns))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _evict(self) -> None:
        n = self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
        if n > self.max_conversations:
            old = [r[0] for r in self._db.execute(
                "SELECT id FROM conversations ORDER BY updated LIMIT ?", (n - self.max_conversations,))]
            self._db.executemany("DELETE FROM turns WHERE conversation_id=?", [(c,) for c in old])
            self._db.executemany("DELETE FROM conversations WHERE id=?", [(c,) for c in old])
