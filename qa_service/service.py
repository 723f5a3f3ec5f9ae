"""QAService: the one object every front end (CLI, web API, Slack, evaluation) calls.

It owns no HTTP or Slack code. Clients (embedder, Chroma client, chat model) are
built by `build_service(settings)` and passed in, never created at import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from qa_service.answerability.actors import ActorDirectory
from qa_service.answerability.comparison import merged, parties, party_question
from qa_service.answerability.judge import AnswerabilityJudge, AnswerabilityModel
from qa_service.answerability.vectors import WordVectors
from qa_service.chunking import Chunker
from qa_service.condense import condense_rule
from qa_service.config import Settings
from qa_service.conversations import ConversationStore, ConversationSummary, answer_record
from qa_service.database import open_database, ping, writer_lock
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.errors import ConflictError, DependencyUnavailable, InvalidInputError, QAError
from qa_service.generators.extractive import ExtractiveGenerator
from qa_service.ingest import Ingester, IngestResult, ProgressHook
from qa_service.jobs import IngestJobs
from qa_service.lexical import LexicalIndex
from qa_service.models import Answer, Article, RetrievedParagraph
from qa_service.pipeline import Final, Pipeline, PipelineParts, PipelineState, StreamEvent
from qa_service.retrieval import HybridRetriever
from qa_service.service_types import IngestReport, SearchFilters
from qa_service.store import ArticleRecord, ChromaStore, make_client

log = logging.getLogger(__name__)

WARM_UP_QUESTION = "What did the government say about the economy, and when?"
CLOSEST_KEPT = 3  # a kept refusal's closest paragraphs, which the page links to

__all__ = ["QAService", "build_service", "SearchFilters", "IngestReport", "StreamEvent", "checked_text"]


class ConversationPages:
    """What the web page lists and reloads: shared by the service and the tests' fake, which
    both keep a real ConversationStore and serve articles."""

    conversations: ConversationStore

    def get_article(self, article_id: str) -> Article:
        raise NotImplementedError

    def recent_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        return self.conversations.recent(limit, offset)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """Summary and turns; NotFoundError for an unknown id."""
        summary = self.conversations.summary(conversation_id)
        return {**vars(summary), "turns": self.conversations.transcript(conversation_id)}

    def keep_answer(self, conversation_id: str, answer: Answer) -> int:
        """Keep a streamed answer's full record beside its turn, once every citation checks out
        against the index (InvalidInputError otherwise). Returns the turn's seq."""
        seq = self.conversations.attach_answer(conversation_id, verified_record(self, answer))
        if seq is None:
            raise ConflictError("this conversation holds no unrecorded answer with that text")
        return seq

    def delete_conversation(self, conversation_id: str) -> None:
        self.conversations.delete(conversation_id)


