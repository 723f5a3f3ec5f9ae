"""PositionsIndex: the hook ingestion calls, and the look-ups the answering chain uses."""

from __future__ import annotations

import logging
import re
import threading

from spacy.language import Language

from qa_service.config import Settings
from qa_service.models import Article
from qa_service.positions.extract import EXTRACTOR_VERSION, extract_article
from qa_service.positions.lexicon import normalise
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position
from qa_service.positions.store import PositionsStore, actor_keys, matches
from qa_service.text import STOP_WORDS

log = logging.getLogger(__name__)

# Beyond function words, what "when" questions say around the event itself.
_STOP = STOP_WORDS | {"date", "day", "year", "happen", "happened", "take", "took", "place"}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    words = re.findall(r"[A-Za-z0-9]+", text.replace("’", "'").lower())
    return {_stem(w) for w in words if w not in _STOP and len(w) > 1}


class PositionsIndex:
    """Entries persisted per article in settings.index_dir / "positions.sqlite3".

    Same incremental rules as the paragraph index: an article whose content hash is
    unchanged (and was extracted by the current rules) is skipped; a changed one has its
    entries replaced in one transaction.
    """

    def __init__(self, settings: Settings, nlp: Language | None) -> None:
        self.store = PositionsStore(settings.index_dir / "positions.sqlite3")
        self.nlp = nlp  # None: read-only use (CLI queries, web routes)
        self._lock = threading.Lock()  # spaCy pipelines are not safe to share across threads

    # ------------------------------------------------------------ ingestion hooks
    def needs_update(self, article: Article) -> bool:
        stored = self.store.article_hashes().get(article.article_id)
        return stored != (article.content_hash, EXTRACTOR_VERSION)

    def update_article(self, article: Article, force: bool = False) -> ArticleEntries | None:
        """Extract and store an article's entries; None when they are already current."""
        if not force and not self.needs_update(article):
            return None
        if self.nlp is None:
            raise RuntimeError("PositionsIndex was built without a spaCy pipeline; it cannot extract")
        with self._lock:
            entries = extract_article(article, self.nlp)
        self.store.replace_article(article, entries, extractor=EXTRACTOR_VERSION)
        return entries

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
    def version(self) -> tuple[int, int]:
        """Changes whenever any article's entries are replaced or removed (cheap: no table scan)."""
        with self.store._connect() as conn:
            row = conn.execute("SELECT (SELECT max(rowid) FROM actors), (SELECT count(*) FROM articles)").fetchone()
        return (row[0] or 0, row[1] or 0)

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
        haystack = " " + re.sub(r"[^a-z0-9.' ]+", " ", normalise(text).lower().replace("'s ", " ")) + " "
        found: list[tuple[int, int, str]] = []  # (start, end, name) of each match in the question
        groups: set[str] = set()
        for rec in self.store.actors():
            if rec.kind == "PERSON":
                groups.update(rec.affiliations)
            names = [rec.name, *rec.aliases]
            if rec.kind == "PERSON":
                names.append(rec.name.split()[-1])
            for key in actor_keys(names):
                pos = haystack.find(f" {key} ")
                if pos >= 0 and len(key) > 2:
                    name = rec.name if rec.kind == "PERSON" else normalise(rec.name)
                    found.append((pos, pos + len(key), name))
                    break
        for group in groups:
            pos = haystack.find(f" {group.lower()} ")
            if pos >= 0:
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

    def when(self, question: str, limit: int = 3) -> list[Event]:
        """Events that best match a "when" question: normalised date plus the paragraph saying it."""
        words = content_words(question)
        actors = self.find_actors(question)
        scored: list[tuple[float, Event]] = []
        for event in self.timeline():
            text_words = content_words(f"{event.description} {event.date_text}")
            overlap = len(words & text_words) + 0.5 * len(words & content_words(event.quote))
            if actors and any(matches(a, actor_keys(event.actors)) for a in actors):
                overlap += 1
            if overlap > 0:
                # Ties: prefer the shorter description (the clause that states the date).
                scored.append((overlap - len(event.description) / 10_000, event))
        scored.sort(key=lambda x: -x[0])
        return [e for _, e in scored[:limit]]
