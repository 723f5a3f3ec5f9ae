"""API-key checks and the request body size limit."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_service.config import Settings

UNAUTHORIZED = "missing or wrong API key (send 'Authorization: Bearer <key>' or 'X-API-Key')"
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def presented_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def key_accepted(settings: Settings, headers: Mapping[str, str]) -> bool:
    """True when no key is configured or the configured one was presented (constant-time compare)."""
    if not settings.api_key:
        return True
    key = presented_key(headers)
    return key is not None and hmac.compare_digest(key.encode(), settings.api_key.encode())


def check_api_key(settings: Settings, request: Request) -> None:
    """401 unless the configured key was presented; a no-op when no key is configured."""
    if not key_accepted(settings, request.headers):
        raise HTTPException(status_code=401, detail=UNAUTHORIZED, headers=CHALLENGE)


class ApiKeyFirst:
    """Pure ASGI middleware: 401 before anything reads the body of a route that needs the key.

    FastAPI reads and parses a body before it runs the route's dependencies, so without
    this an unauthenticated request with a bad body got 422 (and its body parsed). Which
    routes need the key is read from their declared dependencies (`needs_key`), so the
    routes stay the one place that says so.
    """

    def __init__(self, app: ASGIApp, *, routes: Callable[[], Iterable[Any]], settings: Settings,
                 needs_key: Callable[[Any], bool]) -> None:
        self.app = app
        self.routes = routes
        self.settings = settings
        self.needs_key = needs_key

    def route_needs_key(self, scope: Scope) -> bool:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return self.needs_key(route)
        return False  # no route (404) or wrong method (405): nothing to protect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.settings.api_key
                and not key_accepted(self.settings, Headers(scope=scope)) and self.route_needs_key(scope)):
            await _send_json(send, 401, UNAUTHORIZED, CHALLENGE)
            return
        await self.app(scope, receive, send)


def check_write_allowed(settings: Settings) -> None:
    """Writes without any key configured would let anyone change the index."""
    if not settings.api_key and not settings.allow_open_writes:
        raise HTTPException(
            status_code=403,
            detail="write endpoints are disabled: set QA_API_KEY, or QA_ALLOW_OPEN_WRITES=true",
        )


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Pure ASGI middleware: 413 before any parsing when a body exceeds its limit.

    Checks Content-Length up front and counts bytes as they arrive (chunked bodies have
    no length). Upload paths get the larger upload limit plus room for multipart framing.
    """

    MULTIPART_SLACK = 64 * 1024

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int,
                 upload_paths: tuple[str, ...] = ("/api/articles",)) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_paths = upload_paths

    def limit_for(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            return self.max_upload_bytes + self.MULTIPART_SLACK
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "invalid Content-Length header")
                    return
                if declared > limit:
                    await _send_json(send, 413, f"request body too large (limit {limit} bytes)")
                    return
        received = 0
        exceeded = False
        replied = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the inner app makes of the aborted read (FastAPI turns it into a
            # 400), the client gets one clear 413 instead.
            nonlocal replied
            if exceeded:
                if not replied:
                    replied = True
                    await _send_json(send, 413, f"request body too large (limit {limit} bytes)")
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        if exceeded and not replied:
            await _send_json(send, 413, f"request body too large (limit {limit} bytes)")


async def _send_json(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    *extra],
    })
    await send({"type": "http.response.body", "body": body})
