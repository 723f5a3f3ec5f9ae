"""PositionsIndex: the hook ingestion calls, and the look-ups the answering chain uses."""

from __future__ import annotations

import logging
import re
import threading
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from qa_service.config import Settings
from qa_service.database import open_database
from qa_service.models import Article
from qa_service.positions.extract import EXTRACTOR_VERSION, extract_article
from qa_service.positions.legacy import import_legacy
from qa_service.positions.lexicon import normalise
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position
from qa_service.positions.store import PositionsStore, actor_keys, content_words
from qa_service.text import PLACE_KINDS, can_name

if TYPE_CHECKING:
    from spacy.language import Language

    from qa_service.positions.workers import ExtractionWorkers

log = logging.getLogger(__name__)

__all__ = ["PositionsIndex", "content_words", "question_spans"]

# Positions kept in memory for ranking, over all actors (about 1 KB each): the most-quoted actor of
# the 100k-chunk bench has ~3,000.
_POSITIONS_KEPT = 50_000
_FORMS_KEPT = 100_000  # actor names' kinds and aliases kept for a generation

_POSSESSIVE = re.compile(r"'s(?=[ .])")
_FULL_STOP = re.compile(r"(?<=[a-z0-9]{2})\.(?= )")


def question_spans(haystack: str, max_words: int) -> list[str]:
    """Every run of up to `max_words` whole words of the haystack, exactly as written in it.

    A key k with `f" {k} "` in the haystack is one of these (keys have single spaces and
    no edge spaces), so looking the spans up finds exactly the keys a scan would.
    """
    words = [(m.start(), m.end()) for m in re.finditer(r"[^ ]+", haystack)]
    spans: dict[str, None] = {}
    for i, (start, _) in enumerate(words):
        for _, end in words[i : i + max_words]:
            spans[haystack[start:end]] = None
    return list(spans)


