"""SQLite persistence of positions and events, one article's entries replaced atomically.

The records stay JSON in `data`; side tables hold what the reads filter on (every word
span of an actor's names, an entry's content words, lower-cased texts), each indexed.
So what a question costs follows what it names, not how many articles there are: no
read on the request path scans or JSON-parses a whole table.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from qa_service.models import Article
from qa_service.positions.lexicon import normalise
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position
from qa_service.text import STOP_WORDS

# Bump when a side table's contents change meaning (e.g. content_words below): an older
# file is rebuilt from its JSON records on open.
SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, extractor TEXT NOT NULL,
    title TEXT, published TEXT);
CREATE TABLE IF NOT EXISTS actors (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL,
    kind TEXT NOT NULL, role TEXT);
CREATE TABLE IF NOT EXISTS positions (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, actor TEXT NOT NULL, keys TEXT NOT NULL,
    published TEXT, data TEXT NOT NULL,
    paragraph_id TEXT NOT NULL, start INTEGER NOT NULL, topic TEXT, topic_lc TEXT, stance_lc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, sort_date TEXT NOT NULL, keys TEXT NOT NULL,
    data TEXT NOT NULL, paragraph_id TEXT NOT NULL, yearless INTEGER NOT NULL, desc_len INTEGER NOT NULL,
    topic_lc TEXT, desc_lc TEXT NOT NULL, quote_lc TEXT NOT NULL);
-- For find_actors, one row per distinct (key, name), counted over the actor rows holding it, so a
-- name every article mentions is still one row: name keys (names, aliases, surname), affiliations,
-- and each name's merged record (first row's kind, aliases in order of appearance).
CREATE TABLE IF NOT EXISTS name_keys (
    key TEXT NOT NULL, name TEXT NOT NULL, words INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (key, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_keys (
    key TEXT NOT NULL, affiliation TEXT NOT NULL, name TEXT NOT NULL, words INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (key, affiliation, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS actor_forms (name TEXT PRIMARY KEY, kind TEXT NOT NULL, aliases TEXT NOT NULL);
-- Every whole-word span of an entry's actor keys: "rutte" and "mark rutte" for "mark rutte".
CREATE TABLE IF NOT EXISTS position_terms (term TEXT NOT NULL, pos INTEGER NOT NULL);
-- own = 1: the span is of the event's own actors (not of their aliases or affiliations).
CREATE TABLE IF NOT EXISTS event_terms (term TEXT NOT NULL, event INTEGER NOT NULL, own INTEGER NOT NULL);
-- Content words: of a position's topic and stance, of an event's description and date (weight 1)
-- and its sentence (0.5 more).
CREATE TABLE IF NOT EXISTS position_words (pos INTEGER NOT NULL, word TEXT NOT NULL, PRIMARY KEY (pos, word))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_words (
    event INTEGER NOT NULL, word TEXT NOT NULL, weight REAL NOT NULL, PRIMARY KEY (event, word)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS actors_article ON actors(article_id);
CREATE INDEX IF NOT EXISTS actors_name ON actors(name);
CREATE INDEX IF NOT EXISTS positions_article ON positions(article_id);
CREATE INDEX IF NOT EXISTS positions_order ON positions(published, id);
CREATE INDEX IF NOT EXISTS events_article ON events(article_id);
CREATE INDEX IF NOT EXISTS events_order ON events(yearless, sort_date, id);
CREATE INDEX IF NOT EXISTS events_paragraph ON events(paragraph_id);
CREATE INDEX IF NOT EXISTS name_keys_words ON name_keys(words);
CREATE INDEX IF NOT EXISTS group_keys_words ON group_keys(words);
CREATE INDEX IF NOT EXISTS position_terms_term ON position_terms(term, pos);
CREATE INDEX IF NOT EXISTS position_terms_pos ON position_terms(pos);
CREATE INDEX IF NOT EXISTS event_terms_term ON event_terms(term, own, event);
CREATE INDEX IF NOT EXISTS event_terms_event ON event_terms(event);
CREATE INDEX IF NOT EXISTS event_words_word ON event_words(word, event, weight);
"""

