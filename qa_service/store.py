"""Chroma storage: the single source of truth for chunks and article records.

Two collections:
- `<name>` holds one record per chunk (vector, indexed text, metadata).
- `<name>_articles` holds one record per article (the full Article JSON as the
  document) and a `__state__` record with the embedding model and a generation
  counter. An article record is written only after all its chunks are, so it is
  the commit marker of that article: chunks whose content_hash differs from their
  article record's are uncommitted leftovers of an interrupted ingest, ignored by
  readers and repaired by the next ingest.
Chroma needs a vector for every record; article records get a small distinct 2-d
one (identical vectors make HNSW inserts pathologically slow).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from qa_service.errors import DependencyUnavailable, IndexMismatchError, NotFoundError
from qa_service.models import Article, Chunk

log = logging.getLogger(__name__)

STATE_ID = "__state__"
_UNIT = [1.0, 0.0]
CHROMA = "the vector store (Chroma)"


@contextmanager
def chroma_failures() -> Iterator[None]:
    """Chroma's transport failures as the one domain error the front ends know (503, exit 75, ...)."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:  # refused, reset, timed out: the server is down or restarting
        raise DependencyUnavailable(CHROMA, type(exc).__name__) from exc
    except ValueError as exc:
        # chromadb's own client wraps a refused connection as ValueError("Could not connect ...").
        if "could not connect" in str(exc).lower():
            raise DependencyUnavailable(CHROMA, "could not connect") from exc
        raise


