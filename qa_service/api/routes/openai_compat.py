"""OpenAI-compatible /v1/chat/completions and /v1/models.

The last user message is the question; earlier user/assistant messages are the
history (system messages are ignored: the service has its own prompt). Citations
travel twice: as a "Sources:" list appended to the text (for any client), and as
the extra field `citations` (a list of Citation objects) on the response and on
the final streamed chunk (for clients that read it). `abstained` rides along too.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import ServerSentEvent

from qa_service.api.deps import ApiKey, MetricsDep, ServiceDep, SettingsDep
from qa_service.api.schemas import OpenAIChatRequest
from qa_service.api.streaming import (
    GENERATOR_FAILED,
    SSEResponse,
    first_event,
    pipeline_events,
    sse_response_doc,
)
from qa_service.config import Settings
from qa_service.models import Answer, Citation
from qa_service.pipeline import CitationEvent, Error, Final, Meta, Retrieved, Token

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[ApiKey])

OWNER = "qa-service"


def model_id(settings: Settings) -> str:
    return f"qa-service/{settings.generator}"


def split_messages(body: OpenAIChatRequest) -> tuple[str, list[dict[str, str]]]:
    turns = [(m.role, m.text()) for m in body.messages if m.role in ("user", "assistant")]
    last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last_user is None:
        raise HTTPException(status_code=422, detail="messages holds no user message")
    history = [{"role": role, "content": text} for role, text in turns[:last_user] if text.strip()]
    return turns[last_user][1], history


def sources_text(citations: list[Citation]) -> str:
    if not citations:
        return ""
    lines = ["", "", "Sources:"]
    for c in citations:
        meta = ", ".join(x for x in (c.source, c.published) if x)
        lines.append(f"[{c.marker}] {c.title}" + (f" ({meta})" if meta else "") + f" - {c.paragraph_id}")
    return "\n".join(lines)


def citations_payload(citations: list[Citation]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in citations]


@router.get("/models")
async def list_models(settings: SettingsDep) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": model_id(settings), "object": "model", "created": 0, "owned_by": OWNER}],
    }


@router.post("/chat/completions", response_model=None, responses={
    200: sse_response_doc("a chat.completion object, or with `stream: true` chat.completion.chunk events "
                          "(data lines), an {error} one on failure, then [DONE]"),
    **GENERATOR_FAILED,
})
async def chat_completions(
    body: OpenAIChatRequest, request: Request, service: ServiceDep, settings: SettingsDep,
    metrics: MetricsDep,
) -> dict[str, Any] | SSEResponse:
    question, history = split_messages(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    model = model_id(settings)

    if not body.stream:
        answer: Answer = await run_in_threadpool(service.ask, question, history=history)
        metrics.record_answer(answer, "openai")
        content = answer.answer + sources_text(answer.citations)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": citations_payload(answer.citations),
            "abstained": answer.abstained,
        }

    it = service.stream(question, history=history)
    first = await first_event(it)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> ServerSentEvent:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return ServerSentEvent(data=json.dumps(payload, default=str))

    async def events() -> AsyncIterator[ServerSentEvent]:
        yield chunk({"role": "assistant", "content": ""})
        async for event in pipeline_events(request, it, first):
            match event:
                case Meta() | Retrieved() | CitationEvent():
                    pass  # citations travel on the final chunk
                case Token():
                    yield chunk({"content": event.text})
                case Error():
                    # OpenAI's own streams report errors as a data line with an "error" object.
                    yield ServerSentEvent(data=json.dumps({"error": {"message": event.detail, "code": event.status}}))
                case Final():
                    answer = event.answer
                    metrics.record_answer(answer, "openai_stream")
                    tail = sources_text(answer.citations)
                    if tail:
                        yield chunk({"content": tail})
                    yield chunk({}, "stop", citations=citations_payload(answer.citations), abstained=answer.abstained)
        yield ServerSentEvent(data="[DONE]")

    return SSEResponse(events(), ping=15)
