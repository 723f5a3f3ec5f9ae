"""Request bodies. Strict types: a number where text belongs is a 422, not a silent cast."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from qa_service.service import SearchFilters


class ChatFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: StrictStr | None = None
    article_id: StrictStr | None = None
    date_from: date | None = None
    date_to: date | None = None

    def to_search_filters(self) -> SearchFilters:
        return SearchFilters(
            source=self.source or None,
            article_id=self.article_id or None,
            date_from=self.date_from.isoformat() if self.date_from else None,
            date_to=self.date_to.isoformat() if self.date_to else None,
        )


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: StrictStr = Field(description="The question; [n] markers in the answer point at citations.")
    conversation_id: StrictStr | None = None
    filters: ChatFilters | None = None


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    # OpenAI allows content as a list of parts; only text parts mean anything here.
    content: StrictStr | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class OpenAIChatRequest(BaseModel):
    # extra="allow": clients send temperature, max_tokens, user ... which we accept and ignore.
    model_config = ConfigDict(extra="allow")

    model: StrictStr | None = None
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: StrictBool = False


# -- error bodies (every 4xx/5xx the app sends; declared in the OpenAPI document by api/openapi.py)

class ErrorBody(BaseModel):
    """Every error response: one readable sentence."""

    detail: str = Field(description="what went wrong, in one sentence")


class ValidationErrorBody(ErrorBody):
    """422: the sentence names each bad field; `errors` lists them for programs (when a field was wrong)."""

    errors: list[dict[str, Any]] = Field(default_factory=list,
                                         description="pydantic's error objects: loc, msg, type, ...")


class ReadyBody(BaseModel):
    ready: bool
    detail: str | None = Field(default=None, description="why not, when not ready")
