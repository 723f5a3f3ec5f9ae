"""Conversation history in SQLite, keyed by conversation id, bounded in size.

Besides the turns the answering chain reads back (role, content, the standalone
question), a conversation keeps a title (its first question) and, per answer, the
complete answer record (citations, closest paragraphs) so a page can show it again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_service.errors import NotFoundError
from qa_service.models import Answer, RetrievedParagraph

TITLE_CHARS = 120


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated: float  # Unix time of the last turn
    turns: int


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
            CREATE TABLE IF NOT EXISTS answers (
                conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
                PRIMARY KEY (conversation_id, seq));
            """
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}
        if "title" not in columns:  # a store written before titles existed
            self._db.execute("ALTER TABLE conversations ADD COLUMN title TEXT")

    def new(self) -> str:
        cid = uuid.uuid4().hex
        with self._lock:
            self._db.execute("INSERT INTO conversations (id, updated) VALUES (?, ?)", (cid, time.time()))
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
                if role == "user":  # the first question names the conversation
                    self._db.execute("UPDATE conversations SET title=? WHERE id=? AND title IS NULL",
                                     (" ".join(content.split())[:TITLE_CHARS], cid))
                # Keep the newest turns only: a long chat must not grow without bound.
                for table in ("turns", "answers"):
                    self._db.execute(f"DELETE FROM {table} WHERE conversation_id=? AND seq <= ?",
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
            for table, column in (("answers", "conversation_id"), ("turns", "conversation_id"),
                                  ("conversations", "id")):
                self._db.executemany(f"DELETE FROM {table} WHERE {column}=?", [(c,) for c in old])

    # -- for pages that list and show conversations ---------------------------------
    # The stored title, or for a conversation written before titles its oldest kept question.
    _TITLE = ("COALESCE(c.title, (SELECT content FROM turns u WHERE u.conversation_id = c.id AND u.role = 'user' "
              "ORDER BY u.seq LIMIT 1), '')")

    def recent(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Conversations with at least one question, most recently active first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.id, {self._TITLE}, c.updated, COUNT(t.seq) FROM conversations c "
                "JOIN turns t ON t.conversation_id = c.id "
                "GROUP BY c.id HAVING SUM(t.role = 'user') > 0 ORDER BY c.updated DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [ConversationSummary(id=r[0], title=" ".join(r[1].split())[:TITLE_CHARS], updated=r[2], turns=r[3])
                for r in rows]

    def summary(self, cid: str) -> ConversationSummary:
        with self._lock:
            row = self._db.execute(
                f"SELECT c.id, {self._TITLE}, c.updated, "
                "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) FROM conversations c WHERE c.id=?",
                (cid,),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"unknown conversation id {cid!r}")
        return ConversationSummary(id=row[0], title=" ".join((row[1] or "").split())[:TITLE_CHARS],
                                   updated=row[2], turns=row[3])

    def transcript(self, cid: str) -> list[dict[str, Any]]:
        """The turns in order; an assistant turn carries `answer` (the full record) once attached."""
        if not self.exists(cid):
            raise NotFoundError(f"unknown conversation id {cid!r}")
        with self._lock:
            rows = self._db.execute(
                "SELECT t.seq, t.role, t.content, t.extra, a.data FROM turns t LEFT JOIN answers a "
                "ON a.conversation_id = t.conversation_id AND a.seq = t.seq "
                "WHERE t.conversation_id=? ORDER BY t.seq", (cid,)
            ).fetchall()
        out = []
        for seq, role, content, extra, answer in rows:
            turn: dict[str, Any] = {"seq": seq, "role": role, "content": content}
            if extra:
                turn.update(json.loads(extra))
            if answer:
                turn["answer"] = json.loads(answer)
            out.append(turn)
        return out

    def attach_answer(self, cid: str, answer: dict[str, Any]) -> int | None:
        """Keep the full record of an answer beside its turn: the newest assistant turn with
        this text and no record yet. Returns that turn's seq, or None when there is none."""
        text = answer.get("answer")
        with self._lock:
            if self._db.execute("SELECT 1 FROM conversations WHERE id=?", (cid,)).fetchone() is None:
                raise NotFoundError(f"unknown conversation id {cid!r}")
            row = self._db.execute(
                "SELECT t.seq FROM turns t LEFT JOIN answers a "
                "ON a.conversation_id = t.conversation_id AND a.seq = t.seq "
                "WHERE t.conversation_id=? AND t.role='assistant' AND t.content=? AND a.seq IS NULL "
                "ORDER BY t.seq DESC LIMIT 1", (cid, text)
            ).fetchone()
            if row is None:
                return None
            self._db.execute("INSERT INTO answers VALUES (?, ?, ?)", (cid, row[0], json.dumps(answer)))
            return int(row[0])

    def delete(self, cid: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("DELETE FROM conversations WHERE id=?", (cid,)).rowcount == 0:
                    raise NotFoundError(f"unknown conversation id {cid!r}")
                self._db.execute("DELETE FROM turns WHERE conversation_id=?", (cid,))
                self._db.execute("DELETE FROM answers WHERE conversation_id=?", (cid,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


def answer_record(answer: Answer, closest: list[RetrievedParagraph] | None = None) -> dict[str, Any]:
    """What a conversation keeps of an answer: the text, its citations, the closest paragraphs."""
    kept = answer.retrieved[:3] if closest is None else closest
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "retrieved": [r.model_dump(mode="json", include={"paragraph_id", "article_id", "title", "text", "number",
                                                         "source", "published", "heading"}) for r in kept],
    }
