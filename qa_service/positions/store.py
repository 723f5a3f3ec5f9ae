"""Persistence of positions and events in the service database, one article's entries replaced atomically.

The records stay JSON in `data`; side tables hold what the reads filter on (every word
span of an actor's names, an entry's content words, lower-cased texts), each indexed.
So what a question costs follows what it names, not how many articles there are: no
read on the request path scans or JSON-parses a whole table. SQLite by default,
PostgreSQL when replicas share one database (qa_service.database); the tables are in
qa_service/database/tables.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from qa_service.database import write_transaction
from qa_service.database.engine import POSITIONS_LOCK_KEY
from qa_service.database.tables import (
    pos_actor_forms,
    pos_actors,
    pos_articles,
    pos_event_terms,
    pos_event_words,
    pos_events,
    pos_group_keys,
    pos_meta,
    pos_name_keys,
    pos_position_rank,
    pos_position_terms,
    pos_position_words,
    pos_positions,
)
from qa_service.models import Article
from qa_service.positions.lexicon import normalise
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position
from qa_service.text import STOP_WORDS

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


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for lo in range(0, len(values), _IN_CHUNK):
        yield values[lo : lo + _IN_CHUNK]


ArticleRow = tuple[str, str, str, str | None, str | None]  # article_id, content_hash, extractor, title, published


def _in(name: str) -> Any:
    return bindparam(name, expanding=True)


def _best_events(words: bool, terms: bool) -> Any:
    """Dated events by summed hit weight less desc_len / 10000, then timeline order (params: words, terms, limit)."""
    w, t, e = pos_event_words.c, pos_event_terms.c, pos_events.c
    by_word = select(w.event, w.weight.label("s")).where(w.word.in_(_in("words")))
    by_actor = (select(t.event, literal_column("1.0", Float).label("s"))
                .where(t.own == 1, t.term.in_(_in("terms"))).distinct())
    if words and terms:
        h = union_all(by_word, by_actor).subquery("h")
    else:
        h = (by_word if words else by_actor).subquery("h")
    scored = select(h.c.event, func.sum(h.c.s).label("score")).group_by(h.c.event).subquery("scored")
    # Both dialects in double precision, so equal scores tie alike.
    score = scored.c.score - cast(e.desc_len, Float) / cast(literal_column("10000.0"), Float)
    return (select(e.data).join_from(scored, pos_events, e.id == scored.c.event).where(e.yearless == 0)
            .order_by(score.desc(), e.sort_date, e.id).limit(bindparam("limit")))


def _best_position(words: bool) -> Any:
    """The first position of the actor term, most of the words first (params: term[, words])."""
    p, w, t = pos_positions.c, pos_position_words.c, pos_position_terms.c
    order: list[Any] = []
    if words:
        overlap = (select(func.count()).select_from(pos_position_words)
                   .where(w.pos == p.id, w.word.in_(_in("words"))).scalar_subquery())
        order.append(overlap.desc())
    return (select(p.data).where(p.id.in_(select(t.pos).where(t.term == bindparam("term"))))
            .order_by(*order, p.published, p.id).limit(1))


# What a question's look-ups run, built once: building and keying a statement costs more than
# running it on the indexed tables.
_GENERATION = select(pos_meta.c.value).where(pos_meta.c.key == "generation")
_NAMES_IN = select(pos_name_keys.c.name).distinct().where(pos_name_keys.c.key.in_(_in("keys")))
_GROUPS_IN = (select(pos_group_keys.c.affiliation, pos_group_keys.c.name).distinct()
              .where(pos_group_keys.c.key.in_(_in("keys"))))
_FORMS_IN = (select(pos_actor_forms.c.name, pos_actor_forms.c.kind, pos_actor_forms.c.aliases)
             .where(pos_actor_forms.c.name.in_(_in("names"))))
_ARTICLE_HASH = (select(pos_articles.c.content_hash, pos_articles.c.extractor)
                 .where(pos_articles.c.article_id == bindparam("article_id")))
_EVENTS_IN = (select(pos_events.c.data)
              .where(pos_events.c.paragraph_id == bindparam("paragraph_id"), pos_events.c.yearless == 0)
              .order_by(pos_events.c.sort_date, pos_events.c.id))
_BEST_POSITION = {words: _best_position(words) for words in (False, True)}
# One row per position, its words joined: a much-quoted actor has thousands of positions and
# tens of thousands of words, and rows cost more to fetch than strings to split.
_TERM_POSITIONS = (select(pos_position_rank.c.pos, pos_position_rank.c.published, pos_position_rank.c.words)
                   .select_from(pos_position_terms.join(pos_position_rank,
                                                        pos_position_rank.c.pos == pos_position_terms.c.pos))
                   .where(pos_position_terms.c.term == bindparam("term")))
_POSITION = select(pos_positions.c.data).where(pos_positions.c.id == bindparam("id"))
_OLDEST_FIRST = itemgetter(1, 0)  # (published, id) of a term_positions row
_BEST_EVENTS = {(words, terms): _best_events(words, terms) for words in (False, True) for terms in (False, True)
                if words or terms}


class PositionsStore:
    """Over an engine from qa_service.database.open_database (its pool shared with the other stores).

    Every write is one transaction (write_transaction) that bumps the generation, which every
    process on the database reads, so caches keyed on it notice another replica's writes.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"positions are stored in SQLite or PostgreSQL, not {dialect}")
        self._postgres = dialect == "postgresql"
        # Substring test, as exact as SQLite's instr (LIKE would need escaping and fold case).
        self._find: Callable[..., Any] = func.strpos if self._postgres else func.instr
        self._upsert = postgresql.insert if self._postgres else sqlite.insert

    def _has(self, column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
        return self._find(column, value) > 0

    # ------------------------------------------------------------ writes
    def _begin(self, conn: Connection) -> None:
        if self._postgres:
            # Writers of positions on every replica take turns, as SQLite's one writer does, so the
            # counted key rows never deadlock between them.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": POSITIONS_LOCK_KEY})

    def replace_article(self, article: Article, entries: ArticleEntries, extractor: str = "") -> None:
        """Swap all of an article's entries in one transaction: readers see old or new, never half."""
        aid = article.article_id
        with write_transaction(self.engine) as conn:
            self._begin(conn)
            self._delete(conn, aid)
            self._insert_articles(conn, [(aid, article.content_hash, extractor, article.title,
                                          article.published.isoformat() if article.published else None)])
            self._insert_actors(conn, [(aid, a) for a in entries.actors])
            self._insert_positions(conn, [(aid, p) for p in entries.positions])
            self._insert_events(conn, [(aid, e, self._event_keys(e, entries.actors)) for e in entries.events])
            self._bump(conn)

    def import_records(self, articles: Sequence[ArticleRow], actors: Sequence[tuple[str, ActorRecord]],
                       positions: Sequence[tuple[str, Position]],
                       events: Sequence[tuple[str, Event, list[str]]]) -> bool:
        """Records of an older store, stored in the order given, in one transaction, only into an
        empty store (whoever finds it empty first imports); False when it was not empty."""
        with write_transaction(self.engine) as conn:
            self._begin(conn)
            if conn.execute(select(pos_articles.c.article_id).limit(1)).first() is not None:
                return False
            self._insert_articles(conn, articles)
            self._insert_actors(conn, actors)
            self._insert_positions(conn, positions)
            self._insert_events(conn, events)
            self._bump(conn)
        return True

    @staticmethod
    def _insert_articles(conn: Connection, rows: Sequence[ArticleRow]) -> None:
        if rows:
            conn.execute(pos_articles.insert(), [
                {"article_id": aid, "content_hash": h, "extractor": x, "title": t, "published": p}
                for aid, h, x, t, p in rows])

    def _count(self, conn: Connection, table: Any, keys: list[str], counts: Counter[tuple[str, ...]],
               words: dict[tuple[str, ...], int]) -> None:
        """Add each row's count to `n` (inserting rows not there yet); one row per key, sorted."""
        if not counts:
            return
        stmt = self._upsert(table)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={"n": table.c.n + stmt.excluded.n})
        conn.execute(stmt, [{**dict(zip(keys, k, strict=True)), "words": words[k], "n": n}
                            for k, n in sorted(counts.items())])

    def _insert_actors(self, conn: Connection, rows: Sequence[tuple[str, ActorRecord]]) -> None:
        if not rows:
            return
        conn.execute(pos_actors.insert(), [{"article_id": aid, "name": a.name, "data": a.model_dump_json(),
                                            "kind": a.kind, "role": a.role} for aid, a in rows])
        names: Counter[tuple[str, ...]] = Counter()
        groups: Counter[tuple[str, ...]] = Counter()
        words: dict[tuple[str, ...], int] = {}
        for _, a in rows:
            for k in _name_keys(a):
                names[(k, a.name)] += 1
                words[(k, a.name)] = len(k.split(" "))
            for g in dict.fromkeys(a.affiliations):
                groups[(g.lower(), g, a.name)] += 1
                words[(g.lower(), g, a.name)] = len(g.lower().split(" "))
        self._count(conn, pos_name_keys, ["key", "name"], names, words)
        self._count(conn, pos_group_keys, ["key", "affiliation", "name"], groups, words)
        # Merged records: the first row's kind, aliases in order of appearance.
        forms = self._forms(conn, list(dict.fromkeys(a.name for _, a in rows)))
        added: dict[str, None] = {}
        changed: dict[str, None] = {}
        for _, a in rows:
            have = forms.get(a.name)
            if have is None:
                forms[a.name] = (a.kind, list(dict.fromkeys(a.aliases)))
                added[a.name] = None
                continue
            new = [x for x in dict.fromkeys(a.aliases) if x not in have[1]]
            if new:
                have[1].extend(new)
                if a.name not in added:
                    changed[a.name] = None
        if added:
            conn.execute(pos_actor_forms.insert(), [{"name": n, "kind": forms[n][0], "aliases": json.dumps(forms[n][1])}
                                                    for n in added])
        self._put_forms(conn, {n: forms[n] for n in changed})

    @staticmethod
    def _forms(conn: Connection, names: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
        out: dict[str, tuple[str, list[str]]] = {}
        for part in _chunks(names):
            for name, kind, aliases in conn.execute(_FORMS_IN, {"names": list(part)}):
                out[name] = (kind, json.loads(aliases))
        return out

    @staticmethod
    def _put_forms(conn: Connection, forms: dict[str, tuple[str, list[str]]]) -> None:
        if forms:
            f = pos_actor_forms.c
            conn.execute(
                pos_actor_forms.update().where(f.name == bindparam("b_name"))
                .values(kind=bindparam("b_kind"), aliases=bindparam("b_aliases")),
                [{"b_name": n, "b_kind": kind, "b_aliases": json.dumps(aliases)} for n, (kind, aliases) in forms.items()])

    @staticmethod
    def _insert_positions(conn: Connection, rows: Sequence[tuple[str, Position]]) -> None:
        if not rows:
            return
        keys = [actor_keys([p.actor, *p.aliases, *p.affiliations]) for _, p in rows]
        # Ids in the order given (ties in every listing), each returned for its side rows.
        ids = conn.execute(
            pos_positions.insert().returning(pos_positions.c.id, sort_by_parameter_order=True),
            [{"article_id": aid, "actor": p.actor, "keys": json.dumps(k), "published": p.published or "",
              "data": p.model_dump_json(), "paragraph_id": p.paragraph_id, "start": p.start, "topic": p.topic,
              "topic_lc": p.topic.lower() if p.topic else None, "stance_lc": p.stance.lower()}
             for (aid, p), k in zip(rows, keys, strict=True)]).scalars().all()
        terms = [{"term": t, "pos": i} for i, k in zip(ids, keys, strict=True) for t in key_spans(k)]
        own_words = [sorted(content_words(f"{p.topic or ''} {p.stance}")) for _, p in rows]
        words = [{"pos": i, "word": w} for i, ws in zip(ids, own_words, strict=True) for w in ws]
        conn.execute(pos_position_rank.insert(), [{"pos": i, "published": p.published or "", "words": " ".join(ws)}
                                                  for i, (_, p), ws in zip(ids, rows, own_words, strict=True)])
        if terms:
            conn.execute(pos_position_terms.insert(), terms)
        if words:
            conn.execute(pos_position_words.insert(), words)

    @staticmethod
    def _insert_events(conn: Connection, rows: Sequence[tuple[str, Event, list[str]]]) -> None:
        if not rows:
            return
        ids = conn.execute(
            pos_events.insert().returning(pos_events.c.id, sort_by_parameter_order=True),
            [{"article_id": aid, "sort_date": e.sort_date, "keys": json.dumps(keys), "data": e.model_dump_json(),
              "paragraph_id": e.paragraph_id, "yearless": int(is_yearless(e.date)), "desc_len": len(e.description),
              "topic_lc": e.topic.lower() if e.topic else None, "desc_lc": e.description.lower(),
              "quote_lc": e.quote.lower()} for aid, e, keys in rows]).scalars().all()
        terms: list[dict[str, object]] = []
        words: list[dict[str, object]] = []
        for i, (_, e, keys) in zip(ids, rows, strict=True):
            own = key_spans(actor_keys(list(e.actors)))
            terms += [{"term": t, "event": i, "own": int(t in own)} for t in key_spans(keys) | own]
            text_words = content_words(f"{e.description} {e.date_text}")
            quote_words = content_words(e.quote)
            words += [{"event": i, "word": w, "weight": (w in text_words) + 0.5 * (w in quote_words)}
                      for w in text_words | quote_words]
        if terms:
            conn.execute(pos_event_terms.insert(), terms)
        if words:
            conn.execute(pos_event_words.insert(), words)

    @staticmethod
    def _event_keys(event: Event, actors: list[ActorRecord]) -> list[str]:
        names: list[str | None] = list(event.actors)
        for a in actors:
            if a.name in event.actors:
                names += [*a.aliases, *a.affiliations]
        return actor_keys(names)

    def _delete(self, conn: Connection, article_id: str) -> None:
        gone = [ActorRecord.model_validate_json(d) for d in
                conn.execute(select(pos_actors.c.data).where(pos_actors.c.article_id == article_id)).scalars()]
        names: Counter[tuple[str, ...]] = Counter()
        groups: Counter[tuple[str, ...]] = Counter()
        for a in gone:
            names.update((k, a.name) for k in _name_keys(a))
            groups.update((g.lower(), g, a.name) for g in dict.fromkeys(a.affiliations))
        for table, keys, counts in ((pos_name_keys, ["key", "name"], names),
                                    (pos_group_keys, ["key", "affiliation", "name"], groups)):
            if not counts:
                continue
            match = [table.c[k] == bindparam(f"b_{k}") for k in keys]
            rows = [{**{f"b_{k}": v for k, v in zip(keys, key, strict=True)}, "b_n": n}
                    for key, n in sorted(counts.items())]
            conn.execute(table.update().where(*match).values(n=table.c.n - bindparam("b_n")), rows)
            # Only the rows just counted down can have reached 0: no scan of the table.
            conn.execute(table.delete().where(*match, table.c.n <= 0), [{k: v for k, v in r.items() if k != "b_n"}
                                                                        for r in rows])
        for side, column, table in ((pos_position_terms, "pos", pos_positions),
                                    (pos_position_words, "pos", pos_positions), (pos_position_rank, "pos", pos_positions),
                                    (pos_event_terms, "event", pos_events), (pos_event_words, "event", pos_events)):
            ids = select(table.c.id).where(table.c.article_id == article_id)
            conn.execute(delete(side).where(side.c[column].in_(ids)))
        for table in (pos_articles, pos_actors, pos_positions, pos_events):
            conn.execute(delete(table).where(table.c.article_id == article_id))
        # Merged records again, from the rows left.
        left: dict[str, list[tuple[int, str, str]]] = {}
        a_ = pos_actors.c
        for part in _chunks(sorted({a.name for a in gone})):
            for row_id, name, kind, data in conn.execute(
                    select(a_.id, a_.name, a_.kind, a_.data).where(a_.name.in_(part))):
                left.setdefault(name, []).append((row_id, kind, data))
        empty = sorted({a.name for a in gone} - set(left))
        for part in _chunks(empty):
            conn.execute(delete(pos_actor_forms).where(pos_actor_forms.c.name.in_(part)))
        forms: dict[str, tuple[str, list[str]]] = {}
        for name, held in left.items():
            held.sort()
            aliases: list[str] = []
            for _, _, data in held:
                aliases += [x for x in ActorRecord.model_validate_json(data).aliases if x not in aliases]
            forms[name] = (held[0][1], aliases)
        self._put_forms(conn, forms)

    def _bump(self, conn: Connection) -> None:
        stmt = self._upsert(pos_meta).values(key="generation", value=1)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": pos_meta.c.value + 1}))

    def remove_article(self, article_id: str) -> None:
        with write_transaction(self.engine) as conn:
            self._begin(conn)
            self._delete(conn, article_id)
            self._bump(conn)

    # ------------------------------------------------------------ reads
    def generation(self) -> int:
        """Changes whenever any article's entries are replaced or removed, by any process (one indexed row)."""
        with self.engine.connect() as conn:
            value = conn.execute(_GENERATION).scalar()
        return int(value) if value is not None else 0

    def article_hashes(self) -> dict[str, tuple[str, str]]:
        """article_id -> (content_hash, extractor version) of what is stored."""
        a = pos_articles.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(a.article_id, a.content_hash, a.extractor)).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    def article_hash(self, article_id: str) -> tuple[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_ARTICLE_HASH, {"article_id": article_id}).first()
        return (row[0], row[1]) if row else None

    def entries(self, article_id: str) -> ArticleEntries:
        """An article's stored actors, positions and events, in the order they were stored."""
        with self.engine.connect() as conn:
            def data(table: Any) -> list[str]:
                query = select(table.c.data).where(table.c.article_id == article_id).order_by(table.c.id)
                return list(conn.execute(query).scalars())

            return ArticleEntries(article_id=article_id,
                                  actors=[ActorRecord.model_validate_json(d) for d in data(pos_actors)],
                                  positions=[Position.model_validate_json(d) for d in data(pos_positions)],
                                  events=[Event.model_validate_json(d) for d in data(pos_events)])

    def actors(self, names: Sequence[str] | None = None) -> list[ActorRecord]:
        """Actors merged across articles by name (aliases, roles and affiliations pooled); all, or those named."""
        a = pos_actors.c
        with self.engine.connect() as conn:
            if names is None:
                # An actor's record repeats word for word across the articles that name it (322k
                # rows, 17k distinct at 100k chunks); merging a repeat adds nothing, so each
                # distinct record is parsed once, at its first place.
                first = func.min(a.id)
                rows = [tuple(r) for r in conn.execute(select(first, a.data).group_by(a.data).order_by(first))]
            else:
                rows = []
                for part in _chunks(list(names)):
                    rows += [tuple(r) for r in conn.execute(select(a.id, a.data).where(a.name.in_(part)))]
                rows.sort()
        merged: dict[str, ActorRecord] = {}
        for _, data in rows:
            rec = ActorRecord.model_validate_json(data)
            have = merged.get(rec.name)
            if have is None:
                merged[rec.name] = rec
                continue
            have.aliases += [x for x in rec.aliases if x not in have.aliases]
            have.affiliations += [x for x in rec.affiliations if x not in have.affiliations]
            have.role = have.role or rec.role
        return list(merged.values())

    def name_forms(self, names: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
        """Per actor name: the merged record's kind and aliases (what `actors(names)` holds), read in SQL."""
        with self.engine.connect() as conn:
            return self._forms(conn, list(names))

    def name_keys(self) -> set[str]:
        """Every key that names an actor or an affiliation (22k at 100k chunks, read in 30 ms)."""
        with self.engine.connect() as conn:
            return {k for t in (pos_name_keys, pos_group_keys) for k in conn.execute(select(t.c.key).distinct()).scalars()}

    def named_in(self, spans: Sequence[str]) -> tuple[set[str], list[tuple[str, str]]]:
        """Actor names with a key among the spans, and (affiliation, actor name) pairs with one."""
        names: set[str] = set()
        groups: list[tuple[str, str]] = []
        with self.engine.connect() as conn:
            for part in _chunks(spans):
                names.update(conn.execute(_NAMES_IN, {"keys": list(part)}).scalars())
                groups += [(r[0], r[1]) for r in conn.execute(_GROUPS_IN, {"keys": list(part)})]
        return names, groups

    def positions(self, actor: str | list[str] | None = None, topic: str | list[str] | None = None,
                  limit: int | None = None, offset: int = 0) -> list[Position]:
        """Positions of any of the actors given (and on any of the topics), oldest article first."""
        actors = _as_list(actor)
        topics = _as_list(topic)
        p = pos_positions.c
        query = select(p.data)
        if actors:
            terms = list(dict.fromkeys(normalise(a).lower() for a in actors))
            query = query.where(p.id.in_(select(pos_position_terms.c.pos).where(pos_position_terms.c.term.in_(terms))))
        if topics:
            query = query.where(or_(*(self._has(c, t.lower()) for t in topics for c in (p.topic_lc, p.stance_lc))))
        query = query.order_by(p.published, p.id).limit(limit).offset(offset or None)
        with self.engine.connect() as conn:
            rows = conn.execute(query).scalars().all()
        return [Position.model_validate_json(r) for r in rows]

    def stance_counts(self) -> tuple[dict[str, int], dict[tuple[str, str | None], int], dict[str, str]]:
        """Stances counted once per (actor, paragraph, sentence, topic), as the merged table shows them.

        Per actor, per (actor, topic), and each actor's role (the first one stated): what the
        facets need, counted in SQL without reading the records.
        """
        p, a = pos_positions.c, pos_actors.c
        stances = select(p.actor, p.paragraph_id, p.start, p.topic).distinct().subquery()
        first = (select(func.min(a.id).label("id")).where(a.role.is_not(None), a.role != "")
                 .group_by(a.name).subquery())
        with self.engine.connect() as conn:
            per_actor = {r[0]: r[1] for r in conn.execute(
                select(stances.c.actor, func.count()).group_by(stances.c.actor))}
            per_topic = {(r[0], r[1]): r[2] for r in conn.execute(
                select(stances.c.actor, stances.c.topic, func.count()).group_by(stances.c.actor, stances.c.topic))}
            roles = {r[0]: r[1] for r in conn.execute(
                select(a.name, a.role).join_from(pos_actors, first, first.c.id == a.id))}
        return per_actor, per_topic, roles

    def best_position(self, actor: str, words: set[str]) -> Position | None:
        """The actor's position sharing most of `words` with its topic and stance; ties: oldest article first.

        The first of what `positions(actor)` stably re-sorted by that overlap would give.
        """
        params: dict[str, object] = {"term": normalise(actor).lower(), "words": list(words)}
        with self.engine.connect() as conn:
            data = conn.execute(_BEST_POSITION[bool(words)], params).scalar()
        return Position.model_validate_json(data) if data is not None else None

    def term_positions(self, actor: str) -> list[tuple[int, str, str]]:
        """Every position of the actor's term as (id, published or "", " its topic and stance words "),
        oldest first (undated first, then by id): what `best_position` ranks by, for ranking in memory.

        The words stay one space-delimited string, so that a word is found as " word ": a set per
        position took longer to make than the rows to read (9 ms for a much-quoted actor)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_TERM_POSITIONS, {"term": normalise(actor).lower()}).all()
        held = [(pos_id, published or "", f" {words or ''} ") for pos_id, published, words in rows]
        held.sort(key=_OLDEST_FIRST)  # in Python: a database's collation may order strings otherwise
        return held

    def position(self, pos_id: int) -> Position | None:
        with self.engine.connect() as conn:
            data = conn.execute(_POSITION, {"id": pos_id}).scalar()
        return Position.model_validate_json(data) if data is not None else None

    def timeline(self, actor: str | None = None, topic: str | None = None,
                 include_yearless: bool = False, limit: int | None = None, offset: int = 0) -> list[Event]:
        """Events oldest first; year-less ones ("--12-03") only when asked for, after the dated ones.

        Off by default so callers that compute with dates (the answering chain) never meet one.
        """
        e, t = pos_events.c, pos_event_terms.c
        query = select(e.data)
        if not include_yearless:
            query = query.where(e.yearless == 0)
        if actor:
            query = query.where(or_(e.id.in_(select(t.event).where(t.term == normalise(actor).lower())),
                                    self._has(e.desc_lc, actor.lower())))
        if topic:
            query = query.where(or_(*(self._has(c, topic.lower()) for c in (e.topic_lc, e.desc_lc, e.quote_lc))))
        query = query.order_by(e.yearless, e.sort_date, e.id).limit(limit).offset(offset or None)
        with self.engine.connect() as conn:
            rows = conn.execute(query).scalars().all()
        return [Event.model_validate_json(r) for r in rows]

    def events_in(self, paragraph_id: str) -> list[Event]:
        """The dated events a paragraph states, in timeline order."""
        with self.engine.connect() as conn:
            rows = conn.execute(_EVENTS_IN, {"paragraph_id": paragraph_id}).scalars().all()
        return [Event.model_validate_json(r) for r in rows]

    def best_events(self, words: set[str], actors: list[str], limit: int) -> list[Event]:
        """Dated events by overlap with `words` (description and date 1 each, sentence 0.5 more), +1 when
        one of `actors` is among the event's own; ties: shorter description, then timeline order."""
        ranked = list(words)
        terms = list(dict.fromkeys(normalise(a).lower() for a in actors))
        if not ranked and not terms:
            return []
        query = _BEST_EVENTS[(bool(ranked), bool(terms))]
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"words": ranked, "terms": terms, "limit": limit}).scalars().all()
        return [Event.model_validate_json(r) for r in rows]


def is_yearless(iso: str) -> bool:
    return iso.startswith("--")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    return [v for v in items if v and v.strip()]