class QAService(ConversationPages):
    """Facade over ingestion, index, retrieval and the answering chain.

    All methods are synchronous and safe for concurrent readers; async front ends
    call them through a thread pool.
    """

    def __init__(
        self,
        settings: Settings,
        store: ChromaStore,
        embedder: SentenceTransformerEmbeddings,
        retriever: HybridRetriever,
        ingester: Ingester,
        conversations: ConversationStore,
        pipeline: Pipeline,
        judge: AnswerabilityJudge,
        database: Engine,
        positions: Any | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.ingester = ingester
        self.conversations = conversations
        self.pipeline = pipeline
        self.judge = judge
        self.positions = positions
        self.database = database
        self._write_lock = threading.Lock()  # one ingest at a time per process
        # Large uploads are ingested off the request, one at a time (GET /api/jobs/{id}).
        self.jobs = IngestJobs(lambda name, data, replace, progress: self.ingest_bytes(
            name, data, replace=replace, on_progress=progress, background=True), database, max_queued=settings.upload_queue_max,
            nice=settings.ingest_job_nice)

    @property
    def abstain_threshold(self) -> float:
        """The answerability probability below which no generator runs (fitted, or QA_ABSTAIN_THRESHOLD)."""
        return self.pipeline.parts.abstain_threshold

    # -- ingestion -----------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """The one article writer: of this process, and of all replicas on a shared database."""
        with self._write_lock, writer_lock(self.database):
            yield

    def ingest(self, paths: list[Path], *, progress: bool = False) -> IngestReport:
        with self.writing():
            report = self.ingester.ingest_paths(paths, progress=progress)
            self._refresh_after_write()
            return report

    def ingest_bytes(self, filename: str, data: bytes, replace: bool = False,
                     on_progress: ProgressHook | None = None, background: bool = False) -> IngestResult:
        """One uploaded file; it never replaces a different article unless `replace` is set.
        `background`: an upload job's, whose derived layers may go to worker processes."""
        with self.writing():
            report = self.ingester.ingest_bytes(filename, data, replace=replace, on_progress=on_progress,
                                                background=background)
            self._refresh_after_write()
            return report

    def remove(self, article_id: str) -> None:
        with self.writing():
            self.ingester.remove(article_id)
            self._refresh_after_write()

    def _refresh_after_write(self) -> None:
        """Here, not in the next query (lexical.py). The write is committed already: a failed
        refresh must not report it as failed; the next reader's background refresh catches up."""
        try:
            self.lexical_refresh(wait=True)
        except Exception:
            log.warning("BM25 refresh after a write failed; readers will retry", exc_info=True)

    # -- reading ---------------------------------------------------------------------
    def search(self, query: str, k: int = 8, filters: SearchFilters | None = None) -> list[RetrievedParagraph]:
        query = checked_text(query, self.settings.max_message_chars, "query")
        if not 1 <= k <= 100:
            raise InvalidInputError("k must be between 1 and 100")
        return self.retriever.search(query, k=k, filters=_filters(filters))

    def _prepare(self, question: str, conversation_id: str | None, history: list[dict[str, str]] | None,
                 filters: SearchFilters | None) -> PipelineState:
        question = checked_text(question, self.settings.max_message_chars, "question")
        cid = conversation_id
        if history is None:
            if cid is not None:
                history = self.conversations.history(cid)  # NotFoundError for an unknown id
            else:
                history = []
                cid = self.conversations.new()
        return PipelineState(question=question, history=history, filters=_filters(filters), conversation_id=cid)

    def _remember(self, answer: Answer, explicit_history: bool) -> None:
        cid = answer.conversation_id
        if cid is None or explicit_history:
            return
        self.conversations.append_exchange(cid, answer.question, answer.answer,
                                           standalone=answer.standalone_question or "")

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None) -> Answer:
        final = [e for e in self.stream(question, conversation_id=conversation_id, history=history, filters=filters)
                 if isinstance(e, Final)]
        return final[-1].answer

    def stream(self, question: str, *, conversation_id: str | None = None,
               history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None,
               ) -> Iterator[StreamEvent]:
        """Typed events (see pipeline.py): Meta, Retrieved, Token*, CitationEvent*, Final."""
        state = self._prepare(question, conversation_id, history, filters)
        for event in self.pipeline.events(state):
            if isinstance(event, Final):
                self._add_usage(event.answer)
                self._remember(event.answer, history is not None)
            yield event

    def _add_usage(self, answer: Answer) -> None:
        llm = getattr(self.pipeline.parts.generator, "llm", None)
        usage = getattr(llm, "last_usage", None) if llm is not None else None
        if usage is not None and not answer.diagnostics.get("abstain_reason") == "low_support":
            answer.diagnostics["prompt_tokens"] = usage.prompt_tokens
            answer.diagnostics["completion_tokens"] = usage.completion_tokens
            answer.diagnostics["sources_dropped"] = usage.sources_dropped

    def list_articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        if offset < 0 or not 1 <= limit <= 500:
            raise InvalidInputError("offset must be >= 0 and limit between 1 and 500")
        records = self.store.article_records()
        ids = sorted(records, key=lambda a: (records[a].published or "", records[a].title), reverse=True)
        return len(ids), self.store.get_articles(ids[offset : offset + limit])

    def article_records(self) -> dict[str, ArticleRecord]:
        """Every indexed article's record (title, outlet, date, counts): no bodies, cheap."""
        return self.store.article_records()

    def get_article(self, article_id: str) -> Article:
        return self.store.get_article(article_id)

    def ready(self) -> bool:
        """True when the index and the service database can be read; DependencyUnavailable (with
        its reason) when Chroma or the database is gone."""
        try:
            self.retriever.lexical.refresh(stale_wait=False)  # a probe never waits for a rebuild
            ping(self.database)
            return True
        except DependencyUnavailable:
            raise
        except Exception:
            log.exception("readiness check failed")
            return False

    def warm_up(self) -> None:
        """Run one question's look-ups (no generator, nothing stored), so that what the first
        question builds for the index's generation (the actor directory, the names' keys) is
        built at start-up, before heap.freeze_long_lived."""
        sources = self.pipeline.parts.retrieve(WARM_UP_QUESTION, {})
        self.pipeline.parts.judge(WARM_UP_QUESTION, sources)

    def lexical_refresh(self, wait: bool = False) -> None:
        self.retriever.lexical.refresh(wait=wait)

    def stats(self) -> dict[str, Any]:
        return store_stats(self.store)


