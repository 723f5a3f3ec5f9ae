"""BM25 over the committed chunks: a derived cache of what Chroma holds.

Rebuilt from Chroma's stored documents whenever the generation token stored with
the collection changes, so a crash, a second replica or a shared Chroma server
never leaves the two disagreeing. Readers get an immutable Snapshot (BM25 model
and chunk table together), so a rebuild during a query cannot mix two versions.

Queries wait for a rebuild only briefly: a reader that finds the snapshot stale starts one
in the background and, if the last rebuild took at most `stale_wait_s`, waits that long for
it; else (a large index) it answers from the old snapshot until the new one is swapped in
(the retriever drops whatever the old snapshot names that has changed since). Writers call
`refresh(wait=True)` after their commit, off the request path, so a search after an upload
returns sees it. A rebuild re-tokenises only the chunks it has not seen before.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from qa_service.store import ChromaStore, is_committed

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

# British and American spellings meet in one vocabulary (BBC writes "favoured", others
# "favored"); applied to indexed text and queries alike. Bump CACHE_FORMAT when it changes.
_SPELLING = [
    (re.compile(r"(?<=[a-z])our(s|ed|ing|able|ite|ites)?\b"), r"or\1"),  # favour -> favor, labour -> labor
    (re.compile(r"(?<=[a-z]{3})is(e|es|ed|ing|ation|ations)\b"), r"iz\1"),  # criticise -> criticize
    (re.compile(r"\b(defen|offen|licen|pretten)ce\b"), r"\1se"),
    (re.compile(r"(?<=[a-z])tre\b"), "ter"),  # centre -> center
]
_SPELLING_KEEP = re.compile(r"\b(our|ours|your|yours|hour|hours|four|tour|tours|pour|sour|flour|four|devour|"
                            r"rise|rises|wise|otherwise|promise|promised|exercise|surprise|surprised|"
                            r"noise|paradise|franchise|premise|premises|treatise|expertise|enterprise|"
                            r"advertise|advertised|concise|precise|compromise|compromised|merchandise|"
                            r"supervise|supervised|televise|televised|improvise|disguise|revise|revised|"
                            r"devise|devised|advise|advised|comprise|comprised|despise|chastise|excise|"
                            r"demise|poise|cruise|bruise|guise|raise|raised|praise|praised|arise|arising|"
                            r"metre|metres|litre|acre|massacre|genre|mediocre|ogre|lucre|macabre|timbre)\b")
CACHE_FORMAT = "2"


def normalise_spelling(text: str) -> str:
    return _LETTERS.sub(_spelling_of, text)


_LETTERS = re.compile(r"[A-Za-z]+")


@lru_cache(maxsize=1 << 16)
def _word_spelling(word: str) -> str:
    # Cached per word: five regexes per word were most of a question's tokenising (160 us per
    # sentence) and of the judge's first look at a paragraph; words repeat, the cache is small.
    low = word.lower()
    if _SPELLING_KEEP.fullmatch(low):
        return word
    for pattern, repl in _SPELLING:
        low = pattern.sub(repl, low)
    return low


def _spelling_of(match: re.Match[str]) -> str:
    return _word_spelling(match.group(0))


# While an ingest is writing (state "dirty"), readers rebuild at most this often.
DIRTY_REBUILD_S = 5.0


_BM25_WORDS = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's default token_pattern
_BM25_STOP = frozenset(STOPWORDS_EN)


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional; BM25 still works unstemmed
        return None


@dataclass(frozen=True)
class Snapshot:
    """Committed chunks in a fixed order (row i of BM25 is ids[i]) with their BM25 model."""

    key: tuple[str, str, bool] = ("", "", False)  # (collection id, generation, dirty)
    ids: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    article_hash: dict[str, str] = field(default_factory=dict)  # article_id -> committed hash
    sources: dict[str, str] = field(default_factory=dict)  # lowercased source -> source
    bm25: bm25s.BM25 | None = None
    pos: dict[str, int] = field(default_factory=dict)  # chunk id -> row
    doc_freq: dict[int, int] = field(default_factory=dict)  # vocab id -> number of chunks
    built: float = 0.0

    @staticmethod
    def make(key: tuple[str, str, bool], ids: list[str], metas: list[dict[str, Any]],
             article_hash: dict[str, str], sources: dict[str, str], bm25: bm25s.BM25 | None) -> Snapshot:
        df: dict[int, int] = {}
        if bm25 is not None:
            counts = np.diff(bm25.scores["indptr"])  # CSC: docs per vocabulary entry
            df = {int(i): int(c) for i, c in enumerate(counts)}
        snap = Snapshot(key, ids, metas, article_hash, sources, bm25, {c: i for i, c in enumerate(ids)}, df,
                        time.monotonic())
        snap._sources, snap._articles, snap._published  # noqa: B018  (built here, off the request path)
        return snap

    def rows_where(self, source: str | None = None, article_id: str | None = None,
                   date_from: int | None = None, date_to: int | None = None) -> np.ndarray:
        """Boolean mask of the rows passing these filters: array comparisons over columns built
        with the snapshot, not a Python loop over every chunk's metadata per search (about 100 ms
        at 100k chunks). A date bound excludes undated chunks."""
        mask = np.ones(len(self.ids), dtype=bool)
        if source:
            mask &= self._equals(self._sources, source)
        if article_id:
            mask &= self._equals(self._articles, article_id)
        if date_from is not None or date_to is not None:
            published = self._published
            mask &= (published > 0) & (published >= (date_from or 0)) & (published <= (date_to or 99_999_999))
        return mask

    @staticmethod
    def _equals(column: tuple[dict[str, int], np.ndarray], value: str) -> np.ndarray:
        codes, rows = column
        return rows == codes.get(value, -1)

    @staticmethod
    def _encode(values: list[str]) -> tuple[dict[str, int], np.ndarray]:
        """Each row's value as a small integer, and the integer of each distinct value."""
        codes: dict[str, int] = {}
        rows = np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int64, count=len(values))
        return codes, rows

    # Built by make(), with the snapshot and off the request path; cached_property keeps the value on
    # the frozen dataclass (and builds it on first use for the empty Snapshot()).
    @cached_property
    def _sources(self) -> tuple[dict[str, int], np.ndarray]:
        return self._encode([str(m.get("source") or "") for m in self.metas])

    @cached_property
    def _articles(self) -> tuple[dict[str, int], np.ndarray]:
        return self._encode([str(m.get("article_id") or "") for m in self.metas])

    @cached_property
    def _published(self) -> np.ndarray:
        return np.fromiter((int(m.get("published_int") or 0) for m in self.metas), dtype=np.int64,
                           count=len(self.metas))


