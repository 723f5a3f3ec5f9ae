"""Incremental, idempotent ingestion into the Chroma store.

Per article the order is: drop the old record (the commit marker), drop its old
chunks, write the new chunks, write the new record. A kill -9 anywhere leaves
either the old article gone or uncommitted chunks that readers ignore and the
next run deletes (`repair`), so there are never duplicate or orphan paragraphs.

Work per article is bounded: a size limit before anything is built, and a time limit
over building, chunking and the derived layers (positions), which run just before the
commit so that an article over its limit is reported as failed and not indexed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qa_service.chunking import Chunker
from qa_service.config import Settings
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.errors import NotFoundError
from qa_service.loaders import Failure, RawArticle, build_article, load_paths, parse_bytes
from qa_service.loaders.common import (
    LoadError,
    TimeLimitExceeded,
    encoded_data,
    is_reserved_id,
    over_limit,
    pausing,
    safe_id,
    short_hash,
    slugify,
    time_left,
    time_limit,
)
from qa_service.models import Article, Chunk
from qa_service.priority import QueryFirst
from qa_service.safety import data_only
from qa_service.service_types import IngestReport
from qa_service.store import ArticleRecord, ChromaStore

log = logging.getLogger(__name__)

ArticleHook = Callable[[Article], None]
RemoveHook = Callable[[str], None]


@dataclass(frozen=True)
class IngestProgress:
    """How far one ingest is. `chunks_total` counts the chunks of the articles read so far,
    so it is final once `articles_done == articles_total`."""

    articles_done: int = 0
    articles_total: int = 0
    chunks_done: int = 0  # embedded
    chunks_total: int = 0


ProgressHook = Callable[[IngestProgress], None]
# Texts per call of an embedder without `embed_array` (which encodes `embed_batch` at a time):
# progress is reported, and queries go first, between two calls.
PROGRESS_EMBED_SLICE = 256

_DEFAULTS = Settings.model_fields  # one source for the limits' defaults


@dataclass
class IngestResult(IngestReport):
    """An IngestReport plus the uploads refused because they would replace a different article."""

    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)


class _Conflict(Exception):
    """An upload whose id already holds a different article, and no `replace` was asked."""


@dataclass
class _Pending:
    article: Article
    origin: str
    existed: bool
    chunks: list[Chunk]
    where: str = "?"
    derived: Future[Any] | None = None  # the article's derived layers, in a worker process


class ArticleWorkers(Protocol):
    """A derived layer whose per-article work runs in other processes (positions' parse).

    `submit` starts an article's work (None: its stored layer is current), `finish` waits for
    it (over the article's time limit: TimeLimitExceeded) and stores the result; the ingest
    calls it in the commit, in submit order, before the article's record is written.
    """

    def submit(self, article: Article, limit_s: float | None) -> Future[Any] | None: ...

    def finish(self, article: Article, derived: Future[Any]) -> None: ...

    def close(self) -> None: ...


# Below this many articles an ingest derives in its own thread: starting a worker process
# (spaCy's load) takes about 3 s, which the overlap repays only over a few dozen articles.
WORKERS_MIN_ARTICLES = 32


class Ingester:
    def __init__(
        self,
        store: ChromaStore,
        embedder: SentenceTransformerEmbeddings,
        chunker: Chunker,
        on_article: ArticleHook | None = None,
        on_remove: RemoveHook | None = None,
        flush_chunks: int = 2048,
        max_article_chars: int = _DEFAULTS["max_article_chars"].default,
        article_time_limit_s: float | None = _DEFAULTS["article_time_limit_s"].default,
        embed_batch: int = _DEFAULTS["ingest_embed_batch"].default,
        priority: QueryFirst | None = None,
        article_workers: Callable[[], ArticleWorkers] | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.on_article = on_article
        self.on_remove = on_remove
        self.flush_chunks = flush_chunks
        self.max_article_chars = max_article_chars
        self.article_time_limit_s = article_time_limit_s
        self.embed_batch = embed_batch
        self.priority = priority  # queries first: the ingest steps aside between small steps
        self.article_workers = article_workers  # derived layers of a bulk ingest, beside the embedding
        self.workers_min_articles = WORKERS_MIN_ARTICLES
        # Writes are serialised here too, so every caller of the ingester is safe, not only the service's.
        self._write_lock = threading.RLock()

    # ------------------------------------------------------------------
    def ingest_paths(self, paths: list[Path], progress: bool = False) -> IngestResult:
        items = list(load_paths(paths))
        return self.ingest_items(items, progress=progress)

    def ingest_bytes(self, filename: str, data: bytes, replace: bool = False,
                     on_progress: ProgressHook | None = None, background: bool = False) -> IngestResult:
        """One uploaded file. It never replaces a different article unless `replace` is set.

        A file name says nothing about which article a file is: an upload is matched to a
        stored article by its feed id (JSONL `id`, front matter `id:`), else by the id its
        title gives. Same content: unchanged. Different content: a conflict, or with
        `replace` an update. `background`: a job nobody waits on (see _ingest's workers).
        """
        name = Path(filename).name or "upload"
        items = list(parse_bytes(data, Path(f"upload/{name}")))
        return self.ingest_items(items, upload=True, replace=replace, on_progress=on_progress, background=background)

    def ingest_items(self, items: Iterable[RawArticle | Failure], progress: bool = False, *,
                     upload: bool = False, replace: bool = False,
                     on_progress: ProgressHook | None = None, background: bool = False) -> IngestResult:
        with self._write_lock, pausing(self.priority.pause if self.priority is not None else None):
            return self._ingest(list(items), progress, upload, replace, on_progress, background)

    def _ingest(self, items: list[RawArticle | Failure], progress: bool, upload: bool,
                replace: bool, on_progress: ProgressHook | None = None, background: bool = False) -> IngestResult:
        started = time.perf_counter()
        counts = {"articles": 0, "chunks_done": 0, "chunks": 0}

        def report_progress(embedded: int = 0) -> None:
            counts["chunks_done"] += embedded
            if on_progress is not None:
                on_progress(IngestProgress(counts["articles"], len(items), counts["chunks_done"], counts["chunks"]))

        self.store.check_model()
        report = IngestResult()
        self.repair()
        records = self.store.article_records()
        by_origin = {r.origin: aid for aid, r in records.items()}
        taken = set(records)
        pending: list[_Pending] = []
        n_pending_chunks = 0
        done_now: set[str] = set()

        bar = Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       TextColumn("{task.fields[note]}"), disable=not progress, transient=False)
        # Batches are embedded and committed on another thread, one at a time and in order, while
        # this thread builds the next; at most one batch waits, so memory holds two. The derived
        # layers of a bulk ingest run in worker processes meanwhile (spaCy's parse takes a core of
        # its own). A background upload job's too: in this process the parse holds the GIL that
        # every query needs, which no nice value can give back; the worker inherits the job
        # thread's nice. A direct upload's stay here: its caller waits, and starting a worker
        # takes 5-20 s.
        in_flight: Future[None] | None = None
        workers = (self.article_workers() if self.article_workers is not None and self.on_article is not None
                   and (background or not upload) and len(items) >= self.workers_min_articles else None)

        def committed() -> None:  # waits for the commit in flight; its error, if any, stops the ingest
            nonlocal in_flight
            if in_flight is not None:
                previous, in_flight = in_flight, None
                previous.result()

        def commit(batch: list[_Pending]) -> None:
            nonlocal in_flight
            committed()
            in_flight = _in_daemon_thread(self._flush, batch, report, report_progress, workers)

        def settle() -> None:  # leaving on an error here: no commit may outlive this ingest's lock
            error = in_flight.exception() if in_flight is not None else None
            if error is not None:
                log.error("the commit in flight failed too", exc_info=error)

        with ExitStack() as stack:
            if workers is not None:
                stack.callback(workers.close)
            stack.callback(settle)
            stack.enter_context(bar)
            task = bar.add_task("ingest", total=len(items), note="")
            report_progress()
            for item in items:
                bar.advance(task)
                if counts["articles"]:
                    report_progress()  # the previous article is done, whatever became of it
                self._pause()
                counts["articles"] += 1
                if isinstance(item, Failure):
                    report.failed.append((item.where, item.reason))
                    continue
                where = item.origin or item.path or "?"
                size = sum(len(body) for _, body in item.blocks)
                if size > self.max_article_chars:
                    report.failed.append((where, f"article too large: {size:,} characters "
                                                 f"(limit {self.max_article_chars:,}, QA_MAX_ARTICLE_CHARS)"))
                    continue
                if (why := encoded_data(item.blocks)) is not None:
                    report.failed.append((where, why))
                    continue
                try:
                    # Everything done for this article alone runs under its time limit.
                    with time_limit(self.article_time_limit_s):
                        if upload:
                            article, old = self._match_upload(item, records, by_origin, taken, replace)
                        else:
                            article = build_article(item, self._assign_id(item, by_origin, taken))
                            old = records.get(article.article_id)
                        if article.article_id in done_now:
                            report.failed.append((where, f"duplicate article id {article.article_id!r} "
                                                         "in this ingest"))
                            continue
                        done_now.add(article.article_id)
                        taken.add(article.article_id)
                        by_origin[self.identity(item)] = article.article_id
                        if old is not None and old.content_hash == article.content_hash:
                            report.unchanged.append(article.article_id)
                            continue
                        chunks = self.chunker.chunk_article(article)
                        derived = None
                        if workers is not None:  # the rest of its time goes with it to the worker
                            derived = workers.submit(data_only(article), time_left())
                        else:
                            self._derive(article, where, report)
                except _Conflict as exc:
                    report.conflicts.append((where, str(exc)))
                    continue
                except TimeLimitExceeded as exc:
                    report.failed.append(_over_limit(where, exc))
                    continue
                except LoadError as exc:
                    report.failed.append((where, str(exc)))
                    continue
                except Exception as exc:  # e.g. a field of the wrong type: this article only
                    log.warning("invalid article at %s", where, exc_info=True)
                    report.failed.append((where, f"invalid article ({type(exc).__name__})"))
                    continue
                pending.append(_Pending(article, self.identity(item), old is not None, chunks, where, derived))
                n_pending_chunks += len(chunks)
                counts["chunks"] += len(chunks)
                if n_pending_chunks >= self.flush_chunks:
                    commit(pending)
                    pending, n_pending_chunks = [], 0
            if pending:
                commit(pending)
            if in_flight is not None:
                bar.update(task, note="embedding the last batch")
            committed()
            report_progress()
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _pause(self) -> None:
        if self.priority is not None:
            self.priority.pause()

    def _derive(self, article: Article, where: str, report: IngestReport) -> None:
        """Derived layers (positions) run before the commit, inside the article's time limit.

        Over the limit, the article is not indexed (the caller reports it); any other failure
        of a derived layer leaves the article indexed and is reported, never silent.
        """
        if self.on_article is None:
            return
        try:
            # Derived layers read the article without its planted instructions (offsets kept).
            self.on_article(data_only(article))
        except TimeLimitExceeded:
            raise
        except Exception:
            log.exception("post-ingest hook failed for %s", article.article_id)
            report.failed.append(_without_positions(where, article))

    def _derived(self, pending: list[_Pending], report: IngestReport,
                 workers: ArticleWorkers | None) -> list[_Pending]:
        """Waits for each article's derived layers from the workers and stores them, as `_derive`
        does in this thread; the articles to commit (an article over its time limit is not)."""
        kept = []
        for p in pending:
            if p.derived is not None and workers is not None:
                try:
                    workers.finish(p.article, p.derived)
                except TimeLimitExceeded:  # in the worker (what was left of the limit), or stuck past it
                    report.failed.append(_over_limit(p.where, over_limit(self.article_time_limit_s or 0)))
                    continue
                except Exception:  # the worker died, or storing failed: indexed, and said so
                    log.exception("derived layers failed for %s", p.article.article_id)
                    report.failed.append(_without_positions(p.where, p.article))
            kept.append(p)
        return kept

    @staticmethod
    def identity(raw: RawArticle) -> str:
        """What makes two inputs the same article: the feed's id, else the file (and line)."""
        return f"feed:{raw.feed_id}" if raw.feed_id else raw.origin

    def _assign_id(self, raw: RawArticle, by_origin: dict[str, str], taken: set[str]) -> str:
        """Feed id if there is one, else the slug of the title; collision-safe and stable.

        An id already held by another article (another file with the same headline, a
        feed id equal to a slug, two feed ids that differ only in characters ids cannot
        hold) gets a suffix derived from this article's identity.
        """
        key = self.identity(raw)
        if key in by_origin:
            return _checked(by_origin[key], raw)
        base = safe_id(raw.feed_id) if raw.feed_id else slugify(raw.title)
        if base not in taken:
            return _checked(base, raw)
        return _checked(f"{base}-{short_hash(key, 6)}", raw)

    def _match_upload(self, raw: RawArticle, records: dict[str, ArticleRecord], by_origin: dict[str, str],
                      taken: set[str], replace: bool) -> tuple[Article, ArticleRecord | None]:
        """The article an upload becomes, and the stored record it may replace (see ingest_bytes)."""
        key = self.identity(raw)
        if raw.feed_id:
            candidates = [by_origin[key]] if key in by_origin else []
            new_id = by_origin.get(key) or self._assign_id(raw, by_origin, taken)
        else:
            # The title's id, or the suffixed id a same-titled article got in an earlier upload;
            # never the id of whatever was uploaded before under the same file name.
            base = slugify(raw.title)
            alt = f"{base}-{short_hash(key, 6)}"
            candidates = [c for c in (alt, base) if c in records]
            new_id = base if base not in taken else alt
        for candidate in candidates:
            article = build_article(raw, _checked(candidate, raw))
            if records[candidate].content_hash == article.content_hash:
                return article, records[candidate]
        if candidates:
            target = candidates[0]
            if not replace:
                raise _Conflict(f"article {target!r} ({records[target].title!r}) already exists with different "
                                "content; upload with ?replace=true to replace it")
            return build_article(raw, target), records[target]
        return build_article(raw, _checked(new_id, raw)), None

    def _flush(self, pending: list[_Pending], report: IngestReport,
               on_embedded: Callable[[int], None] | None = None, workers: ArticleWorkers | None = None) -> None:
        texts = [c.index_text for p in pending for c in p.chunks]
        embed_array = getattr(self.embedder, "embed_array", None)
        vectors: list[Any] = [None] * len(texts)
        # One encoder batch at a time (unless the embedder cannot batch), queries first between two.
        # Longest first, as one large encode call would order them, so no batch pads much.
        step = self.embed_batch if embed_array else PROGRESS_EMBED_SLICE
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for lo in range(0, len(order), step):
            self._pause()
            idx = order[lo : lo + step]
            part = [texts[i] for i in idx]
            got = (list(embed_array(part, batch_size=self.embed_batch)) if embed_array
                   else self.embedder.embed_documents(part))
            for i, vector in zip(idx, got, strict=True):
                vectors[i] = vector
            if on_embedded is not None:
                on_embedded(len(part))
        # The workers parsed this batch while it was embedded; an article they time out drops out here.
        kept = self._derived(pending, report, workers)
        if len(kept) < len(pending):
            vector_of = {id(c): v for c, v in zip((c for p in pending for c in p.chunks), vectors, strict=True)}
            pending = kept
            vectors = [vector_of[id(c)] for p in pending for c in p.chunks]
        self.store.mark_dirty()
        # Old versions out (records first), new chunks in, then the new records: the commit.
        self.store.delete_articles([p.article.article_id for p in pending if p.existed])
        self.store.add_many([(p.article, p.chunks) for p in pending], vectors)
        self.store.put_articles([(p.article, p.origin, len(p.chunks)) for p in pending])
        for p in pending:
            n = len(p.chunks)
            (report.updated if p.existed else report.added).append(p.article.article_id)
            report.paragraphs += len(p.article.paragraphs)
            report.chunks += n
        self.store.bump_generation()
        log.info("committed %d articles (%d chunks)", len(pending), len(vectors))

    # ------------------------------------------------------------------
    def remove(self, article_id: str) -> None:
        with self._write_lock:
            if article_id not in self.store.article_records():
                raise NotFoundError(f"no article with id {article_id!r}")
            self.store.mark_dirty()
            self.store.delete_article(article_id)
            self.store.bump_generation()
            if self.on_remove is not None:
                self.on_remove(article_id)

    def repair(self) -> int:
        """Delete chunks left uncommitted by an interrupted ingest; returns how many."""
        committed = {aid: r.content_hash for aid, r in self.store.article_records().items()}
        raw = self.store.all_chunks(include_documents=False)
        stale = [
            cid
            for cid, meta in zip(raw["ids"], raw["metadatas"], strict=True)
            if committed.get(meta["article_id"]) != meta.get("content_hash")
        ]
        if stale:
            log.warning("repairing index: deleting %d uncommitted chunks", len(stale))
            self.store.delete_chunks(stale)
        if stale or self.store.is_dirty():  # a crash after commits but before the bump
            self.store.bump_generation()
        return len(stale)


def _in_daemon_thread(fn: Callable[..., None], *args: Any) -> Future[None]:
    """Runs `fn` on a thread of its own; a daemon, so a server's shutdown does not wait for it
    (an interrupted commit leaves only uncommitted chunks, which `repair` deletes)."""
    future: Future[None] = Future()

    def run() -> None:
        try:
            fn(*args)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name="ingest-commit", daemon=True).start()
    return future


def _over_limit(where: str, reason: object) -> tuple[str, str]:
    return where, f"{reason} (QA_ARTICLE_TIME_LIMIT_S); not indexed"


def _without_positions(where: str, article: Article) -> tuple[str, str]:
    return where, (f"article {article.article_id!r} indexed without positions: "
                   "their extraction failed (the server log has details)")


def _checked(article_id: str, raw: RawArticle) -> str:
    if is_reserved_id(article_id):
        raise LoadError(f"id {raw.feed_id or article_id!r} is reserved for the index's own records "
                        "(ids starting with '__' or made only of dots); give the article another id")
    return article_id
