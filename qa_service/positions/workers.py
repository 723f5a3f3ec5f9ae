"""Positions extraction in a worker process, beside the ingest that embeds.

spaCy's parse holds the GIL and one core for as long as the encoder takes on the same
articles: in a thread it stalls the encoder, one after the other they take the sum. In
its own process the parse of one batch runs while the ingest embeds the batch before.
Measured on 2 cores, 200 BBC articles: parse 26.2 s, embed 20.2 s one after the other;
33.8 s for both side by side (two scratch processes); whole ingests: bench/ingest.py.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa_service.loaders.common import TimeLimitExceeded, over_limit, time_limit
from qa_service.models import Article
from qa_service.positions.extract import EXTRACTOR_VERSION, extract_article, load_nlp
from qa_service.positions.models import ArticleEntries

if TYPE_CHECKING:
    from spacy.language import Language

    from qa_service.positions.index import PositionsIndex

log = logging.getLogger(__name__)

Extract = Callable[[Article, "Language"], ArticleEntries]

# The parent's hard timeout: an article's limit plus this. The worker stops itself at the limit
# between steps; past the grace it is stuck in one call (a parse, a regex) or deadlocked.
HARD_GRACE_S = 5.0
# A pool's start (spawning, importing, loading spaCy: 5-20 s here) waited for at most this long;
# past it the ingest gives up on worker processes and extracts the rest itself.
POOL_START_LIMIT_S = 300.0

_NLP: Language | None = None  # the worker process's own pipeline, loaded once when it starts
_EXTRACT: Extract = extract_article


def _start_worker(extract: Extract) -> None:
    global _NLP, _EXTRACT
    _watch_parent()
    _NLP = load_nlp()
    _EXTRACT = extract


def _watch_parent() -> None:
    """The worker ends when the ingest's process does (kill -9 included): it holds both ends of
    its job pipe, so it would otherwise wait for jobs forever, a spaCy model's worth of memory."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _ready() -> None:
    """The first job of a pool: done once a worker has loaded its pipeline."""


def _extract(article: Article, limit_s: float | None) -> tuple[ArticleEntries, float]:
    """In the worker: the article's entries, under what is left of its time limit."""
    assert _NLP is not None, "the worker's initializer loads the pipeline"
    started = time.perf_counter()
    with time_limit(limit_s):
        entries = _EXTRACT(article, _NLP)
    return entries, time.perf_counter() - started


@dataclass
class _Job:
    """An article sent to the pool, kept until its result is stored, so it can be sent again."""

    article: Article
    limit_s: float | None
    future: Future[Any] | None  # None: no pool could take it again, `finish` extracts it here
    submitted: float


