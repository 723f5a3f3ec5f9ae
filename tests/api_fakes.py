"""A small in-memory QAService stand-in for the fast API tests (same methods, same errors)."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from qa_service.conversations import ConversationStore
from qa_service.database.engine import make_engine
from qa_service.database.migrate import upgrade
from qa_service.errors import NotFoundError
from qa_service.jobs import IngestJobs
from qa_service.loaders import Failure, build_article, parse_bytes
from qa_service.models import Answer, Article, Citation, Paragraph, RetrievedParagraph
from qa_service.pipeline import CitationEvent, Final, Meta, Retrieved, StreamEvent, Token
from qa_service.protocol import QAServiceProtocol
from qa_service.service import ConversationPages, IngestReport, SearchFilters, checked_text
from qa_service.store import ArticleRecord


def make_article(article_id: str, title: str, paragraphs: list[str], **meta: Any) -> Article:
    paras, offset = [], 0
    for n, text in enumerate(paragraphs, 1):
        paras.append(Paragraph(paragraph_id=f"{article_id}:p{n}", number=n, text=text,
                               start=offset, end=offset + len(text), heading=meta.pop("heading", None)))
        offset += len(text) + 2
    return Article(article_id=article_id, title=title, paragraphs=paras,
                   text="\n\n".join(paragraphs), **meta)


class FakeQAService(ConversationPages):
    """Answers by picking the first paragraph sharing a word with the question."""

    def __init__(self, *, stream_delay: float = 0.0) -> None:
        self.articles: dict[str, Article] = {}
        # The real stores on a database of this fake's own (a temp file: the conversation routes
        # are tested against their behaviour, and the job worker's threads need their own connections).
        self._state_dir = tempfile.TemporaryDirectory(prefix="qa-fake-state-")
        self.database = make_engine(f"sqlite:///{self._state_dir.name}/state.sqlite3")
        upgrade(self.database)
        self.conversations = ConversationStore(self.database)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.stream_delay = stream_delay
        self.stream_pulled = 0
        self.stream_closed = threading.Event()
        self.is_ready = True
        self.max_chars = 2000  # Settings().max_message_chars
        self.jobs = IngestJobs(lambda name, data, replace, progress: self.ingest_bytes(name, data, replace),
                               self.database)
        self.add(make_article(
            "nato-aid", "NATO allies pledge military aid",
            ["Germany pledged 500 air defence missiles to Ukraine on Tuesday.",
             "The ministers met in Brussels for two days."],
            source="Example News", published=date(2024, 3, 5),
        ))

    def add(self, article: Article) -> None:
        self.articles[article.article_id] = article

    # --- the QAService surface -------------------------------------------------
    def ready(self) -> bool:
        return self.is_ready

    def article_records(self) -> dict[str, ArticleRecord]:
        return {a.article_id: ArticleRecord(article_id=a.article_id, content_hash="h", origin=a.article_id,
                                            title=a.title, source=a.source,
                                            published=a.published.isoformat() if a.published else None,
                                            paragraphs=len(a.paragraphs), chunks=len(a.paragraphs))
                for a in self.articles.values()}

    def stats(self) -> dict[str, Any]:
        return {"articles": len(self.articles), "paragraphs": sum(len(a.paragraphs) for a in self.articles.values())}

    def ingest(self, paths: list[Path], *, progress: bool = False) -> IngestReport:
        raise NotImplementedError

    def ingest_bytes(self, filename: str, data: bytes, replace: bool = False) -> IngestReport:
        """The real loaders parse the upload (same formats, same per-file failures); no index."""
        self.calls.append(("ingest_bytes", {"filename": filename, "size": len(data), "replace": replace}))
        report = IngestReport()
        for item in parse_bytes(data, Path(filename)):
            if isinstance(item, Failure):
                report.failed.append((item.where, item.reason))
                continue
            article_id = Path(item.origin).stem
            existed = article_id in self.articles
            article = build_article(item, article_id)
            self.add(article)
            (report.updated if existed else report.added).append(article_id)
            report.paragraphs += len(article.paragraphs)
        return report

    def remove(self, article_id: str) -> None:
        if self.articles.pop(article_id, None) is None:
            raise NotFoundError(f"no article {article_id!r}")

    def list_articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]:
        items = sorted(self.articles.values(), key=lambda a: a.article_id)
        return len(items), items[offset:offset + limit]

    def get_article(self, article_id: str) -> Article:
        try:
            return self.articles[article_id]
        except KeyError:
            raise NotFoundError(f"no article {article_id!r}") from None

    def search(self, query: str, k: int = 8, filters: SearchFilters | None = None) -> list[RetrievedParagraph]:
        query = checked_text(query, self.max_chars, "query")
        self.calls.append(("search", {"query": query, "k": k, "filters": filters}))
        words = {w.lower().strip("?.,") for w in query.split()}
        hits = []
        for a in self.articles.values():
            if filters and filters.source and a.source != filters.source:
                continue
            for p in a.paragraphs:
                overlap = len(words & {w.lower().strip("?.,") for w in p.text.split()})
                if overlap:
                    hits.append(RetrievedParagraph(
                        paragraph_id=p.paragraph_id, article_id=a.article_id, title=a.title, text=p.text,
                        score=float(overlap), source=a.source,
                        published=a.published.isoformat() if a.published else None, number=p.number))
        return sorted(hits, key=lambda h: -h.score)[:k]

    def _answer(self, question: str, conversation_id: str | None, history: list[dict[str, str]] | None,
                filters: SearchFilters | None) -> Answer:
        question = checked_text(question, self.max_chars, "question")
        if conversation_id is not None and not self.conversations.exists(conversation_id):
            raise NotFoundError(f"unknown conversation {conversation_id!r}")
        if history is None:
            conversation_id = conversation_id or self.conversations.new()
            self.conversations.append(conversation_id, "user", question)
        retrieved = self.search(question, 4, filters)
        if not retrieved:
            return Answer(question=question, answer="The articles do not say.", abstained=True,
                          conversation_id=conversation_id, generator="fake")
        top = retrieved[0]
        article = self.articles[top.article_id]
        quote = top.text.split(" on ")[0]
        citation = Citation(marker=1, article_id=top.article_id, paragraph_id=top.paragraph_id,
                            title=top.title, paragraph_text=top.text, quote=quote, start=0, end=len(quote),
                            source=article.source, published=top.published)
        return Answer(question=question, answer=f"{quote} [1].", abstained=False, citations=[citation],
                      retrieved=retrieved, timings={"total": 0.001}, diagnostics={"support": 1.0},
                      conversation_id=conversation_id, generator="fake")

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None) -> Answer:
        self.calls.append(("ask", {"question": question, "conversation_id": conversation_id,
                                   "history": history, "filters": filters}))
        return self._answer(question, conversation_id, history, filters)

    def stream(self, question: str, *, conversation_id: str | None = None,
               history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None,
               ) -> Iterator[StreamEvent]:
        kwargs: dict[str, Any] = {"conversation_id": conversation_id, "history": history, "filters": filters}
        self.calls.append(("stream", {"question": question, **kwargs}))
        try:
            answer = self._answer(question, kwargs.get("conversation_id"), kwargs.get("history"),
                                  kwargs.get("filters"))
            yield Meta(conversation_id=answer.conversation_id, standalone_question=question)
            yield Retrieved(paragraphs=answer.retrieved)
            for i, word in enumerate(answer.answer.split(" ")):
                if self.stream_delay:
                    time.sleep(self.stream_delay)
                self.stream_pulled += 1
                yield Token(text=word if i == 0 else " " + word)
            for c in answer.citations:
                yield CitationEvent(citation=c)
            yield Final(answer=answer)
        finally:
            self.stream_closed.set()


def _conforms(fake: FakeQAService) -> QAServiceProtocol:
    return fake  # mypy (make typecheck) checks the fake against the protocol the routes use