def store_stats(store: ChromaStore) -> dict[str, Any]:
    records = store.article_records()
    return {"articles": len(records), "paragraphs": sum(r.paragraphs for r in records.values()),
            "chunks": store.chunks.count(), "generation": store.generation(), "embedding_model": store.model_name}


def index_stats(settings: Settings) -> dict[str, Any]:
    """What the index holds, read from Chroma alone: `qa stats` loads no model (13 s -> 3 s)."""
    client = make_client(settings.index_dir, settings.chroma_url, settings.chroma_timeout_s)
    store = ChromaStore(client, settings.collection, settings.embedding_model)
    store.check_model()  # the configured model, as the service would report it, or the mismatch
    return store_stats(store)


def verified_record(store: HasArticles, answer: Answer) -> dict[str, Any]:
    """What is kept of an answer sent back by a client: its citations must stand verbatim in the
    indexed paragraphs; of its closest paragraphs, those that still match the index."""
    articles: dict[str, Article | None] = {}

    def paragraph_text(article_id: str, paragraph_id: str) -> tuple[str, str] | None:
        if article_id not in articles:
            try:
                articles[article_id] = store.get_article(article_id)
            except QAError:
                articles[article_id] = None
        article = articles[article_id]
        para = next((p for p in article.paragraphs if p.paragraph_id == paragraph_id), None) if article else None
        return (article.title, para.text) if article and para else None

    for c in answer.citations:
        found = paragraph_text(c.article_id, c.paragraph_id)
        if found is None or found != (c.title, c.paragraph_text) or c.paragraph_text[c.start:c.end] != c.quote:
            raise InvalidInputError(f"citation [{c.marker}] does not match the index")
    closest = [r for r in answer.retrieved[:CLOSEST_KEPT] if paragraph_text(r.article_id, r.paragraph_id) == (r.title, r.text)]
    return answer_record(answer, closest)


class HasArticles(Protocol):
    def get_article(self, article_id: str) -> Article: ...


def checked_text(text: str | None, max_chars: int, what: str) -> str:
    """The one check of a question or query, for every front end."""
    text = (text or "").strip()
    if not text:
        raise InvalidInputError(f"the {what} is empty")
    if len(text) > max_chars:
        raise InvalidInputError(f"the {what} is too long ({len(text)} characters, limit {max_chars})")
    if "\x00" in text:  # never meaningful, and PostgreSQL cannot store it in the conversation
        raise InvalidInputError(f"the {what} contains a NUL character")
    return text


