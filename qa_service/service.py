"""QAService: the one object every front end (CLI, web API, Slack, evaluation) calls.

It owns no HTTP or Slack code. Clients (embedder, Chroma client, chat model) are
built by `build_service(settings)` and passed in, never created at import.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qa_service.chain import ChainParts, LLMDraftGenerator, build_chain, finish, gate, gate_and_draft
from qa_service.chunking import Chunker
from qa_service.condense import condense_rule
from qa_service.config import Settings
from qa_service.conversations import ConversationStore
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.errors import InvalidInputError, QAError
from qa_service.generators.extractive import ExtractiveGenerator
from qa_service.ingest import Ingester
from qa_service.lexical import LexicalIndex
from qa_service.models import Answer, Article, RetrievedParagraph
from qa_service.retrieval import HybridRetriever, retrieved_paragraph
from qa_service.service_types import IngestReport, SearchFilters, StreamEvent
from qa_service.store import ChromaStore, make_client

log = logging.getLogger(__name__)

__all__ = ["QAService", "build_service", "SearchFilters", "IngestReport", "StreamEvent"]


class QAService:
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
        extractive: ExtractiveGenerator,
        chat_model: Any | None = None,
        positions: Any | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.ingester = ingester
        self.conversations = conversations
        self.extractive = extractive
        self.chat_model = chat_model
        self.positions = positions
        self._write_lock = threading.Lock()  # one ingest at a time per process
        self.layer = None
        if positions is not None and settings.use_positions:
            from qa_service.structured import StructuredLayer

            self.layer = StructuredLayer(positions, self._paragraph)
        self.generator = self._make_generator()
        self.condense_prompt = None
        if chat_model is not None and settings.generator != "extractive":
            from qa_service.prompts import load_condense_prompt

            self.condense_prompt = load_condense_prompt(settings)  # a broken file fails at start-up
        self.parts = ChainParts(
            condense=self._condense,
            retrieve=self._retrieve,
            generator=self.generator,
            support=extractive.support,
            covered=self.layer.covers if self.layer is not None else None,
            abstain_threshold=settings.abstain_threshold,
        )
        self.chain = build_chain(self.parts)

    # -- set-up ------------------------------------------------------------------
    def _retrieve(self, question: str, filters: dict[str, Any]) -> list[RetrievedParagraph]:
        hits = self.retriever.search(question, k=self.settings.top_k, filters=filters)
        if self.layer is not None and not filters:
            hits = self.layer.boost(question, hits, self.settings.top_k)
        return hits

    def _paragraph(self, article_id: str, paragraph_id: str) -> RetrievedParagraph | None:
        try:
            article = self.store.get_article(article_id)
        except QAError:
            return None
        para = next((p for p in article.paragraphs if p.paragraph_id == paragraph_id), None)
        if para is None:
            return None
        return retrieved_paragraph(article, para, score=0.0)

    def _make_generator(self) -> Any:
        spec = self.settings.generator
        if spec == "extractive":
            if self.layer is not None:
                from qa_service.structured import StructuredGenerator

                return StructuredGenerator(self.extractive, self.layer)
            return self.extractive
        if self.chat_model is None:
            raise InvalidInputError(f"generator {spec!r} needs a chat model")
        from qa_service.generators.llm_generator import LLMGenerator
        from qa_service.prompts import load_answer_prompt

        llm = LLMGenerator(self.chat_model, load_answer_prompt(self.settings), self.settings.prompt_token_budget)
        return LLMDraftGenerator(llm, name=spec)

    def _condense(self, question: str, history: list[dict[str, str]]) -> str:
        if not history:
            return question
        if self.condense_prompt is not None:
            from qa_service.generators.llm_generator import condense

            try:
                return condense(self.chat_model, self.condense_prompt, history, question)
            except Exception:  # fall back to the rule rather than fail the question
                log.exception("LLM condensing failed; using the rule")
        return condense_rule(question, history)

    # -- ingestion -----------------------------------------------------------------
    def ingest(self, paths: list[Path], *, progress: bool = False) -> IngestReport:
        with self._write_lock:
            return self.ingester.ingest_paths(paths, progress=progress)

    def ingest_bytes(self, filename: str, data: bytes) -> IngestReport:
        with self._write_lock:
            return self.ingester.ingest_bytes(filename, data)

    def remove(self, article_id: str) -> None:
        with self._write_lock:
            self.ingester.remove(article_id)

    # -- reading ---------------------------------------------------------------------
    def search(self, query: str, k: int = 8, filters: SearchFilters | None = None) -> list[RetrievedParagraph]:
        if not query or not query.strip():
            raise InvalidInputError("the query is empty")
        if not 1 <= k <= 100:
            raise InvalidInputError("k must be between 1 and 100")
        return self.retriever.search(query, k=k, filters=_filters(filters))

    def _prepare(self, question: str, conversation_id: str | None, history: list[dict[str, str]] | None,
                 filters: SearchFilters | None) -> tuple[dict[str, Any], str | None]:
        question = (question or "").strip()
        if not question:
            raise InvalidInputError("the question is empty")
        if len(question) > self.settings.max_message_chars:
            raise InvalidInputError(f"the question is longer than {self.settings.max_message_chars} characters")
        cid = conversation_id
        if history is None:
            if cid is not None:
                history = self.conversations.history(cid)  # NotFoundError for an unknown id
            else:
                history = []
                cid = self.conversations.new()
        return {"question": question, "history": history, "filters": _filters(filters)}, cid

    def _remember(self, cid: str | None, answer: Answer, explicit_history: bool) -> None:
        answer.conversation_id = cid
        if cid is None or explicit_history:
            return
        self.conversations.append(cid, "user", answer.question, standalone=answer.standalone_question or "")
        self.conversations.append(cid, "assistant", answer.answer)

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None) -> Answer:
        inputs, cid = self._prepare(question, conversation_id, history, filters)
        started = time.perf_counter()
        answer: Answer = self.chain.invoke(inputs)
        answer.timings["total"] = round(time.perf_counter() - started, 4)
        self._add_usage(answer)
        self._remember(cid, answer, history is not None)
        return answer

    def stream(self, question: str, *, conversation_id: str | None = None,
               history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None,
               ) -> Iterator[StreamEvent]:
        inputs, cid = self._prepare(question, conversation_id, history, filters)
        started = time.perf_counter()
        state: dict[str, Any] = {**inputs, "timings": {}}
        t = time.perf_counter()
        state["standalone"] = self._condense(state["question"], state["history"])
        state["timings"]["condense"] = round(time.perf_counter() - t, 4)
        yield "meta", {"conversation_id": cid, "standalone_question": state["standalone"]}
        t = time.perf_counter()
        state["retrieved"] = self.parts.retrieve(state["standalone"], state["filters"])
        state["timings"]["retrieve"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        if isinstance(self.generator, LLMDraftGenerator):
            from qa_service.citations import Draft
            from qa_service.generators.llm_generator import is_insufficient

            blocked = gate(self.parts, state)
            if blocked is not None:
                draft = blocked
            else:
                pieces: list[str] = []
                for piece in self.generator.stream_text(state["standalone"], state["retrieved"]):
                    pieces.append(piece)
                    yield "token", {"text": piece}
                text = "".join(pieces)
                draft = Draft(abstain_reason="model_insufficient") if is_insufficient(text) else Draft(raw_text=text)
        else:
            draft = gate_and_draft(self.parts, state)
        state["timings"]["generate"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        answer = finish(self.parts, state, draft)
        answer.timings["verify"] = round(time.perf_counter() - t, 4)
        answer.timings["total"] = round(time.perf_counter() - started, 4)
        self._add_usage(answer)
        if not isinstance(self.generator, LLMDraftGenerator):
            # The extractive answer is ready at once; stream it word by word all the same.
            for i, word in enumerate(answer.answer.split(" ")):
                yield "token", {"text": word if i == 0 else " " + word}
        else:
            yield "replace", {"text": answer.answer}  # the verified text supersedes the raw stream
        for citation in answer.citations:
            yield "citation", citation.model_dump()
        self._remember(cid, answer, history is not None)
        yield "answer", answer.model_dump(mode="json")

    def _add_usage(self, answer: Answer) -> None:
        llm = getattr(self.generator, "llm", None)
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

    def get_article(self, article_id: str) -> Article:
        return self.store.get_article(article_id)

    def ready(self) -> bool:
        try:
            self.lexical_refresh()
            return True
        except Exception:
            log.exception("readiness check failed")
            return False

    def lexical_refresh(self) -> None:
        self.retriever.lexical.refresh()

    def stats(self) -> dict[str, Any]:
        records = self.store.article_records()
        return {"articles": len(records), "paragraphs": sum(r.paragraphs for r in records.values()),
                "chunks": self.store.chunks.count(), "generation": self.store.generation(),
                "embedding_model": self.embedder.name}


def _filters(filters: SearchFilters | dict[str, Any] | None) -> dict[str, Any]:
    if filters is None:
        return {}
    data = asdict(filters) if isinstance(filters, SearchFilters) else dict(filters)
    return {k: v for k, v in data.items() if v}


def build_service(settings: Settings, *, embedder: SentenceTransformerEmbeddings | None = None,
                  chroma_client: Any | None = None, chat_model: Any | None = None,
                  positions: Any | None = None) -> QAService:
    """Build every client from settings (or take the ones given, e.g. shared by tests)."""
    embedder = embedder or SentenceTransformerEmbeddings.load(settings.embedding_model, settings.embed_batch_size)
    client = chroma_client or make_client(settings.index_dir, settings.chroma_url)
    store = ChromaStore(client, settings.collection, embedder.name)
    store.check_model()
    lexical = LexicalIndex(store, settings.index_dir / f"bm25-{settings.collection}")
    retriever = HybridRetriever(
        store=store, lexical=lexical, embedder=embedder, k=settings.top_k, mode=settings.retrieval_mode,
        candidates=settings.candidates, rrf_k=settings.rrf_k, use_news_signals=settings.use_news_signals,
        bm25_weight=settings.bm25_weight,
    )
    chunker = Chunker(embedder.tokenizer, settings.chunk_max_tokens, settings.chunk_overlap_tokens,
                      embedder.max_seq_length, settings.header_in_index)
    if positions is None and settings.positions_enabled:
        from qa_service.positions import PositionsIndex, load_nlp

        positions = PositionsIndex(settings, load_nlp())
    if chat_model is None and settings.generator != "extractive":
        from qa_service.llm import load_chat_model

        chat_model = load_chat_model(settings.generator, settings)
    ingester = Ingester(store, embedder, chunker,
                        on_article=positions.update_article if positions is not None else None,
                        on_remove=positions.remove_article if positions is not None else None,
                        flush_chunks=settings.ingest_flush_chunks)
    extractive = ExtractiveGenerator(tokenize=lexical.tokenize_query, idf=lexical.idf, threshold=0.0)
    conversations = ConversationStore(settings.conversation_path, settings.conversation_max_turns,
                                      settings.conversation_max_conversations)
    service = QAService(settings, store, embedder, retriever, ingester, conversations, extractive,
                        chat_model=chat_model, positions=positions)
    if positions is not None:
        sync_positions(service)
    return service


def sync_positions(service: QAService) -> None:
    """The layer follows the index across restarts and crashes: drop stale, extract missing."""
    records = service.store.article_records()
    todo = service.positions.sync({aid: r.content_hash for aid, r in records.items()})
    for article in service.store.get_articles(list(todo)) if todo else []:
        service.positions.update_article(article)