# Beyond function words, what "when" questions say around the event itself.
_STOP = STOP_WORDS | {"date", "day", "year", "happen", "happened", "take", "took", "place"}
_IN_CHUNK = 500  # bound parameters per IN (...) list


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    words = re.findall(r"[A-Za-z0-9]+", text.replace("’", "'").lower())
    return {_stem(w) for w in words if w not in _STOP and len(w) > 1}


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


def key_spans(keys: Iterable[str]) -> set[str]:
    """Every whole-word span of the keys: `matches(q, keys)` holds exactly when q's key is one of them."""
    out: set[str] = set()
    for key in keys:
        words = key.split(" ")
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                out.add(" ".join(words[i:j]))
    return out


def _name_keys(a: ActorRecord) -> list[str]:
    """An actor row's name keys; the surname of every row, since whether the merged record is a
    person (its first row's kind) is decided at read time."""
    return actor_keys([a.name, *a.aliases, a.name.split()[-1] if a.name.split() else None])


def topic_matches(topic: str | None, *texts: str | None) -> bool:
    if not topic:
        return True
    t = topic.lower()
    return any(x and t in x.lower() for x in texts)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for lo in range(0, len(values), _IN_CHUNK):
        yield values[lo : lo + _IN_CHUNK]


class PositionsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per thread, kept: opening one costs more than the indexed reads themselves.
        self._local = threading.local()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # stored in the file: once is enough
            self._migrate(conn)
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(self.path, timeout=30)
        yield conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """A file written by an older schema: rebuild every table from its JSON records, order kept."""
        if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
                return  # another process migrated it meanwhile
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "articles" not in tables:
                return  # a new file
            articles = conn.execute("SELECT * FROM articles").fetchall()
            actors = conn.execute("SELECT article_id, data FROM actors ORDER BY rowid").fetchall()
            positions = conn.execute("SELECT article_id, data FROM positions ORDER BY rowid").fetchall()
            events = conn.execute("SELECT article_id, keys, data FROM events ORDER BY rowid").fetchall()
            for table in tables:
                conn.execute(f"DROP TABLE {table}")
            for statement in SCHEMA.split(";"):  # not executescript: that would commit half-way
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?)", articles)
            for aid, data in actors:
                self._insert_actor(conn, aid, ActorRecord.model_validate_json(data))
            for aid, data in positions:
                self._insert_position(conn, aid, Position.model_validate_json(data))
            for aid, keys, data in events:
                self._insert_event(conn, aid, Event.model_validate_json(data), json.loads(keys))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
            for a in entries.actors:
                self._insert_actor(conn, aid, a)
            for p in entries.positions:
                self._insert_position(conn, aid, p)
            for e in entries.events:
                self._insert_event(conn, aid, e, self._event_keys(e, entries.actors))
            self._bump(conn)

    @staticmethod
    def _insert_actor(conn: sqlite3.Connection, aid: str, a: ActorRecord) -> None:
        cur = conn.execute("INSERT INTO actors (article_id, name, data, kind, role) VALUES (?, ?, ?, ?, ?)",
                           (aid, a.name, a.model_dump_json(), a.kind, a.role))
        assert cur.lastrowid is not None
        conn.executemany("INSERT INTO name_keys VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET n = n + 1",
                         [(k, a.name, len(k.split(" "))) for k in _name_keys(a)])
        conn.executemany("INSERT INTO group_keys VALUES (?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET n = n + 1",
                         [(g.lower(), g, a.name, len(g.lower().split(" "))) for g in dict.fromkeys(a.affiliations)])
        row = conn.execute("SELECT aliases FROM actor_forms WHERE name = ?", (a.name,)).fetchone()
        if row is None:
            conn.execute("INSERT INTO actor_forms VALUES (?, ?, ?)",
                         (a.name, a.kind, json.dumps(list(dict.fromkeys(a.aliases)))))
        else:
            have = json.loads(row[0])
            new = [x for x in dict.fromkeys(a.aliases) if x not in have]
            if new:
                conn.execute("UPDATE actor_forms SET aliases = ? WHERE name = ?", (json.dumps(have + new), a.name))

    @staticmethod
    def _insert_position(conn: sqlite3.Connection, aid: str, p: Position) -> None:
        keys = actor_keys([p.actor, *p.aliases, *p.affiliations])
        cur = conn.execute(
            "INSERT INTO positions (article_id, actor, keys, published, data, paragraph_id, start, topic, topic_lc,"
            " stance_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (aid, p.actor, json.dumps(keys), p.published, p.model_dump_json(), p.paragraph_id, p.start, p.topic,
             p.topic.lower() if p.topic else None, p.stance.lower()))
        conn.executemany("INSERT INTO position_terms VALUES (?, ?)", [(t, cur.lastrowid) for t in key_spans(keys)])
        conn.executemany("INSERT INTO position_words VALUES (?, ?)",
                         [(cur.lastrowid, w) for w in content_words(f"{p.topic or ''} {p.stance}")])

    @staticmethod
    def _insert_event(conn: sqlite3.Connection, aid: str, e: Event, keys: list[str]) -> None:
        cur = conn.execute(
            "INSERT INTO events (article_id, sort_date, keys, data, paragraph_id, yearless, desc_len, topic_lc,"
            " desc_lc, quote_lc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (aid, e.sort_date, json.dumps(keys), e.model_dump_json(), e.paragraph_id, int(is_yearless(e.date)),
             len(e.description), e.topic.lower() if e.topic else None, e.description.lower(), e.quote.lower()))
        own = key_spans(actor_keys(list(e.actors)))
        conn.executemany("INSERT INTO event_terms VALUES (?, ?, ?)",
                         [(t, cur.lastrowid, int(t in own)) for t in key_spans(keys) | own])
        text_words = content_words(f"{e.description} {e.date_text}")
        quote_words = content_words(e.quote)
        conn.executemany("INSERT INTO event_words VALUES (?, ?, ?)",
                         [(cur.lastrowid, w, (w in text_words) + 0.5 * (w in quote_words))
                          for w in text_words | quote_words])

    @staticmethod
    def _event_keys(event: Event, actors: list[ActorRecord]) -> list[str]:
        names: list[str | None] = list(event.actors)
        for a in actors:
            if a.name in event.actors:
                names += [*a.aliases, *a.affiliations]
        return actor_keys(names)

    @staticmethod
    def _delete(conn: sqlite3.Connection, article_id: str) -> None:
        gone = [ActorRecord.model_validate_json(d) for (d,) in
                conn.execute("SELECT data FROM actors WHERE article_id = ?", (article_id,))]
        for a in gone:
            conn.executemany("UPDATE name_keys SET n = n - 1 WHERE key = ? AND name = ?",
                             [(k, a.name) for k in _name_keys(a)])
            conn.executemany("UPDATE group_keys SET n = n - 1 WHERE key = ? AND affiliation = ? AND name = ?",
                             [(g.lower(), g, a.name) for g in dict.fromkeys(a.affiliations)])
        conn.execute("DELETE FROM name_keys WHERE n <= 0")
        conn.execute("DELETE FROM group_keys WHERE n <= 0")
        for side, column, table in (("position_terms", "pos", "positions"), ("position_words", "pos", "positions"),
                                    ("event_terms", "event", "events"), ("event_words", "event", "events")):
            conn.execute(f"DELETE FROM {side} WHERE {column} IN (SELECT id FROM {table} WHERE article_id = ?)",
                         (article_id,))
        for table in ("articles", "actors", "positions", "events"):
            conn.execute(f"DELETE FROM {table} WHERE article_id = ?", (article_id,))
        for name in {a.name for a in gone}:  # merged records again, from the rows left
            rows = conn.execute("SELECT kind, data FROM actors WHERE name = ? ORDER BY id", (name,)).fetchall()
            if not rows:
                conn.execute("DELETE FROM actor_forms WHERE name = ?", (name,))
                continue
            aliases: list[str] = []
            for _, data in rows:
                aliases += [x for x in ActorRecord.model_validate_json(data).aliases if x not in aliases]
            conn.execute("UPDATE actor_forms SET kind = ?, aliases = ? WHERE name = ?",
                         (rows[0][0], json.dumps(aliases), name))

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta VALUES ('generation', 1) "
                     "ON CONFLICT(key) DO UPDATE SET value = value + 1")

    def remove_article(self, article_id: str) -> None:
        with self._connect() as conn, conn:
            self._delete(conn, article_id)
            self._bump(conn)

    # ------------------------------------------------------------ reads
    def generation(self) -> int:
        """Changes whenever any article's entries are replaced or removed (one indexed row)."""
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def article_hashes(self) -> dict[str, tuple[str, str]]:
        """article_id -> (content_hash, extractor version) of what is stored."""
        with self._connect() as conn:
            rows = conn.execute("SELECT article_id, content_hash, extractor FROM articles").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def article_hash(self, article_id: str) -> tuple[str, str] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT content_hash, extractor FROM articles WHERE article_id = ?",
                               (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def actors(self, names: Sequence[str] | None = None) -> list[ActorRecord]:
        """Actors merged across articles by name (aliases, roles and affiliations pooled); all, or those named."""
        with self._connect() as conn:
            if names is None:
                rows = conn.execute("SELECT id, data FROM actors ORDER BY id").fetchall()
            else:
                rows = []
                for part in _chunks(list(names)):
                    rows += conn.execute(f"SELECT id, data FROM actors WHERE name IN ({_marks(part)})",
                                         list(part)).fetchall()
                rows.sort()
        merged: dict[str, ActorRecord] = {}
        for _, data in rows:
            rec = ActorRecord.model_validate_json(data)
            have = merged.get(rec.name)
            if have is None:
                merged[rec.name] = rec
                continue
            have.aliases += [a for a in rec.aliases if a not in have.aliases]
            have.affiliations += [a for a in rec.affiliations if a not in have.affiliations]
            have.role = have.role or rec.role
        return list(merged.values())

    def name_forms(self, names: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
        """Per actor name: the merged record's kind and aliases (what `actors(names)` holds), read in SQL."""
        out: dict[str, tuple[str, list[str]]] = {}
        with self._connect() as conn:
            for part in _chunks(list(names)):
                for name, kind, aliases in conn.execute(
                        f"SELECT name, kind, aliases FROM actor_forms WHERE name IN ({_marks(part)})", list(part)):
                    out[name] = (kind, json.loads(aliases))
        return out

    def longest_name(self) -> int:
        """Most words in any name key or affiliation (bounds the question spans looked up)."""
        with self._connect() as conn:
            row = conn.execute("SELECT max((SELECT max(words) FROM name_keys), "
                               "(SELECT max(words) FROM group_keys))").fetchone()
        return int(row[0] or 0)

    def named_in(self, spans: Sequence[str]) -> tuple[set[str], list[tuple[str, str]]]:
        """Actor names with a key among the spans, and (affiliation, actor name) pairs with one."""
        names: set[str] = set()
        groups: list[tuple[str, str]] = []
        with self._connect() as conn:
            for part in _chunks(spans):
                names.update(r[0] for r in conn.execute(
                    f"SELECT DISTINCT name FROM name_keys WHERE key IN ({_marks(part)})", list(part)))
                groups += conn.execute(
                    f"SELECT DISTINCT affiliation, name FROM group_keys WHERE key IN ({_marks(part)})",
                    list(part)).fetchall()
        return names, groups

    def positions(self, actor: str | list[str] | None = None, topic: str | list[str] | None = None,
                  limit: int | None = None, offset: int = 0) -> list[Position]:
        """Positions of any of the actors given (and on any of the topics), oldest article first."""
        actors = _as_list(actor)
        topics = _as_list(topic)
        where: list[str] = []
        params: list[object] = []
        if actors:
            terms = list(dict.fromkeys(normalise(a).lower() for a in actors))
            where.append(f"id IN (SELECT pos FROM position_terms WHERE term IN ({_marks(terms)}))")
            params += terms
        if topics:
            where.append("(" + " OR ".join(["instr(topic_lc, ?) > 0 OR instr(stance_lc, ?) > 0"] * len(topics)) + ")")
            params += [t.lower() for t in topics for _ in (0, 1)]
        sql = "SELECT data FROM positions" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY published, id LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Position.model_validate_json(r[0]) for r in rows]

    def stance_counts(self) -> tuple[dict[str, int], dict[tuple[str, str | None], int], dict[str, str]]:
        """Stances counted once per (actor, paragraph, sentence, topic), as the merged table shows them.

        Per actor, per (actor, topic), and each actor's role (the first one stated): what the
        facets need, counted in SQL without reading the records.
        """
        stances = "SELECT DISTINCT actor, paragraph_id, start, topic FROM positions"
        with self._connect() as conn:
            per_actor = dict(conn.execute(f"SELECT actor, count(*) FROM ({stances}) GROUP BY actor").fetchall())
            per_topic = {(a, t): n for a, t, n in conn.execute(
                f"SELECT actor, topic, count(*) FROM ({stances}) GROUP BY actor, topic")}
            roles = {name: role for name, role, _ in conn.execute(
                "SELECT name, role, min(id) FROM actors WHERE role IS NOT NULL AND role != '' GROUP BY name")}
        return per_actor, per_topic, roles

    def best_position(self, actor: str, words: set[str]) -> Position | None:
        """The actor's position sharing most of `words` with its topic and stance; ties: oldest article first.

        The first of what `positions(actor)` stably re-sorted by that overlap would give.
        """
        term = normalise(actor).lower()
        ranked = list(words)
        overlap = (f"(SELECT count(*) FROM position_words w WHERE w.pos = p.id AND w.word IN ({_marks(ranked)})) DESC, "
                   if ranked else "")
        with self._connect() as conn:
            row = conn.execute(
                "SELECT data FROM positions p WHERE id IN (SELECT pos FROM position_terms WHERE term = ?) "
                f"ORDER BY {overlap}published, id LIMIT 1", [term, *ranked]).fetchone()
        return Position.model_validate_json(row[0]) if row else None

    def timeline(self, actor: str | None = None, topic: str | None = None,
                 include_yearless: bool = False, limit: int | None = None, offset: int = 0) -> list[Event]:
        """Events oldest first; year-less ones ("--12-03") only when asked for, after the dated ones.

        Off by default so callers that compute with dates (the answering chain) never meet one.
        """
        where: list[str] = []
        params: list[object] = []
        if not include_yearless:
            where.append("yearless = 0")
        if actor:
            where.append("(id IN (SELECT event FROM event_terms WHERE term = ?) OR instr(desc_lc, ?) > 0)")
            params += [normalise(actor).lower(), actor.lower()]
        if topic:
            where.append("(instr(topic_lc, ?) > 0 OR instr(desc_lc, ?) > 0 OR instr(quote_lc, ?) > 0)")
            params += [topic.lower()] * 3
        sql = "SELECT data FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY yearless, sort_date, id LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, offset]
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Event.model_validate_json(r[0]) for r in rows]

    def events_in(self, paragraph_id: str) -> list[Event]:
        """The dated events a paragraph states, in timeline order."""
        with self._connect() as conn:
            rows = conn.execute("SELECT data FROM events WHERE paragraph_id = ? AND yearless = 0 "
                                "ORDER BY sort_date, id", (paragraph_id,)).fetchall()
        return [Event.model_validate_json(r[0]) for r in rows]

    def best_events(self, words: set[str], actors: list[str], limit: int) -> list[Event]:
        """Dated events by overlap with `words` (description and date 1 each, sentence 0.5 more), +1 when
        one of `actors` is among the event's own; ties: shorter description, then timeline order."""
        ranked = list(words)
        terms = list(dict.fromkeys(normalise(a).lower() for a in actors))
        hits: list[str] = []
        if ranked:
            hits.append(f"SELECT event, weight AS s FROM event_words WHERE word IN ({_marks(ranked)})")
        if terms:
            hits.append(f"SELECT DISTINCT event, 1.0 AS s FROM event_terms WHERE own = 1 AND term IN ({_marks(terms)})")
        if not hits:
            return []
        sql = (f"SELECT e.data FROM ({' UNION ALL '.join(hits)}) h JOIN events e ON e.id = h.event "
               "WHERE e.yearless = 0 GROUP BY h.event "
               "ORDER BY sum(h.s) - e.desc_len / 10000.0 DESC, e.sort_date, e.id LIMIT ?")
        with self._connect() as conn:
            rows = conn.execute(sql, [*ranked, *terms, limit]).fetchall()
        return [Event.model_validate_json(r[0]) for r in rows]


def is_yearless(iso: str) -> bool:
    return iso.startswith("--")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [v for v in items if v and v.strip()]
