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
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from qa_service.loaders.common import TimeLimitExceeded, time_limit
from qa_service.models import Article
from qa_service.positions.extract import EXTRACTOR_VERSION, extract_article, load_nlp
from qa_service.positions.models import ArticleEntries

if TYPE_CHECKING:
    from spacy.language import Language

    from qa_service.positions.index import PositionsIndex

log = logging.getLogger(__name__)

_NLP: Language | None = None  # the worker process's own pipeline, loaded once when it starts


def _start_worker() -> None:
    global _NLP
    _NLP = load_nlp()


def _extract(article: Article, limit_s: float | None) -> tuple[ArticleEntries, float]:
    """In the worker: the article's entries, under what is left of its time limit."""
    assert _NLP is not None, "the worker's initializer loads the pipeline"
    started = time.perf_counter()
    with time_limit(limit_s):
        entries = extract_article(article, _NLP)
    return entries, time.perf_counter() - started


class ExtractionWorkers:
    """Worker processes (spawned: the ingest process has threads) that extract, and the
    step that stores what they return; the ingest calls `finish` in its commit, in order.

    `seconds` keeps each article's extraction time in its worker, for reports and tests.
    """

    def __init__(self, index: PositionsIndex, processes: int = 1) -> None:
        self.index = index
        # A worker started from the nice ingest thread of a server inherits its priority.
        self._pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker)
        self.seconds: dict[str, float] = {}
        self._broken = False

    def submit(self, article: Article, limit_s: float | None) -> Future[Any] | None:
        """Start the article's extraction; None when its stored entries are current already."""
        if not self.index.needs_update(article):
            return None
        if not self._broken:
            try:
                return self._pool.submit(_extract, article, limit_s)
            except BrokenProcessPool:  # the worker died (its articles' futures say so): the rest here
                log.warning("the positions worker process died; the ingest extracts the rest itself")
                self._broken = True
        return self._here(article)

    def _here(self, article: Article) -> Future[Any]:
        """Extraction in this process, under the article's time limit (over it, the caller's
        TimeLimitExceeded); any other failure goes into the future, as a worker's would."""
        done: Future[Any] = Future()
        started = time.perf_counter()
        try:
            entries = self.index.extract(article)
        except TimeLimitExceeded:
            raise
        except Exception as exc:
            done.set_exception(exc)
        else:
            done.set_result((entries, time.perf_counter() - started))
        return done

    def finish(self, article: Article, result: tuple[ArticleEntries, float]) -> None:
        entries, seconds = result
        self.seconds[article.article_id] = seconds
        self.index.store.replace_article(article, entries, extractor=EXTRACTOR_VERSION)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