class PositionsIndex:
    """Entries persisted per article in the service database (qa_service.database), shared by replicas.

    Same incremental rules as the paragraph index: an article whose content hash is
    unchanged (and was extracted by the current rules) is skipped; a changed one has its
    entries replaced in one transaction.
    """

    def __init__(self, settings: Settings, nlp: Language | None, engine: Engine | None = None) -> None:
        engine = engine if engine is not None else open_database(settings)
        self.store = PositionsStore(engine)
        if engine.dialect.name == "sqlite":  # an upgrade: entries of the old per-index file, once
            import_legacy(settings.index_dir, self.store)
        self.nlp = nlp  # None: read-only use (CLI queries, web routes)
        self._lock = threading.Lock()  # spaCy pipelines are not safe to share across threads
        self._terms: OrderedDict[tuple[int, str], _Held] = OrderedDict()
        self._held = 0  # positions in `_terms`
        self._keys: tuple[int, frozenset[str], int] | None = None  # (generation, name keys, most words)
        # (generation, actor name -> (kind, aliases), None: no such actor)
        self._forms: tuple[int, dict[str, tuple[str, list[str]] | None]] = (-1, {})
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------ ingestion hooks
    def needs_update(self, article: Article) -> bool:
        stored = self.store.article_hash(article.article_id)
        return stored != (article.content_hash, EXTRACTOR_VERSION)

    def update_article(self, article: Article, force: bool = False) -> ArticleEntries | None:
        """Extract and store an article's entries; None when they are already current."""
        if not force and not self.needs_update(article):
            return None
        entries = self.extract(article)
        self.store.replace_article(article, entries, extractor=EXTRACTOR_VERSION)
        return entries

    def extract(self, article: Article) -> ArticleEntries:
        """The article's entries, extracted in this process (not stored)."""
        if self.nlp is None:
            raise RuntimeError("PositionsIndex was built without a spaCy pipeline; it cannot extract")
        with self._lock:
            return extract_article(article, self.nlp)

    def workers(self, processes: int = 1) -> ExtractionWorkers:
        """Extraction in worker processes, for a bulk ingest (see positions/workers.py)."""
        from qa_service.positions.workers import ExtractionWorkers

        return ExtractionWorkers(self, processes)

    def remove_article(self, article_id: str) -> None:
        self.store.remove_article(article_id)

    def sync(self, article_hashes: dict[str, str]) -> list[str]:
        """Drop entries of articles no longer indexed; return ids that need (re-)extraction."""
        stored = self.store.article_hashes()
        for article_id in set(stored) - set(article_hashes):
            self.store.remove_article(article_id)
        return sorted(
            aid for aid, h in article_hashes.items() if stored.get(aid) != (h, EXTRACTOR_VERSION)
        )

    # ------------------------------------------------------------ queries
    def version(self) -> int:
        """Changes whenever any article's entries are replaced or removed, by any replica (one indexed row)."""
        return self.store.generation()

    def actors(self) -> list[ActorRecord]:
        return self.store.actors()

    def positions(self, actor: str | None = None, topic: str | None = None) -> list[Position]:
        return self.store.positions(actor=actor, topic=topic)

    def timeline(self, actor: str | None = None, topic: str | None = None) -> list[Event]:
        return self.store.timeline(actor=actor, topic=topic)

    def find_actors(self, text: str) -> list[str]:
        """Actors a question names, canonical, in the order the question names them.

        A person is found by full name, surname or alias ("Rutte's position" -> "Mark Rutte");
        a body or country by its name or an alias of it ("the Kremlin" -> "Russia" when stored
        entries are affiliated so). Bodies and countries come back as the name to pass to
        positions_for(), which then gathers every actor affiliated with them.
        """
        # The possessive goes after the punctuation, so that "Rutte's?" at the end names Rutte too.
        haystack = " " + _POSSESSIVE.sub("", re.sub(r"[^a-z0-9.' ]+", " ", normalise(text).lower()) + " ")
        # Keys keep their dots ("u.s.", "st. louis"); a full stop after a word ("... from Rutte's.")
        # is matched in a copy without it, of the same length so that positions agree.
        stopped = _FULL_STOP.sub(" ", haystack)

        def find(key: str) -> int:
            pos = haystack.find(f" {key} ")
            return pos if pos >= 0 else stopped.find(f" {key} ")

        # Only actors with a key among the question's word spans can match: look up those spans
        # that are keys. Sending every span (1,100 for a long question, names run to 22 words)
        # cost 7 ms a question at 100k chunks, mostly in building the query.
        generation = self.version()  # read once: both caches below belong to the same generation
        keys, longest = self._name_keys(generation)
        spans = [span for span in dict.fromkeys([*question_spans(haystack, longest), *question_spans(stopped, longest)])
                 if span in keys]
        names, group_rows = self.store.named_in(spans) if spans else (set(), [])
        forms = self._name_forms(generation, names | {name for _, name in group_rows})
        found: list[tuple[int, int, str]] = []  # (start, end, name) of each match in the question
        # Bodies and countries people are affiliated with (a merged record's kind is its first row's).
        groups: set[str] = {group for group, name in group_rows if forms.get(name, ("",))[0] == "PERSON"}
        for name in names & set(forms):  # (an article removed meanwhile takes its names along)
            kind, aliases = forms[name]
            candidates = [name, *aliases]
            if kind == "PERSON":
                candidates.append(name.split()[-1])
            for key in actor_keys(candidates):
                pos = find(key)
                if pos >= 0 and len(key) > 2 and can_name(key, text, place=kind in PLACE_KINDS):
                    found.append((pos, pos + len(key), name if kind == "PERSON" else normalise(name)))
                    break
        for group in groups:
            pos = find(group.lower())
            if pos >= 0 and can_name(normalise(group).lower(), text, place=True):  # bodies and countries
                found.append((pos, pos + len(group), group))
        out: list[str] = []
        for start, end, name in sorted(found):
            # "Kremlin" inside the matched alias "Kremlin spokesman" is not a second actor.
            inside = any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in found)
            if not inside and name not in out:
                out.append(name)
        return out

    def positions_for(self, actors: list[str], topic: str | None = None) -> dict[str, list[Position]]:
        """Per actor (name, alias or affiliation) its attributed positions, newest article first.

        With a topic, positions on it come first and the rest follow, so a question's wording
        that the topic lexicon misses still finds the actor's statements.
        """
        out: dict[str, list[Position]] = {}
        for actor in actors:
            found = self.positions(actor=actor)
            if topic:
                words = content_words(topic)
                found.sort(key=lambda p: -len(words & content_words(f"{p.topic or ''} {p.stance}")))
            out[actor] = found
        return out

    def best_positions(self, actors: list[str], topic: str | None = None) -> dict[str, Position | None]:
        """What `positions_for(actors, topic)[actor][0]` is, per actor, without loading the rest:
        `store.best_position`'s ranking (most shared words, then oldest, then first stored), over
        each actor's positions kept in memory for the generation. A much-quoted actor has
        thousands (20-50 ms a question in SQL at 100k chunks) and recurs across questions."""
        words = tuple(f" {w} " for w in content_words(topic)) if topic else ()
        generation = self.version()
        out: dict[str, Position | None] = {}
        for actor in actors:
            best = self._term_positions(generation, actor).most_shared(words)
            out[actor] = self.store.position(best) if best is not None else None
        return out

    def _name_forms(self, generation: int, names: set[str]) -> dict[str, tuple[str, list[str]]]:
        """`store.name_forms`, remembered for the generation: a long question holds spans naming
        80 actors, whose kinds and aliases were read and parsed again for every question."""
        with self._cache_lock:
            if self._forms[0] != generation or len(self._forms[1]) > _FORMS_KEPT:
                self._forms = (generation, {})
            known = self._forms[1]
            missing = sorted(n for n in names if n not in known)
        read = self.store.name_forms(missing) if missing else {}
        with self._cache_lock:
            if self._forms[0] == generation:
                self._forms[1].update(read)
                self._forms[1].update((n, None) for n in missing if n not in read)
        return {n: f for n in names if (f := known.get(n) or read.get(n)) is not None}

    def _name_keys(self, generation: int) -> tuple[frozenset[str], int]:
        """Every name and affiliation key, and the most words in one (bounds the question spans
        looked up), for the generation."""
        with self._cache_lock:
            if self._keys is not None and self._keys[0] == generation:
                return self._keys[1], self._keys[2]
        keys = frozenset(self.store.name_keys())
        longest = max((len(k.split()) for k in keys), default=0)
        with self._cache_lock:
            self._keys = (generation, keys, longest)
        return keys, longest

    def _term_positions(self, generation: int, actor: str) -> _Held:
        key = (generation, actor)
        with self._cache_lock:
            if key in self._terms:
                self._terms.move_to_end(key)
                return self._terms[key]
        held = _Held(self.store.term_positions(actor))
        with self._cache_lock:
            if key in self._terms:  # another thread read it meanwhile: count it once
                return self._terms[key]
            self._terms[key] = held
            self._held += len(held)
            while self._held > _POSITIONS_KEPT and len(self._terms) > 1:
                self._held -= len(self._terms.popitem(last=False)[1])
        return held

    def when(self, question: str, limit: int = 3) -> list[Event]:
        """Events that best match a "when" question: normalised date plus the paragraph saying it.

        Scored by shared content words (description and date 1 each, the sentence 0.5 more),
        +1 when the question names one of the event's actors; ties go to the shorter
        description (the clause that states the date). Only events sharing a word or an
        actor with the question are read.
        """
        return self.store.best_events(content_words(question), self.find_actors(question), limit)

    def events_in(self, paragraph_id: str) -> list[Event]:
        return self.store.events_in(paragraph_id)