def _insufficient(text: str) -> bool:
    from qa_service.generators.llm_generator import is_insufficient

    return is_insufficient(text)


class LLMStreamer:
    """An LLM generator as the pipeline uses it: raw text with [n] markers, streamed."""

    def __init__(self, llm: Any, name: str) -> None:
        self.llm = llm
        self.name = name

    def stream_text(self, question: str, sources: list[RetrievedParagraph]) -> Iterator[str]:
        yield from self.llm.stream(question, sources)


def _filters(filters: SearchFilters | dict[str, Any] | None) -> dict[str, Any]:
    if filters is None:
        return {}
    data = asdict(filters) if isinstance(filters, SearchFilters) else dict(filters)
    return {k: v for k, v in data.items() if v}


def build_service(settings: Settings, *, embedder: SentenceTransformerEmbeddings | None = None,
                  chroma_client: Any | None = None, chat_model: Any | None = None,
                  positions: Any | None = None) -> QAService:
    """Build every client and part from settings (or take the clients given, e.g. shared by tests)."""
    limit_blas_threads(settings.blas_threads)
    # The Chroma client first: while its server is down, a start-up retry costs no model load.
    client = chroma_client or make_client(settings.index_dir, settings.chroma_url, settings.chroma_timeout_s)
    database = open_database(settings)  # migrated to head; DependencyUnavailable while it is down
    embedder = embedder or SentenceTransformerEmbeddings.from_settings(settings)
    store = ChromaStore(client, settings.collection, embedder.name)
    store.check_model()
    lexical = LexicalIndex(store, settings.index_dir / f"bm25-{settings.collection}", settings.lexical_stale_wait_s)
    retriever = HybridRetriever(
        store=store, lexical=lexical, embedder=embedder, k=settings.top_k, mode=settings.retrieval_mode,
        candidates=settings.candidates, rrf_k=settings.rrf_k, use_news_signals=settings.use_news_signals,
        bm25_weight=settings.bm25_weight,
    )
    chunker = Chunker(embedder.tokenizer, settings.chunk_max_tokens, settings.chunk_overlap_tokens,
                      embedder.max_seq_length, settings.header_in_index)
    if positions is None and settings.positions_enabled:
        from qa_service.positions import PositionsIndex, load_nlp

        positions = PositionsIndex(settings, load_nlp(), engine=database)
    if chat_model is None and settings.generator != "extractive":
        from qa_service.llm import load_chat_model

        chat_model = load_chat_model(settings.generator, settings)
    ingester = Ingester(store, embedder, chunker,
                        on_article=positions.update_article if positions is not None else None,
                        on_remove=positions.remove_article if positions is not None else None,
                        flush_chunks=settings.ingest_flush_chunks, max_article_chars=settings.max_article_chars,
                        article_time_limit_s=settings.article_time_limit_s, embed_batch=settings.ingest_embed_batch,
                        priority=retriever.priority,
                        article_workers=(partial(positions.workers, settings.positions_processes)
                                         if positions is not None and settings.positions_processes else None))
    judge = build_judge(lexical, embedder, positions)
    conversations = ConversationStore(database, settings.conversation_max_turns,
                                      settings.conversation_max_conversations)
    pipeline = Pipeline(build_parts(settings, store, retriever, judge, positions, chat_model))
    service = QAService(settings, store, embedder, retriever, ingester, conversations, pipeline, judge, database,
                        positions=positions)
    if positions is not None:
        sync_positions(service)
    return service


