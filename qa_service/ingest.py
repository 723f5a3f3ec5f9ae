"""Incremental, idempotent ingestion into the Chroma store.

Per article the order is: drop the old record (the commit marker), drop its old
chunks, write the new chunks, write the new record. A kill -9 anywhere leaves
either the old article gone or uncommitted chunks that readers ignore and the
next run deletes (`repair`), so there are never duplicate or orphan paragraphs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qa_service.chunking import Chunker
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.errors import NotFoundError
from qa_service.loaders import Failure, RawArticle, build_article, load_paths, parse_bytes
from qa_service.loaders.common import LoadError, safe_id, short_hash, slugify
from qa_service.models import Article, Chunk
from qa_service.service_types import IngestReport
from qa_service.store import ChromaStore

log = logging.getLogger(__name__)

ArticleHook = Callable[[Article], None]
RemoveHook = Callable[[str], None]


@dataclass
class _Pending:
    article: Article
    origin: str
    existed: bool
    chunks: list[Chunk]


class Ingester:
    def __init__(
        self,
        store: ChromaStore,
        embedder: SentenceTransformerEmbeddings,
        chunker: Chunker,
        on_article: ArticleHook | None = None,
        on_remove: RemoveHook | None = None,
        flush_chunks: int = 2048,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.on_article = on_article
        self.on_remove = on_remove
        self.flush_chunks = flush_chunks

    # ------------------------------------------------------------------
    def ingest_paths(self, paths: list[Path], progress: bool = False) -> IngestReport:
        items = list(load_paths(paths))
        return self.ingest_items(items, progress=progress)

    def ingest_bytes(self, filename: str, data: bytes) -> IngestReport:
        name = Path(filename).name or "upload"
        items = list(parse_bytes(data, Path(f"upload/{name}")))
        return self.ingest_items(items)

    def ingest_items(self, items: Iterable[RawArticle | Failure], progress: bool = False) -> IngestReport:
        started = time.perf_counter()
        self.store.check_model()
        report = IngestReport()
        self.repair()
        records = self.store.article_records()
        by_origin = {r.origin: aid for aid, r in records.items()}
        taken = set(records)
        items = list(items)
        pending: list[_Pending] = []
        n_pending_chunks = 0
        done_now: set[str] = set()

        bar = Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       TextColumn("{task.fields[note]}"), disable=not progress, transient=False)
        with bar:
            task = bar.add_task("ingest", total=len(items), note="")
            for item in items:
                bar.advance(task)
                if isinstance(item, Failure):
                    report.failed.append((item.where, item.reason))
                    continue
                try:
                    article_id = self._assign_id(item, by_origin, taken)
                    article = build_article(item, article_id)
                except LoadError as exc:
                    report.failed.append((item.origin or item.path or "?", str(exc)))
                    continue
                except Exception as exc:  # e.g. a field of the wrong type: this article only
                    report.failed.append((item.origin or item.path or "?", f"invalid article: {exc}"))
                    continue
                if article_id in done_now:
                    report.failed.append((item.origin or "?", f"duplicate article id {article_id!r} in this ingest"))
                    continue
                done_now.add(article_id)
                taken.add(article_id)
                by_origin[self.identity(item)] = article_id
                old = records.get(article_id)
                if old is not None and old.content_hash == article.content_hash:
                    report.unchanged.append(article_id)
                    continue
                chunks = self.chunker.chunk_article(article)
                pending.append(_Pending(article, self.identity(item), old is not None, chunks))
                n_pending_chunks += len(chunks)
                if n_pending_chunks >= self.flush_chunks:
                    bar.update(task, note=f"embedding {n_pending_chunks} chunks")
                    self._flush(pending, report)
                    pending, n_pending_chunks = [], 0
                    bar.update(task, note="")
            if pending:
                self._flush(pending, report)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

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
            return by_origin[key]
        base = safe_id(raw.feed_id) if raw.feed_id else slugify(raw.title)
        if base not in taken:
            return base
        return f"{base}-{short_hash(key, 6)}"

    def _flush(self, pending: list[_Pending], report: IngestReport) -> None:
        texts = [c.index_text for p in pending for c in p.chunks]
        embed_array = getattr(self.embedder, "embed_array", None)
        vectors = embed_array(texts) if embed_array else self.embedder.embed_documents(texts)
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
            if self.on_article is not None:
                try:
                    self.on_article(p.article)
                except Exception:  # a derived layer must not fail the ingest
                    log.exception("post-ingest hook failed for %s", p.article.article_id)
        self.store.bump_generation()
        log.info("committed %d articles (%d chunks)", len(pending), len(texts))

    # ------------------------------------------------------------------
    def remove(self, article_id: str) -> None:
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
