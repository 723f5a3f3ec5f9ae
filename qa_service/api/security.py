"""API-key checks and the request body size limit."""

from __future__ import annotations

import hmac
import json

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_service.config import Settings


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def check_api_key(settings: Settings, request: Request) -> None:
    """401 unless the configured key was presented; a no-op when no key is configured."""
    if not settings.api_key:
        return
    key = presented_key(request)
    if key is None or not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong API key (send 'Authorization: Bearer <key>' or 'X-API-Key')",
            headers={"WWW-Authenticate": "Bearer"},
        )


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


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