class ExtractionWorkers:
    """Worker processes (spawned: the ingest process has threads) that extract, and the
    step that stores what they return; the ingest calls `finish` in its commit, in order.

    An article's worker gets what is left of its time limit and stops itself at it; `finish`
    waits that long plus HARD_GRACE_S, then kills the pool (the worker is stuck where it cannot
    check the time), fails that article and sends the ones queued behind it to a fresh pool.
    `seconds` keeps each article's extraction time in its worker, for reports and tests.
    `extract` is what a worker runs per article (tests pass one that hangs).
    """

    def __init__(self, index: PositionsIndex, processes: int = 1, extract: Extract = extract_article) -> None:
        self.index = index
        self.processes = processes
        self.extract = extract
        self.seconds: dict[str, float] = {}
        self._broken = False
        # submit (the ingest's thread) and a restart in finish (the commit thread) both touch the pool.
        self._lock = threading.Lock()
        self._jobs: dict[Future[Any], _Job] = {}  # by the future `submit` returned; in submit order
        self._pool = self._start()
        self._ready: Future[None] | None = None  # the pool's first job, sent with its first article
        self._since: float | None = None  # see _wait

    def _start(self) -> ProcessPoolExecutor:
        # A worker started from the nice ingest thread of a server inherits its priority.
        return ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(self.extract,))

    def _send(self, article: Article, limit_s: float | None) -> Future[Any]:
        """To the pool (under the lock); its first article goes after the job that says it is up.
        Not before: an ingest of unchanged articles starts no worker."""
        if self._ready is None:
            self._ready = self._pool.submit(_ready)
        return self._pool.submit(_extract, article, limit_s)

    def submit(self, article: Article, limit_s: float | None) -> Future[Any] | None:
        """Start the article's extraction; None when its stored entries are current already."""
        if not self.index.needs_update(article):
            return None
        with self._lock:
            if not self._broken:
                try:
                    future = self._send(article, limit_s)
                except BrokenProcessPool:  # the worker died (its articles' futures say so): the rest here
                    log.warning("the positions worker process died; the ingest extracts the rest itself")
                    self._broken = True
                else:
                    self._jobs[future] = _Job(article, limit_s, future, time.monotonic())
                    return future
        return self._here(article)

    def _here(self, article: Article) -> Future[Any]:
        """Extraction in this process, under the article's time limit (over it, the caller's
        TimeLimitExceeded); any other failure goes into the future, as a worker's would."""
        done: Future[Any] = Future()
        try:
            done.set_result(self._timed(article))
        except TimeLimitExceeded:
            raise
        except Exception as exc:
            done.set_exception(exc)
        return done

    def _timed(self, article: Article) -> tuple[ArticleEntries, float]:
        """The article's entries extracted in this process, and the seconds it took (a worker's result)."""
        started = time.perf_counter()
        entries = self.index.extract(article)
        return entries, time.perf_counter() - started

    def finish(self, article: Article, derived: Future[Any]) -> None:
        """Waits for the article's extraction (`derived`, from `submit`) and stores its entries;
        over its time limit, TimeLimitExceeded. Called in submit order."""
        with self._lock:
            job = self._jobs.pop(derived, None)
        entries, seconds = self._wait(job) if job is not None else derived.result()
        self.seconds[article.article_id] = seconds
        self.index.store.replace_article(article, entries, extractor=EXTRACTOR_VERSION)

    def _wait(self, job: _Job) -> tuple[ArticleEntries, float]:
        if job.future is None:  # its pool was killed and no fresh one started: here, under its limit
            with time_limit(job.limit_s):
                return self._timed(job.article)
        if job.limit_s is None or job.future.done():  # (done: also one a killed pool had finished)
            return job.future.result()
        # The deadline counts from when the worker could have started the article at the latest:
        # the pool is FIFO and results are waited for in submit order, so once the result before
        # this one came back (or the pool's pipeline loaded) a worker is free for it. A deadline
        # from submit time would count the turn it waited in the queue.
        if self._since is None:
            if self._ready is not None and not self._ready.cancelled():
                try:  # the pool's start (spaCy's load) is no article's time, but it has its own bound
                    self._ready.exception(timeout=POOL_START_LIMIT_S)
                except FutureTimeout:
                    log.error("the positions worker did not start within %.0f s; the ingest extracts the "
                              "rest itself", POOL_START_LIMIT_S)
                    self._abandon()
                    job.future = None
                    return self._wait(job)
            self._since = time.monotonic()
        deadline = max(job.submitted, self._since) + job.limit_s + HARD_GRACE_S
        done, _ = wait([job.future], timeout=max(0.0, deadline - time.monotonic()))
        if not done:
            log.error("positions extraction of %s is stuck past its time limit; killing the worker",
                      job.article.article_id)
            self._restart()
            raise TimeLimitExceeded(over_limit(job.limit_s))
        self._since = time.monotonic()
        return job.future.result()

    def _restart(self) -> None:
        """Kills the pool's workers and sends the articles they had not returned to a fresh pool
        (or, if none starts, leaves them to `finish` to extract here). The stuck article's job
        was taken out of `_jobs` by `finish`, so it is not sent again."""
        with self._lock:
            _kill(self._pool)
            self._ready = self._since = None
            lost = [job for job in self._jobs.values() if job.future is None or _lost(job.future)]
            for job in lost:
                job.future, job.submitted = None, time.monotonic()
            try:
                self._pool = self._start()
                for job in lost:
                    job.future = self._send(job.article, job.limit_s)
            except Exception:  # e.g. no process could be spawned
                log.exception("no fresh positions worker could start; the ingest extracts the rest itself")
                _kill(self._pool)
                self._broken = True
                for job in lost:
                    job.future = None

    def _abandon(self) -> None:
        """No more worker processes: kills the pool; `submit` and `finish` extract here from now on."""
        with self._lock:
            _kill(self._pool)
            self._broken = True
            self._ready = self._since = None
            for job in self._jobs.values():
                job.future = None

    def close(self) -> None:
        with self._lock:
            if any(job.future is not None and not job.future.done() for job in self._jobs.values()):
                _kill(self._pool)  # the ingest stopped on an error: nobody waits for these
            self._pool.shutdown(wait=True, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    """Ends the pool's worker processes now (terminate, then kill) and shuts the pool down; its
    unfinished futures fail with BrokenProcessPool or are cancelled."""
    processes = list((pool._processes or {}).values())  # no public way to stop a busy worker in 3.11
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5.0)
        if process.is_alive():
            process.kill()
            process.join()
    pool.shutdown(wait=True, cancel_futures=True)


def _lost(future: Future[Any]) -> bool:
    """A job the killed pool never returned."""
    return not future.done() or future.cancelled() or isinstance(future.exception(), BrokenProcessPool)
