"""Hybrid retrieval as a LangChain retriever: dense (Chroma) + BM25, fused, per paragraph.

Fusion is reciprocal rank fusion over several ranked lists: dense, BM25, and, when
the question names an outlet, dense and BM25 restricted to that outlet's articles
(a question comparing two outlets needs evidence from both). A date named in the
question adds a small bonus to articles published that day.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from qa_service.errors import InvalidInputError
from qa_service.lexical import LexicalIndex
from qa_service.models import Article, Paragraph, RetrievedParagraph
from qa_service.news_signals import dates_in, outlet_clauses, outlet_spans, sources_in
from qa_service.priority import QueryFirst
from qa_service.scoped_dense import ScopedVectors
from qa_service.store import STATE_ID, ChromaStore, is_committed

MODES = ("hybrid", "dense", "bm25")


class HybridRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: ChromaStore
    lexical: LexicalIndex
    embedder: Any
    k: int = 8
    mode: str = "hybrid"
    candidates: int = 50
    rrf_k: int = 60
    use_news_signals: bool = True
    date_bonus: float = 1.0  # in units of a rank-1 RRF contribution
    bm25_weight: float = 1.0  # weight of BM25 lists against dense ones in the fusion
    outlet_clauses: bool = True  # per-outlet lists also search the clause about that outlet
    outlet_quota: bool = True  # multi-outlet questions take turns between outlets' rankings
    priority: QueryFirst = Field(default_factory=QueryFirst)  # shared with the ingester

    exact_scope_rows: int = 8000  # scopes up to this many chunks are searched exactly (scoped_dense.py)

    _articles: OrderedDict[tuple[str, str], Article] = PrivateAttr(default_factory=OrderedDict)
    _scoped: ScopedVectors | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _table: Any = PrivateAttr(default=None)  # the snapshot the last search used (see paragraph)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        results = self.search(query, k=kwargs.get("k", self.k), filters=kwargs.get("filters"))
        return [Document(page_content=r.text, metadata=r.model_dump()) for r in results]

    # -------------------------------------------------------------------------
    def search(self, query: str, k: int | None = None, filters: dict[str, Any] | None = None,
               mode: str | None = None) -> list[RetrievedParagraph]:
        with self.priority.query():  # a running ingest steps aside meanwhile (priority.py)
            return self._search(query, k, filters, mode)

    def _search(self, query: str, k: int | None, filters: dict[str, Any] | None,
                mode: str | None) -> list[RetrievedParagraph]:
        k = k or self.k
        mode = mode or self.mode
        if mode not in MODES:
            raise InvalidInputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if not query.strip():
            raise InvalidInputError("empty query")
        table, current = self.lexical.refresh_checked()
        self._table = table
        if not table.ids:
            return []
        filters = {key: v for key, v in (filters or {}).items() if v}
        if filters.get("source"):
            filters["source"] = _outlet(str(filters["source"]), table.sources)
        n = max(self.candidates, 3 * k)
        named_sources = sources_in(query, table.sources) if self.use_news_signals else []
        clauses: dict[str, str] = {}
        if named_sources and "source" not in filters and self.outlet_clauses:
            clauses = {s: c for s, c in outlet_clauses(query, table.sources).items() if len(c.split()) >= 4}
        # The question and its outlet clauses in one encoder call: a third of the time of one call each.
        texts = [query, *clauses.values()]
        vectors = dict(zip(texts, self._embed(texts), strict=True)) if mode != "bm25" else {}
        qvec = vectors.get(query)

        dense_sim: dict[str, float] = {}
        # (query text, its vector, scope, group): the whole question over everything, then per
        # named outlet the whole question and the clause about that outlet, restricted to it.
        searches: list[tuple[str, list[float] | None, dict[str, Any], str]] = [(query, qvec, filters, "")]
        if named_sources and "source" not in filters:
            for s in named_sources:
                searches.append((query, qvec, {**filters, "source": s}, s))
                if s in clauses:
                    searches.append((clauses[s], vectors.get(clauses[s]), {**filters, "source": s}, s))

        fused: dict[str, float] = defaultdict(float)  # over all lists
        by_group: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        first_rank: dict[str, dict[str, int]] = defaultdict(dict)
        masks: dict[tuple[tuple[str, Any], ...], Any] = {}  # an outlet's scope serves its question and clause
        for text, vec, scope, group in searches:
            runs: list[tuple[str, list[str]]] = []
            allowed = None
            if scope:  # one row mask per scope, for the dense and the BM25 search alike
                key = tuple(sorted(scope.items()))
                if key not in masks:
                    masks[key] = self._scope_rows(scope, table)
                allowed = masks[key]
            if mode in ("hybrid", "dense") and vec is not None:
                ranked, sims = self._dense(vec, n, scope, table, allowed, current)
                if vec is qvec:
                    dense_sim.update(sims)
                runs.append(("dense", ranked))
            if mode in ("hybrid", "bm25"):
                runs.append(("bm25", self._bm25(text, n, allowed, table)))
            for kind, ranked in runs:
                weight = self.bm25_weight if kind == "bm25" else 1.0
                for rank, chunk_id in enumerate(ranked, start=1):
                    fused[chunk_id] += weight / (self.rrf_k + rank)
                    if group:
                        by_group[group][chunk_id] += weight / (self.rrf_k + rank)
                    if not group:
                        first_rank[chunk_id].setdefault(kind, rank)

        wanted_dates = dates_in(query) if self.use_news_signals else []
        if wanted_dates:
            meta_by_id = {table.ids[i]: table.metas[i] for i in self._rows(fused.keys(), table)}
            near = {(d + timedelta(days=delta)).isoformat() for d in wanted_dates for delta in (-1, 0, 1)}
            for chunk_id in fused:
                if meta_by_id.get(chunk_id, {}).get("published") in near:
                    fused[chunk_id] += self.date_bonus / (self.rrf_k + 1)

        best = _collapse(fused)
        order = sorted(best, key=lambda p: -best[p][0])
        ranked_pids = order[:k]
        if len(named_sources) > 1 and self.outlet_quota:
            # A question comparing outlets needs each outlet's own best paragraphs: take turns
            # between the overall ranking and each outlet's ranking.
            rankings = [order] + [sorted(b, key=lambda p: -b[p][0]) for b in
                                  (_collapse(by_group[s]) for s in named_sources)]
            ranked_pids = _round_robin(rankings, k)
            # Keep the list best-first by score: a turn-taking pick gets at most the score above it.
            ceiling = float("inf")
            for pid in ranked_pids:
                score, chunk = best[pid]
                ceiling = min(ceiling, score)
                best[pid] = (ceiling, chunk)
        return self._materialise(table, ranked_pids, best, first_rank, dense_sim, qvec)

    # -------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> list[list[float]]:
        batch = getattr(self.embedder, "embed_queries", None)  # test fakes may have embed_query only
        return batch(texts) if batch is not None else [self.embedder.embed_query(t) for t in texts]

    def _where(self, scope: dict[str, Any]) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if scope.get("source"):
            clauses.append({"source": scope["source"]})
        if scope.get("article_id"):
            clauses.append({"article_id": scope["article_id"]})
        if scope.get("date_from") or scope.get("date_to"):
            clauses.append({"published_int": {"$gt": 0}})  # undated articles never match a date range
        if scope.get("date_from"):
            clauses.append({"published_int": {"$gte": _date_int(scope["date_from"])}})
        if scope.get("date_to"):
            clauses.append({"published_int": {"$lte": _date_int(scope["date_to"])}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _dense(self, qvec: list[float], n: int, scope: dict[str, Any], table: Any,
               allowed: Any = None, current: bool = False) -> tuple[list[str], dict[str, float]]:
        if scope:
            rows = np.flatnonzero(self._scope_rows(scope, table) if allowed is None else allowed)
            if len(rows) <= self.exact_scope_rows:
                if self._scoped is None:
                    self._scoped = ScopedVectors(self.store)
                return self._scoped.search(table, tuple(sorted(scope.items())), rows, qvec, n, current)
        # A current snapshot (no write since, none under way) lists exactly the chunks Chroma holds
        # committed: ids and distances are enough, and reading the hits' metadata took 12-17 ms of a
        # 15-20 ms query at 100k chunks. Else a chunk id may hold a re-ingest's new vector (ids are kept
        # across versions): each hit's version is checked against the snapshot's. (A write that begins
        # during the query itself can move that one query's ranks, never the text shown.)
        got = self.store.query(qvec, n + 10, self._where(scope), metadata=not current)
        metas = got["metadatas"][0] if not current else [None] * len(got["ids"][0])
        ranked: list[str] = []
        sims: dict[str, float] = {}
        for chunk_id, meta, dist in zip(got["ids"][0], metas, got["distances"][0], strict=True):
            if chunk_id not in table.pos:
                continue  # an uncommitted leftover of an interrupted ingest, or newer than the snapshot
            if not current and not is_committed(meta, table.article_hash):
                continue
            ranked.append(chunk_id)
            sims[chunk_id] = 1.0 - float(dist)
        return ranked[:n], sims

    def _bm25(self, query: str, n: int, allowed: Any, table: Any) -> list[str]:
        return [table.ids[row] for row, _ in self.lexical.search(table, query, n, allowed)]

    @staticmethod
    def _scope_rows(scope: dict[str, Any], table: Any) -> Any:
        return table.rows_where(
            source=scope.get("source"), article_id=scope.get("article_id"),
            date_from=_date_int(scope["date_from"]) if scope.get("date_from") else None,
            date_to=_date_int(scope["date_to"]) if scope.get("date_to") else None)

    @staticmethod
    def _rows(chunk_ids: Any, table: Any) -> list[int]:
        return [table.pos[c] for c in chunk_ids if c in table.pos]

    def outlet_spans(self, question: str) -> list[tuple[int, int]]:
        """Where the question names outlets of the current snapshot (no refresh: the search does that)."""
        return outlet_spans(question, self.lexical.snapshot.sources) if self.use_news_signals else []

    def articles(self, wanted: dict[str, str]) -> dict[str, Article]:
        """Per article id, the article at exactly the content hash given; ids deleted or replaced
        since are left out. Those not cached are read in one call: at 100k chunks a question's
        hits span about six articles seen for the first time, 1.2 ms a read."""
        found: dict[str, Article] = {}
        with self._lock:
            for key in wanted.items():
                if key in self._articles:
                    self._articles.move_to_end(key)
                    found[key[0]] = self._articles[key]
        missing = [aid for aid in wanted if aid not in found and aid != STATE_ID]
        if not missing:
            return found
        read = [a for a in self.store.get_articles(missing) if a.content_hash == wanted[a.article_id]]
        with self._lock:
            for article in read:
                self._articles[(article.article_id, article.content_hash)] = article
                found[article.article_id] = article
            while len(self._articles) > 5000:
                self._articles.popitem(last=False)
        return found

    def paragraphs(self, wanted: list[tuple[str, str]]) -> dict[str, RetrievedParagraph]:
        """Paragraphs by (article id, paragraph id) as the last search's snapshot holds them (the
        positions layer adds them to that search's hits), by paragraph id; those whose article is
        not in it are left out. Their articles are read in one call: a question naming ten actors
        adds their statements from as many articles."""
        table = self._table
        if table is None:
            return {}
        articles = self.articles({aid: table.article_hash[aid] for aid, _ in wanted if aid in table.article_hash})
        out: dict[str, RetrievedParagraph] = {}
        for aid, pid in wanted:
            article = articles.get(aid)
            para = next((p for p in article.paragraphs if p.paragraph_id == pid), None) if article else None
            if article is not None and para is not None:
                out[pid] = retrieved_paragraph(article, para, score=0.0)
        return out

    def _materialise(self, table: Any, pids: list[str], best: dict[str, tuple[float, str]],
                     first_rank: dict[str, dict[str, int]], dense_sim: dict[str, float],
                     qvec: list[float] | None) -> list[RetrievedParagraph]:
        # Cosine of the query with each paragraph's best window, also for BM25-only hits:
        # the answering step uses it as a calibrated relevance signal.
        missing = [best[p][1] for p in pids if best[p][1] not in dense_sim]
        if missing and qvec is not None:
            ids, _, vectors = self.store.vectors(missing, metadata=False)
            q = np.asarray(qvec)
            for cid, vec in zip(ids, vectors, strict=True):
                if vec is not None:
                    dense_sim[cid] = float(np.dot(q, np.asarray(vec)))
        out: list[RetrievedParagraph] = []
        hashes = {aid: table.article_hash.get(aid, "") for aid in sorted({p.rsplit(":p", 1)[0] for p in pids})}
        articles = self.articles(hashes)
        for pid in pids:
            score, chunk_id = best[pid]
            article = articles.get(pid.rsplit(":p", 1)[0])
            number = int(pid.rsplit(":p", 1)[1])
            if article is None or not 1 <= number <= len(article.paragraphs):
                continue  # changed by a concurrent ingest: the next snapshot will have it
            para = article.paragraphs[number - 1]
            ranks = first_rank.get(chunk_id, {})
            out.append(retrieved_paragraph(article, para, score=round(score, 6), dense_rank=ranks.get("dense"),
                                           bm25_rank=ranks.get("bm25"), dense_score=dense_sim.get(chunk_id)))
        return out


def retrieved_paragraph(article: Article, para: Paragraph, **scores: Any) -> RetrievedParagraph:
    """One paragraph with its article's provenance, as every retrieval result carries it."""
    return RetrievedParagraph(
        paragraph_id=para.paragraph_id, article_id=article.article_id, title=article.title, text=para.text,
        heading=para.heading, source=article.source, number=para.number,
        published=article.published.isoformat() if article.published else None, **scores)