class _Held:
    """An actor term's positions, oldest first, with all their words in one string: a question's
    words are found by str.find over it (C speed), not by a test per position (3,000 positions for
    a much-quoted actor). Two arrays and a string, where a tuple and a set per position were
    objects for the garbage collector to walk."""

    __slots__ = ("ids", "starts", "text")

    def __init__(self, rows: list[tuple[int, str, str]]) -> None:
        """`rows` as `PositionsStore.term_positions` gives them: (id, published, " words "), oldest first."""
        self.ids = array("q", (pos_id for pos_id, _, _ in rows))
        self.starts = array("q")
        at = 0
        for _, _, words in rows:  # each " word word " padded: a " word " match never spans two
            self.starts.append(at)
            at += len(words)
        self.text = "".join(words for _, _, words in rows)

    def __len__(self) -> int:
        return len(self.ids)

    def most_shared(self, words: tuple[str, ...]) -> int | None:
        """The id of the first position sharing the most of `words` (each " word "); None for none held."""
        if not self.ids:
            return None
        shared: Counter[int] = Counter()
        for w in words:
            if not w.strip():
                continue  # no word: spaces alone would match between positions
            rows: set[int] = set()
            at = self.text.find(w)
            while at >= 0:
                rows.add(bisect_right(self.starts, at) - 1)
                at = self.text.find(w, at + 1)
            shared.update(rows)
        if not shared:
            return self.ids[0]
        return self.ids[min(shared, key=lambda r: (-shared[r], r))]