class LexicalIndex:
    def __init__(self, store: ChromaStore, cache_dir: Path | None, stale_wait_s: float = 0.0) -> None:
        self.store = store
        self.cache_dir = cache_dir
        # How long a reader that finds the snapshot stale waits for the background rebuild. What
        # another replica just wrote is then seen by the very next question on a small index,
        # while a large one (a rebuild of minutes) still answers at once from the old snapshot.
        self.stale_wait_s = stale_wait_s
        self._built = threading.Event()  # set when no background build is under way
        self._built.set()
        self._last_build_s = 0.0  # how long the last rebuild took: a slower one is not waited for
        self.snapshot = Snapshot()
        self.stemmer = _stemmer()
        self._build_lock = threading.Lock()  # one build at a time
        self._dirty_seen: tuple[tuple[str, str, bool], float] | None = None  # a dirty key, first seen when
        # (chunk id, content hash) -> its tokens, from the last build: a rebuild tokenises only new chunks.
        self._tokens: dict[tuple[str, str], list[str]] = {}
        self._unread: set[tuple[str, str]] = set()  # chunks the last build listed but could not read

    def refresh(self, wait: bool = False, stale_wait: bool = True) -> Snapshot:
        """The snapshot to read; cheap when nothing changed.

        A stale one is returned as it is while a background build makes the next (the
        very first build, and `wait=True`, build here instead).
        """
        return self.refresh_checked(wait, stale_wait)[0]

    def refresh_checked(self, wait: bool = False, stale_wait: bool = True) -> tuple[Snapshot, bool]:
        """`refresh`, and whether the snapshot was the index as it stood when checked: no write
        committed since it was built and none under way. Only then does a chunk id it holds name the
        vector Chroma holds under that id (a re-ingest writes a new version under the same ids)."""
        key = self._key()
        snap = self.snapshot
        if not self._stale(snap, key):
            return snap, snap.key == key and not key[2]
        if wait or not snap.built:
            with self._build_lock:
                key = self._key()
                if self._stale(self.snapshot, key):
                    self._build(key)
            return self.snapshot, self.snapshot.key == key and not key[2]
        if self._build_lock.acquire(blocking=False):  # else a build is already under way
            self._built = threading.Event()
            try:
                threading.Thread(target=self._build_in_background, args=(self._built,), name="bm25-rebuild",
                                 daemon=True).start()
            except BaseException:
                self._built.set()
                self._build_lock.release()  # else every later writer waits for a build that never runs
                raise
        if stale_wait and 0 < self._last_build_s <= self.stale_wait_s and self._built.wait(self.stale_wait_s):
            return self.snapshot, False  # built from a later key than the one read above: not known current
        return snap, False

    def _key(self) -> tuple[str, str, bool]:
        return self.store.state_key()

    def _stale(self, snap: Snapshot, key: tuple[str, str, bool]) -> bool:
        if not snap.built or snap.key[:2] != key[:2]:
            return True  # never built, or another generation
        if not key[2]:
            return snap.key[2]  # clean now: a view taken while a writer was busy is redone
        # A writer is busy: what it commits appears with the next generation. Unless it stays
        # busy for long (a crashed writer may have committed without bumping the generation).
        now = time.monotonic()
        if self._dirty_seen is None or self._dirty_seen[0] != key:
            self._dirty_seen = (key, now)
        return now - max(self._dirty_seen[1], snap.built) > DIRTY_REBUILD_S

    def _build_in_background(self, done: threading.Event) -> None:
        try:  # the lock was taken by the reader that started this thread
            key = self._key()
            if self._stale(self.snapshot, key):
                self._build(key)
        except Exception:  # readers keep the old snapshot; the next refresh tries again
            log.exception("background BM25 rebuild failed")
        finally:
            self._build_lock.release()
            done.set()

    def _build(self, key: tuple[str, str, bool]) -> None:
        started = time.monotonic()
        loaded = None if key[2] else self._load_cache(key)
        self.snapshot = loaded or self._rebuild(key)  # one assignment: readers see old or new, whole
        self._last_build_s = max(time.monotonic() - started, 1e-6)

    def _rebuild(self, key: tuple[str, str, bool]) -> Snapshot:
        records = self.store.article_records()
        committed = {aid: r.content_hash for aid, r in records.items()}
        raw = self.store.all_chunks(include_documents=False)
        rows = [
            (i, m)
            for i, m in zip(raw["ids"], raw["metadatas"], strict=True)
            if is_committed(m, committed)
        ]
        keys = [(i, str(m.get("content_hash", ""))) for i, m in rows]
        tokens = self._tokenized(keys)
        bm25 = None
        if any(tokens[k] for k in keys):  # bm25s cannot index a corpus without a single token
            bm25 = bm25s.BM25()
            bm25.index([tokens[k] for k in keys], show_progress=False)
        # Only the current chunks' tokens are kept; a chunk deleted while this build read it has
        # empty tokens here and must not keep them should the same id and content come back.
        self._tokens = {k: v for k, v in tokens.items() if k not in self._unread}
        snap = Snapshot.make(key, [r[0] for r in rows], [dict(r[1]) for r in rows], committed,
                             {r.source.lower(): r.source for r in records.values() if r.source}, bm25)
        if not key[2]:  # never persist a view taken while an ingest was writing
            self._save_cache(snap)
        log.info("BM25 index rebuilt (%s): %d chunks", key[1][:8], len(rows))
        return snap

    def _cache_path(self, key: tuple[str, str, bool]) -> Path | None:
        if self.cache_dir is None or not key[1]:
            return None
        return self.cache_dir / f"{key[0]}-{key[1]}-v{CACHE_FORMAT}"

    def _save_cache(self, snap: Snapshot) -> None:
        final = self._cache_path(snap.key)
        if final is None or snap.bm25 is None:
            return
        try:
            tmp = final.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}")
            tmp.mkdir(parents=True, exist_ok=True)
            snap.bm25.save(str(tmp / "bm25"))
            (tmp / "table.json").write_text(json.dumps(
                {"ids": snap.ids, "metas": snap.metas, "article_hash": snap.article_hash, "sources": snap.sources}))
            try:
                tmp.rename(final)  # atomic; another process may have won the race
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
            for old in final.parent.iterdir():  # older generations are garbage
                if old != final and not old.name.startswith(".tmp-"):
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:  # the cache is an optimisation only
            log.warning("could not save BM25 cache: %s", exc)

    def _load_cache(self, key: tuple[str, str, bool]) -> Snapshot | None:
        path = self._cache_path(key)
        if path is None or not (path / "table.json").is_file():
            return None
        try:
            data = json.loads((path / "table.json").read_text())
            bm25 = bm25s.BM25.load(str(path / "bm25"))
            return Snapshot.make(key, data["ids"], data["metas"], data["article_hash"], data["sources"], bm25)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("BM25 cache unreadable, rebuilding: %s", exc)
            return None

    def _tokenized(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """Tokens of these chunks: known ones from the last build, the others read and tokenised."""
        out = {k: self._tokens[k] for k in keys if k in self._tokens}
        missing = [k for k in keys if k not in out]
        self._unread = set()
        for lo in range(0, len(missing), 5000):
            part = missing[lo : lo + 5000]
            got = self.store.chunks.get(ids=[cid for cid, _ in part], include=["documents", "metadatas"])
            docs = {(cid, str((m or {}).get("content_hash", ""))): d or ""
                    for cid, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)}
            self._unread.update(k for k in part if k not in docs)
            texts = [normalise_spelling(docs.get(k, "")) for k in part]  # "" if deleted meanwhile
            words = bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, return_ids=False,
                                   show_progress=False)
            out.update(zip(part, words, strict=True))
        return out

    # ------------------------------------------------------------------
    def tokenize_query(self, text: str) -> list[str]:
        """One text's tokens exactly as `bm25s.tokenize` gives them (its word pattern, lower case, its English
        stop words, then stems), without its per-call vocabulary and progress-bar set-up: the judge calls
        this for every new sentence, about 55 times per question (10 ms of it at 100k chunks)."""
        words = [w for w in _BM25_WORDS.findall(normalise_spelling(text).lower()) if w not in _BM25_STOP]
        return self.stemmer.stemWords(words) if self.stemmer is not None and words else words

    def idf(self, token: str, snap: Snapshot | None = None) -> float:
        """Inverse document frequency of a stemmed token (0 when unseen)."""
        snap = snap or self.snapshot
        if snap.bm25 is None or token not in snap.bm25.vocab_dict:
            return 0.0
        df = snap.doc_freq.get(snap.bm25.vocab_dict[token], 0)
        return math.log(1 + (len(snap.ids) - df + 0.5) / (df + 0.5))

    def search(self, snap: Snapshot, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, score) best first; `allowed` is a boolean mask of rows passing the filters."""
        if snap.bm25 is None or not snap.ids:
            return []
        query_tokens = self.tokenize_query(query)
        if not query_tokens:
            return []
        scores = snap.bm25.get_scores(query_tokens)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
