"""Run the service's synchronous stream() in worker threads, one item at a time.

Each next() runs in a thread; between items we check whether the client is still
there. When it left (or the response task is cancelled) we stop pulling and close
the generator, so an abandoned stream costs at most the item already in progress.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

import anyio
from anyio import to_thread
from fastapi import Request

T = TypeVar("T")
DONE = object()


def next_or_done(it: Iterator[T]) -> object:
    try:
        return next(it)
    except StopIteration:
        return DONE


async def iterate_in_thread(
    request: Request, it: Iterator[T], on_disconnect: Callable[[], None] | None = None
) -> AsyncIterator[T]:
    finished = False
    try:
        while True:
            if await request.is_disconnected():
                if on_disconnect:
                    on_disconnect()
                return
            # Not abandoned on cancel: the generator must not be executing when we close it.
            item = await to_thread.run_sync(next_or_done, it)
            if item is DONE:
                finished = True
                return
            yield item  # type: ignore[misc]
    finally:
        if not finished:
            close = getattr(it, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await to_thread.run_sync(close)


async def prepend(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    yield first
    async for item in rest:
        yield item
