"""POST /api/chat and its Server-Sent Events twin /api/chat/stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import ServerSentEvent

from qa_service.api.deps import ApiKey, MetricsDep, ServiceDep
from qa_service.api.schemas import ChatRequest
from qa_service.api.streaming import (
    GENERATOR_FAILED,
    SSEResponse,
    first_event,
    pipeline_events,
    sse_response_doc,
)
from qa_service.models import Answer
from qa_service.pipeline import CitationEvent, Error, Final, Meta, Retrieved, StreamEvent, Token

router = APIRouter(prefix="/api", tags=["chat"], dependencies=[ApiKey])

CHAT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown conversation_id"}, **GENERATOR_FAILED}
STREAM_EVENTS = ["meta", "retrieved", "token", "citation", "answer", "error"]


def sse(event: StreamEvent) -> ServerSentEvent:
    """Each event type's SSE form (docs/api.md): the data is the event's own payload."""
    match event:
        case Meta():
            data: Any = {"conversation_id": event.conversation_id, "standalone_question": event.standalone_question}
        case Retrieved():
            data = {"paragraph_ids": [p.paragraph_id for p in event.paragraphs]}
        case Token():
            data = {"text": event.text}
        case CitationEvent():
            data = event.citation.model_dump(mode="json")
        case Final():
            data = event.answer.model_dump(mode="json")
        case Error():
            data = {"detail": event.detail, "status": event.status}
    return ServerSentEvent(data=json.dumps(data, default=str), event=event.kind)


def ask_kwargs(body: ChatRequest) -> dict[str, Any]:
    return {
        "conversation_id": body.conversation_id or None,
        "filters": body.filters.to_search_filters() if body.filters else None,
    }


@router.post("/chat", response_model=Answer, responses=CHAT_ERRORS)
async def chat(body: ChatRequest, service: ServiceDep, metrics: MetricsDep) -> Answer:
    answer = await run_in_threadpool(service.ask, body.message, **ask_kwargs(body))
    metrics.record_answer(answer, "chat")
    return answer


@router.post("/chat/stream", response_class=SSEResponse, responses={
    200: sse_response_doc("meta, retrieved, token*, citation*, then answer (the Answer) or error {detail, status}",
                          STREAM_EVENTS),
    **CHAT_ERRORS,
})
async def chat_stream(
    body: ChatRequest, request: Request, service: ServiceDep, metrics: MetricsDep
) -> SSEResponse:
    """Events: meta, retrieved, token*, citation*, answer (the complete Answer), or error {detail, status}."""
    it = service.stream(body.message, **ask_kwargs(body))
    first = await first_event(it)

    async def events() -> AsyncIterator[ServerSentEvent]:
        completed = False
        try:
            async for event in pipeline_events(request, it, first):
                if isinstance(event, Final | Error):
                    completed = True
                if isinstance(event, Final):
                    metrics.record_answer(event.answer, "chat_stream")
                yield sse(event)
        finally:
            if not completed:
                metrics.stream_disconnects.inc()

    return SSEResponse(events(), ping=15)
