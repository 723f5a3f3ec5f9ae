"""Run the service's synchronous stream() in worker threads, one item at a time.

Each next() runs in a thread; between items we check whether the client is still
there. When it left (or the response task is cancelled) we stop pulling and close
the generator, so an abandoned stream costs at most the item already in progress.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Any, Final, TypeVar

import anyio
from anyio import to_thread
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from qa_service.api.errors import public_message, status_for
from qa_service.errors import DependencyUnavailable
from qa_service.pipeline import Error, StreamEvent

log = logging.getLogger(__name__)

T = TypeVar("T")


class SSEResponse(EventSourceResponse):
    """An SSE response whose class names its media type, so the OpenAPI document shows text/event-stream."""

    media_type = "text/event-stream"


GENERATOR_FAILED: dict[int | str, dict[str, Any]] = {502: {"description": "the LLM generator failed"}}


def sse_response_doc(description: str, events: list[str] | None = None) -> dict[str, Any]:
    """A 200 of Server-Sent Events as OpenAPI 3.1 says it: `schema` describes one event."""
    event: dict[str, Any] = {"type": "string"}
    if events:
        event["enum"] = events
    return {"description": description, "content": {"text/event-stream": {"schema": {
        "type": "object", "required": ["data"],
        "properties": {"event": event, "data": {"type": "string", "description": "the event's payload, JSON"},
                       "id": {"type": "string"}, "retry": {"type": "integer"}},
    }}}}


class Done:
    """The end of an iterator, as a value (StopIteration cannot cross a thread hop)."""


DONE: Final = Done()


def next_or_done(it: Iterator[T]) -> T | Done:
    try:
        return next(it)
    except StopIteration:
        return DONE


async def iterate_in_thread(
    request: Request, it: Iterator[T], on_disconnect: Callable[[], None] | None = None
) -> AsyncGenerator[T, None]:
    finished = False
    try:
        while True:
            if await request.is_disconnected():
                if on_disconnect:
                    on_disconnect()
                return
            # Not abandoned on cancel: the generator must not be executing when we close it.
            item = await to_thread.run_sync(next_or_done, it)
            if isinstance(item, Done):
                finished = True
                return
            yield item
    finally:
        if not finished:
            close = getattr(it, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await to_thread.run_sync(close)


async def prepend(first: T, rest: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    yield first
    async for item in rest:
        yield item


async def first_event(it: Iterator[StreamEvent]) -> StreamEvent | Done:
    """Pull the first event before answering, so an unknown conversation id or a bad
    question is a plain 4xx status rather than an error event inside a 200 stream."""
    return await run_in_threadpool(next_or_done, it)


async def pipeline_events(request: Request, it: Iterator[StreamEvent], first: StreamEvent | Done,
                          ) -> AsyncGenerator[StreamEvent, None]:
    """The rest of the stream; a failure once the status line is sent becomes an Error event."""
    try:
        if isinstance(first, Done):
            raise RuntimeError("the answer stream ended without an answer")
        async with aclosing(iterate_in_thread(request, it)) as rest:
            async for event in prepend(first, rest):
                yield event
    except Exception as exc:
        status = status_for(exc)
        if isinstance(exc, DependencyUnavailable):
            log.warning("answer stream stopped: %s", exc)  # expected while Chroma is down: no traceback
        elif status >= 500:
            log.exception("answer stream failed", exc_info=exc)
        yield Error(detail=public_message(exc), status=status)