class Guarded:
    """A Chroma client or collection whose calls raise DependencyUnavailable when the server is gone.

    Wrapping the objects (not each store method) also covers the readers that use
    `store.chunks` directly (lexical refresh, stats, vector look-ups).
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with chroma_failures():
                result = attr(*args, **kwargs)
            # Collections handed out by the client are guarded too.
            return Guarded(result) if _is_collection(result) else result

        return call


def _is_collection(obj: Any) -> bool:
    from chromadb.api.models.Collection import Collection

    return isinstance(obj, Collection)


def _placeholder_vector(key: str) -> list[float]:
    angle = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * 2 * math.pi
    return [math.cos(angle), math.sin(angle)]


def make_client(index_dir: Any, chroma_url: str | None, timeout_s: float = 30.0) -> Any:
    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        with chroma_failures():
            # The client checks the server as it is made, with no time limit: a hung server
            # would hang us, so a bounded heartbeat first.
            httpx.get(f"{chroma_url.rstrip('/')}/api/v2/heartbeat", timeout=timeout_s)
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        # chromadb offers no request timeout setting; its httpx session takes one.
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = httpx.Timeout(timeout_s)
        else:
            log.warning("cannot set a timeout on this chromadb client: a hung Chroma server blocks requests")
        return Guarded(client)
    index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(index_dir / "chroma"), settings=chroma_settings)


@dataclass
class ArticleRecord:
    article_id: str
    content_hash: str
    origin: str
    title: str
    source: str | None
    published: str | None
    paragraphs: int
    chunks: int


class ChromaStore:
    def __init__(self, client: Any, name: str, model_name: str) -> None:
        self.client = client = client if isinstance(client, Guarded) else Guarded(client)
        self.model_name = model_name
        # No embedding function: vectors are always computed by our own embedder
        # (Chroma's default one would try to download a model).
        self.chunks = client.get_or_create_collection(
            name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        self.articles = client.get_or_create_collection(
            f"{name}_articles", embedding_function=None, metadata={"hnsw:space": "l2"})
        self.max_batch = int(client.get_max_batch_size())

    # -- state -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        got = self.articles.get(ids=[STATE_ID], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else {}

    def state_key(self) -> tuple[str, str, bool]:
        """(collection id, generation, dirty): what a view of the chunks was taken at (lexical.Snapshot.key)."""
        state = self.state()
        return (str(self.chunks.id), str(state.get("generation", "")), bool(state.get("dirty", False)))

    def check_model(self) -> None:
        """Refuse to mix vectors of two embedding models in one index."""
        recorded = self.state().get("embedding_model")
        if recorded and recorded != self.model_name:
            raise IndexMismatchError(
                f"The index was built with embedding model {recorded!r} but {self.model_name!r} is "
                "configured. Re-ingest into an empty index (new QA_INDEX_DIR or collection), "
                "or set QA_EMBEDDING_MODEL back."
            )

    def generation(self) -> str:
        return str(self.state().get("generation", ""))

    def _put_state(self, generation: str, dirty: bool) -> None:
        self.articles.upsert(
            ids=[STATE_ID],
            embeddings=[_UNIT],
            metadatas=[{"embedding_model": self.model_name, "generation": generation, "dirty": dirty,
                        "kind": "state"}],
            documents=[""],
        )

    def mark_dirty(self) -> None:
        """Set before a write batch: readers then know their view may be missing commits."""
        self._put_state(self.generation(), True)

    def bump_generation(self) -> str:
        """A new random token (not a counter: two writers or a recreated index never reuse one)."""
        gen = uuid.uuid4().hex
        self._put_state(gen, False)
        return gen

    def is_dirty(self) -> bool:
        return bool(self.state().get("dirty", False))

    # -- articles --------------------------------------------------------------
    def article_records(self) -> dict[str, ArticleRecord]:
        got = self.articles.get(where={"kind": "article"}, include=["metadatas"])
        return {i: _record(i, m) for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    def find_by_origin(self, origin: str) -> str | None:
        got = self.articles.get(where={"origin": origin}, include=[])
        return got["ids"][0] if got["ids"] else None

    def get_article(self, article_id: str) -> Article:
        got = self.articles.get(ids=[article_id], include=["documents"])
        if not got["ids"] or article_id == STATE_ID:
            raise NotFoundError(f"no article with id {article_id!r}")
        return Article.model_validate_json(got["documents"][0])

    def get_articles(self, ids: list[str]) -> list[Article]:
        if not ids:
            return []
        got = self.articles.get(ids=ids, include=["documents"])
        by_id = {i: Article.model_validate_json(d) for i, d in zip(got["ids"], got["documents"], strict=True)}
        return [by_id[i] for i in ids if i in by_id]

    def put_articles(self, items: list[tuple[Article, str, int]]) -> None:
        """Write article records (commit markers) in batches, after all their chunks."""
        rows = [(a, self._article_meta(a, origin, n)) for a, origin, n in items]
        for lo in range(0, len(rows), self.max_batch):
            part = rows[lo : lo + self.max_batch]
            self.articles.upsert(
                ids=[a.article_id for a, _ in part],
                embeddings=[_placeholder_vector(a.article_id) for a, _ in part],
                metadatas=[m for _, m in part],
                documents=[a.model_dump_json() for a, _ in part],
            )

    @staticmethod
    def _article_meta(article: Article, origin: str, n_chunks: int) -> dict[str, Any]:
        return {
            "kind": "article",
            "content_hash": article.content_hash,
            "origin": origin,
            "title": article.title,
            "source": article.source or "",
            "published": article.published.isoformat() if article.published else "",
            "paragraphs": len(article.paragraphs),
            "chunks": n_chunks,
        }

    def delete_article(self, article_id: str) -> None:
        self.delete_articles([article_id])

    def delete_articles(self, article_ids: list[str]) -> None:
        # Records first: once they are gone the chunks are uncommitted and invisible to readers.
        for lo in range(0, len(article_ids), 500):
            part = article_ids[lo : lo + 500]
            self.articles.delete(ids=part)
            self.chunks.delete(where={"article_id": {"$in": part}})

    # -- chunks ----------------------------------------------------------------
    def add_many(self, items: list[tuple[Article, list[Chunk]]], vectors: list[list[float]]) -> None:
        """Upsert the chunks of several articles in as few calls as Chroma allows."""
        chunks = [c for _, cs in items for c in cs]
        metas = [self._chunk_meta(a, c) for a, cs in items for c in cs]
        for lo in range(0, len(chunks), self.max_batch):
            hi = lo + self.max_batch
            self.chunks.upsert(
                ids=[c.chunk_id for c in chunks[lo:hi]],
                embeddings=vectors[lo:hi],
                documents=[c.index_text for c in chunks[lo:hi]],
                metadatas=metas[lo:hi],
            )

    @staticmethod
    def _chunk_meta(article: Article, c: Chunk) -> dict[str, Any]:
        published = article.published.isoformat() if article.published else ""
        return {
                "article_id": c.article_id,
                "paragraph_id": c.paragraph_id,
                "window": c.window,
                "start": c.start,
                "end": c.end,
                "content_hash": article.content_hash,
                "source": article.source or "",
                "published": published,
                # ISO date as an int (YYYYMMDD) so Chroma can range-filter it.
                "published_int": int(published.replace("-", "")) if published else 0,
            }

    def all_chunks(self, include_documents: bool = True) -> dict[str, list[Any]]:
        include = ["metadatas", "documents"] if include_documents else ["metadatas"]
        out: dict[str, list[Any]] = {"ids": [], "metadatas": [], "documents": []}
        total = self.chunks.count()
        for offset in range(0, total, 5000):
            got = self.chunks.get(include=include, limit=5000, offset=offset)
            out["ids"] += got["ids"]
            out["metadatas"] += got["metadatas"]
            if include_documents:
                out["documents"] += got["documents"]
        return out

    def delete_chunks(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for lo in range(0, len(ids), self.max_batch):
            self.chunks.delete(ids=ids[lo : lo + self.max_batch])

    def vectors(self, ids: list[str], metadata: bool = True,
                ) -> tuple[list[str], list[dict[str, Any] | None], list[Any]]:
        """Stored vectors (and metadata, or None for each without `metadata`) of these chunks; ids not
        stored are left out."""
        out_ids: list[str] = []
        metas: list[dict[str, Any] | None] = []
        vectors: list[Any] = []
        include: Any = ["metadatas", "embeddings"] if metadata else ["embeddings"]
        for lo in range(0, len(ids), self.max_batch):
            got = self.chunks.get(ids=ids[lo : lo + self.max_batch], include=include)
            out_ids += got["ids"]
            metas += got["metadatas"] if metadata else [None] * len(got["ids"])
            vectors += list(got["embeddings"])
        return out_ids, metas, vectors

    def query(self, vector: list[float], n: int, where: dict[str, Any] | None, metadata: bool = True) -> dict[str, Any]:
        # No cap at count(): Chroma returns fewer when it holds fewer, and count() cost 14 ms a call
        # at 100k chunks (several calls per question).
        include: Any = ["metadatas", "distances"] if metadata else ["distances"]
        return self.chunks.query(query_embeddings=[vector], n_results=max(1, n), where=where, include=include)


def is_committed(meta: dict[str, Any] | None, committed: dict[str, str]) -> bool:
    """Is this chunk (its metadata) of its article's committed version (article id -> content hash)?"""
    return meta is not None and committed.get(meta.get("article_id", "")) == meta.get("content_hash")


def _record(article_id: str, meta: dict[str, Any]) -> ArticleRecord:
    return ArticleRecord(
        article_id=article_id,
        content_hash=str(meta.get("content_hash", "")),
        origin=str(meta.get("origin", "")),
        title=str(meta.get("title", "")),
        source=str(meta.get("source") or "") or None,
        published=str(meta.get("published") or "") or None,
        paragraphs=int(meta.get("paragraphs", 0)),
        chunks=int(meta.get("chunks", 0)),
    )


def dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
