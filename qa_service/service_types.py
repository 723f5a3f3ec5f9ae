"""Small value types shared by the service facade and the core modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SearchFilters:
    source: str | None = None
    article_id: str | None = None
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)  # article ids
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path or path:line, reason)
    paragraphs: int = 0
    chunks: int = 0
    seconds: float = 0.0


# Stream events yielded by QAService.stream():
#   ("meta", {"conversation_id": str, "standalone_question": str})
#   ("token", {"text": str})            answer text as produced
#   ("citation", Citation.model_dump()) as each is verified
#   ("answer", Answer.model_dump())     final, complete object
StreamEvent = tuple[str, dict[str, Any]]