def _collapse(fused: dict[str, float]) -> dict[str, tuple[float, str]]:
    """Windows to paragraphs: a paragraph counts once, with its best window (score, chunk id)."""
    best: dict[str, tuple[float, str]] = {}
    for chunk_id, score in fused.items():
        pid = chunk_id.rsplit(":w", 1)[0]
        if pid not in best or score > best[pid][0]:
            best[pid] = (score, chunk_id)
    return best


def _round_robin(rankings: list[list[str]], k: int) -> list[str]:
    out: list[str] = []
    depth = 0
    while len(out) < k and any(depth < len(r) for r in rankings):
        for r in rankings:
            if depth < len(r) and r[depth] not in out:
                out.append(r[depth])
                if len(out) == k:
                    break
        depth += 1
    return out


def _outlet(name: str, sources: dict[str, str]) -> str:
    """The indexed outlet a source filter names, whatever its case and spacing ("bbc news" for
    "BBC News"); an outlet the index does not hold is an error that says so, not an empty result
    a reader would take for "the articles do not say"."""
    key = " ".join(name.split()).lower()
    found = sources.get(name.lower()) or next((v for k, v in sources.items() if " ".join(k.split()) == key), None)
    if found is None:
        known = sorted(sources.values(), key=str.lower)
        listed = ", ".join(known[:12]) + (f" and {len(known) - 12} more" if len(known) > 12 else "")
        raise InvalidInputError(f"no articles from source {name!r} in the index; its sources: {listed or 'none'}")
    return found


def _date_int(value: str | date) -> int:
    try:
        d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise InvalidInputError(f"bad date {value!r}: use YYYY-MM-DD") from exc
    return d.year * 10000 + d.month * 100 + d.day
