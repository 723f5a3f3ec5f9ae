"""SQLite persistence of positions and events, one article's entries replaced atomically."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from qa_service.models import Article
from qa_service.positions.lexicon import normalise
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, extractor TEXT NOT NULL,
    title TEXT, published TEXT);
CREATE TABLE IF NOT EXISTS actors (
    article_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    article_id TEXT NOT NULL, actor TEXT NOT NULL, keys TEXT NOT NULL, published TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    article_id TEXT NOT NULL, sort_date TEXT NOT NULL, keys TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS actors_article ON actors(article_id);
CREATE INDEX IF NOT EXISTS positions_article ON positions(article_id);
CREATE INDEX IF NOT EXISTS events_article ON events(article_id);
"""


def actor_keys(names: Sequence[str | None]) -> list[str]:
    """Lower-case match keys of an actor: its names, aliases, affiliations and surname."""
    keys: list[str] = []
    for name in names:
        if not name:
            continue
        key = normalise(name).lower()
        if key and key not in keys:
            keys.append(key)
    return keys


def matches(query: str | None, keys: list[str]) -> bool:
    """An actor query matches a whole key or a whole word sequence inside one ("rutte" in "mark rutte")."""
    if not query:
        return True
    q = normalise(query).lower()
    return any(q == k or f" {q} " in f" {k} " for k in keys)


def topic_matches(topic: str | None, *texts: str | None) -> bool:
    if not topic:
        return True
    t = topic.lower()
    return any(x and t in x.lower() for x in texts)


class PositionsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short-lived connection per call: safe from any thread of the web server.
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            yield conn
        finally:
            conn.close()

    # ------------------------------------------------------------ writes
    def replace_article(self, article: Article, entries: ArticleEntries, extractor: str = "") -> None:
        """Swap all of an article's entries in one transaction: readers see old or new, never half."""
        aid = article.article_id
        with self._connect() as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            self._delete(conn, aid)
            conn.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?, ?)",
                (aid, article.content_hash, extractor, article.title,
                 article.published.isoformat() if article.published else None),
            )
            conn.executemany("INSERT INTO actors VALUES (?, ?, ?)",
                             [(aid, a.name, a.model_dump_json()) for a in entries.actors])
            conn.executemany(
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?)",
                [(aid, p.actor, json.dumps(actor_keys([p.actor, *p.aliases, *p.affiliations])), p.published,
                  p.model_dump_json()) for p in entries.positions],
            )
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?)",
                [(aid, e.sort_date, json.dumps(self._event_keys(conn, e, entries.actors)),
                  e.model_dump_json())
                 for e in entries.events],
            )

    @staticmethod
    def _event_keys(conn: sqlite3.Connection, event: Event, actors: list[ActorRecord]) -> list[str]:
        names: list[str | None] = list(event.actors)
        for a in actors:
            if a.name in event.actors:
                names += [*a.aliases, *a.affiliations]
        return actor_keys(names)

    @staticmethod
    def _delete(conn: sqlite3.Connection, article_id: str) -> None:
        for table in ("articles", "actors", "positions", "events"):
            conn.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))

    def remove_article(self, article_id: str) -> None:
        with self._connect() as conn, conn:
            self._delete(conn, article_id)

    # ------------------------------------------------------------ reads
    def article_hashes(self) -> dict[str, tuple[str, str]]:
        """article_id -> (content_hash, extractor version) of what is stored."""
        with self._connect() as conn:
            rows = conn.execute("SELECT article_id, content_hash, extractor FROM articles").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def actors(self) -> list[ActorRecord]:
        """Actors merged across articles by name (aliases, roles and affiliations pooled)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT data FROM actors ORDER BY rowid").fetchall()
        merged: dict[str, ActorRecord] = {}
        for (data,) in rows:
            rec = ActorRecord.model_validate_json(data)
            have = merged.get(rec.name)
            if have is None:
                merged[rec.name] = rec
                continue
            have.aliases += [a for a in rec.aliases if a not in have.aliases]
            have.affiliations += [a for a in rec.affiliations if a not in have.affiliations]
            have.role = have.role or rec.role
        return list(merged.values())

    def positions(self, actor: str | list[str] | None = None,
                  topic: str | list[str] | None = None) -> list[Position]:
        """Positions of any of the actors given (and on any of the topics), oldest article first."""
        actors = _as_list(actor)
        topics = _as_list(topic)
        with self._connect() as conn:
            rows = conn.execute("SELECT keys, data FROM positions ORDER BY published, rowid").fetchall()
        out = []
        for keys, data in rows:
            if actors and not any(matches(a, json.loads(keys)) for a in actors):
                continue
            p = Position.model_validate_json(data)
            if not topics or any(topic_matches(t, p.topic, p.stance) for t in topics):
                out.append(p)
        return out

    def timeline(self, actor: str | None = None, topic: str | None = None,
                 include_yearless: bool = False) -> list[Event]:
        """Events oldest first; year-less ones ("--12-03") only when asked for, after the dated ones.

        Off by default so callers that compute with dates (the answering chain) never meet one.
        """
        with self._connect() as conn:
            rows = conn.execute("SELECT keys, data FROM events ORDER BY sort_date, rowid").fetchall()
        out = []
        for keys, data in rows:
            e = Event.model_validate_json(data)
            if is_yearless(e.date) and not include_yearless:
                continue
            if actor and not (matches(actor, json.loads(keys)) or topic_matches(actor, e.description)):
                continue
            if topic_matches(topic, e.topic, e.description, e.quote):
                out.append(e)
        out.sort(key=lambda e: is_yearless(e.date))  # stable: the dated ones keep their order
        return out


def is_yearless(iso: str) -> bool:
    return iso.startswith("--")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [v for v in items if v and v.strip()]