def build_parts(settings: Settings, store: ChromaStore, retriever: HybridRetriever, judge: AnswerabilityJudge,
                positions: Any | None, chat_model: Any | None) -> PipelineParts:
    """The pipeline's steps for the configured generator, with the positions layer where it is on."""
    layer = None
    if positions is not None and settings.use_positions:
        from qa_service.structured import StructuredLayer

        layer = StructuredLayer(positions, retriever.paragraphs, outlets=retriever.outlet_spans)
    extractive = ExtractiveGenerator(judge)
    generator: Any
    condense_prompt = None
    if settings.generator == "extractive":
        threshold = judge.model.threshold
        if layer is not None:
            from qa_service.structured import StructuredGenerator

            generator = StructuredGenerator(extractive, layer)
        else:
            generator = extractive
    else:
        if chat_model is None:
            raise InvalidInputError(f"generator {settings.generator!r} needs a chat model")
        from qa_service.generators.llm_generator import LLMGenerator
        from qa_service.prompts import load_answer_prompt, load_condense_prompt

        threshold = judge.model.llm_threshold
        llm = LLMGenerator(chat_model, load_answer_prompt(settings), settings.prompt_token_budget)
        generator = LLMStreamer(llm, name=settings.generator)
        condense_prompt = load_condense_prompt(settings)  # a broken file fails at start-up
    if settings.abstain_threshold is not None:
        threshold = settings.abstain_threshold
    return PipelineParts(
        condense=partial(_condense, chat_model, condense_prompt),
        retrieve=partial(_retrieve, retriever, layer, settings.top_k),
        generator=generator,
        judge=partial(judge.judge, strict=settings.generator == "extractive"),
        covered=layer.covers if layer is not None else None,
        abstain_threshold=threshold,
        insufficient=_insufficient,
    )


def _retrieve(retriever: HybridRetriever, layer: Any | None, k: int, question: str,
              filters: dict[str, Any]) -> list[RetrievedParagraph]:
    if (names := parties(question)) and not (layer is not None and layer.covers(question)):
        # A comparison of parties the positions layer does not know: each party's own question is
        # searched, so that each party's statements are among the sources (see comparison.py).
        lists = [retriever.search(party_question(question, name), k=k, filters=filters) for name in names]
        return merged([*lists, retriever.search(question, k=k, filters=filters)], k)
    hits = retriever.search(question, k=k, filters=filters)
    if layer is not None and not filters:
        hits = layer.boost(question, hits, k)
    return hits


def _condense(chat_model: Any | None, prompt: Any | None, question: str, history: list[dict[str, str]]) -> str:
    if not history:
        return question
    if prompt is not None and chat_model is not None:
        from qa_service.generators.llm_generator import condense

        try:
            return condense(chat_model, prompt, history, question)
        except Exception:  # fall back to the rule rather than fail the question
            log.exception("LLM condensing failed; using the rule")
    return condense_rule(question, history)


def limit_blas_threads(threads: int) -> None:
    """numpy's BLAS (OpenBLAS) threads for the whole process. The request path's products are small,
    and OpenBLAS's idle threads spin after each one, taking the cores the question encoder needs:
    at 100k paragraphs, 100 MultiHop questions spent 58-62 ms encoding with two such threads
    against 38 ms with one. 0 leaves the library's default."""
    if threads > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")


def build_judge(lexical: LexicalIndex, embedder: Any, positions: Any | None) -> AnswerabilityJudge:
    actors = None
    if positions is not None:
        actors = ActorDirectory(positions.actors, positions.version)
    vectors = WordVectors.from_sentence_transformer(getattr(embedder, "model", None))
    return AnswerabilityJudge(lexical.tokenize_query, AnswerabilityModel.load(), vectors=vectors, actors=actors)


def sync_positions(service: QAService) -> None:
    """The layer follows the index across restarts and crashes: drop stale, extract missing."""
    positions = service.positions
    if positions is None:
        return
    with service.writing():  # not while another replica is half-way through an ingest
        records = service.store.article_records()
        todo = positions.sync({aid: r.content_hash for aid, r in records.items()})
        for article in service.store.get_articles(list(todo)) if todo else []:
            positions.update_article(article)
