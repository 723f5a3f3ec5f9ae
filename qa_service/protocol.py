"""What every front end may call: the real QAService and the tests' fakes both satisfy it,
and the type checker (mypy, run by `make typecheck` in CI) holds them to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from qa_service.conversations import ConversationSummary
from qa_service.jobs import IngestJobs
from qa_service.models import Answer, Article, RetrievedParagraph
from qa_service.pipeline import StreamEvent
from qa_service.service_types import IngestReport, SearchFilters
from qa_service.store import ArticleRecord


class Asks(Protocol):
    """All the Slack bot may call."""

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None) -> Answer: ...


class QAServiceProtocol(Asks, Protocol):

    def stream(self, question: str, *, conversation_id: str | None = None,
               history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None,
               ) -> Iterator[StreamEvent]: ...

    def search(self, query: str, k: int = 8, filters: SearchFilters | None = None) -> list[RetrievedParagraph]: ...

    def ingest(self, paths: list[Path], *, progress: bool = False) -> IngestReport: ...

    def ingest_bytes(self, filename: str, data: bytes, replace: bool = False) -> IngestReport: ...

    def remove(self, article_id: str) -> None: ...

    @property
    def jobs(self) -> IngestJobs: ...  # large uploads, ingested in the background

    def list_articles(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Article]]: ...

    def get_article(self, article_id: str) -> Article: ...

    def article_records(self) -> dict[str, ArticleRecord]: ...

    def recent_conversations(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]: ...

    def conversation(self, conversation_id: str) -> dict[str, Any]: ...

    def keep_answer(self, conversation_id: str, answer: Answer) -> int: ...

    def delete_conversation(self, conversation_id: str) -> None: ...

    def ready(self) -> bool: ...

    def stats(self) -> dict[str, Any]: ...
