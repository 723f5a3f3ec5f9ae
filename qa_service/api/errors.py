"""The ONE place where the core's exceptions become HTTP status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout

from qa_service.errors import (
    ConflictError,
    DependencyUnavailable,
    GeneratorError,
    IndexMismatchError,
    InvalidInputError,
    NotFoundError,
    PromptError,
    QAError,
)

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying a 503 (Chroma restarts in about 5 s).
RETRY_AFTER_S = 5

# Most specific first: the first isinstance match wins.
STATUS_FOR_ERROR: list[tuple[type[QAError], int]] = [
    (InvalidInputError, 422),
    (DependencyUnavailable, 503),
    (NotFoundError, 404),
    (ConflictError, 409),
    (GeneratorError, 502),
    (IndexMismatchError, 503),
    (PromptError, 500),
    (QAError, 500),
]


def status_for(exc: BaseException) -> int:
    for cls, status in STATUS_FOR_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


def retry_headers(status: int) -> dict[str, str] | None:
    """503s are temporary here (a dependency is down, the service is starting): say when to retry."""
    return {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None


def public_message(exc: BaseException) -> str:
    """Message safe to show a client: the core's own errors say what was wrong; others do not leak."""
    if isinstance(exc, QAError):
        return str(exc) or type(exc).__name__
    return "internal error"


async def _qa_error(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if status >= 500:
        log.error("request failed: %s %s: %r", request.method, request.url.path, exc)
    return JSONResponse({"detail": public_message(exc)}, status_code=status, headers=retry_headers(status))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # One readable sentence first, the structured list after it for programs.
    errors = exc.errors()
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return JSONResponse(
        {"detail": "invalid request: " + "; ".join(parts), "errors": _jsonable(errors)},
        status_code=422,
    )


def _jsonable(errors: object) -> object:
    # pydantic error dicts may hold exceptions in "ctx" or raw bytes in "input".
    import json

    return json.loads(json.dumps(errors, default=str))


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    # Every pooled database connection stayed busy for pool_timeout: temporary, like a dependency down.
    log.warning("no free database connection for %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "the service database is busy (no free connection); try again shortly"},
                        status_code=503, headers=retry_headers(503))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(QAError, _qa_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PoolTimeout, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected)
