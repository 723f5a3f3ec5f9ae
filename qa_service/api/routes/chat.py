"""POST /api/chat and its Server-Sent Events twin /api/chat/stream."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from qa_service.api.deps import ApiKey, MetricsDep, ServiceDep, SettingsDep
from qa_service.api.errors import public_message, status_for
from qa_service.api.schemas import ChatRequest
from qa_service.api.streaming import DONE, iterate_in_thread, next_or_done, prepend
from qa_service.config import Settings
from qa_service.models import Answer

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["chat"], dependencies=[ApiKey])


def checked_message(message: str, settings: Settings) -> str:
    text = message.strip()
    if not text:
        raise HTTPException(status_code=422, detail="message is empty")
    if len(text) > settings.max_message_chars:
        raise HTTPException(
            status_code=422,
            detail=f"message is too long ({len(text)} characters, limit {settings.max_message_chars})",
        )
    return text


def ask_kwargs(body: ChatRequest) -> dict[str, Any]:
    return {
        "conversation_id": body.conversation_id or None,
        "filters": body.filters.to_search_filters() if body.filters else None,
    }


@router.post("/chat", response_model=Answer)
async def chat(body: ChatRequest, service: ServiceDep, settings: SettingsDep, metrics: MetricsDep) -> Answer:
    question = checked_message(body.message, settings)
    answer = await run_in_threadpool(service.ask, question, **ask_kwargs(body))
    metrics.record_answer(answer, "chat")
    return answer


@router.post("/chat/stream")
async def chat_stream(
    body: ChatRequest, request: Request, service: ServiceDep, settings: SettingsDep, metrics: MetricsDep
) -> EventSourceResponse:
    """Events: meta, token*, citation*, answer (the complete Answer), or error {detail, status}."""
    question = checked_message(body.message, settings)
    it = service.stream(question, **ask_kwargs(body))
    # Pull the first event before answering, so an unknown conversation id or a bad
    # filter is a plain 404/400 status rather than an error event inside a 200 stream.
    first = await run_in_threadpool(next_or_done, it)

    async def events() -> AsyncIterator[ServerSentEvent]:
        completed = False
        try:
            if first is DONE:
                raise RuntimeError("the answer stream ended without an answer")
            async with aclosing(iterate_in_thread(request, it)) as rest:
                async for name, data in prepend(first, rest):
                    if name == "answer":
                        completed = True
                        metrics.record_answer(Answer.model_validate(data), "chat_stream")
                    yield ServerSentEvent(data=json.dumps(data, default=str), event=name)
        except Exception as exc:  # the status line is already sent: report the failure in-band
            completed = True
            status = status_for(exc)
            if status >= 500:
                log.exception("stream failed", exc_info=exc)
            yield ServerSentEvent(
                data=json.dumps({"detail": public_message(exc), "status": status}), event="error"
            )
        finally:
            if not completed:
                metrics.stream_disconnects.inc()

    return EventSourceResponse(events(), ping=15)
