"""create_app(settings, service=None): the FastAPI app over one QAService.

Without a service, the lifespan builds the real one once per worker at start-up
(models and index load then, not per request and not at import).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles

from qa_service.api.deps import ApiKey, needs_api_key
from qa_service.api.errors import install_error_handlers
from qa_service.api.metrics import Metrics, MetricsMiddleware
from qa_service.api.openapi import install_openapi
from qa_service.api.routes import (
    articles,
    chat,
    conversations,
    docs,
    health,
    jobs,
    library,
    openai_compat,
    search,
    web,
)
from qa_service.api.security import ApiKeyFirst, BodySizeLimit
from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable
from qa_service.heap import freeze_long_lived
from qa_service.service import QAService

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
START_RETRY_S = 1.0  # while Chroma is down at start-up, how often to try again
START_FAILURE_BACKOFF_S = 10.0  # after any other start-up failure (logged with its traceback)

Builder = Callable[[Settings], QAService]


def default_builder(settings: Settings) -> QAService:
    from qa_service.service import build_service  # the heavy imports happen here, not at import

    return build_service(settings)


def settle(service: QAService, settings: Settings) -> None:
    """Before the first request: the look-ups warmed, then the start-up heap frozen (heap.py)."""
    if not settings.freeze_heap:
        return
    warm_up = getattr(service, "warm_up", None)  # a test's stand-in may have none
    if callable(warm_up):
        try:
            warm_up()
        except DependencyUnavailable as exc:  # the built service stays: /readyz says what is down
            log.warning("warming the index's look-ups failed: %s", exc)
        except Exception:  # a question would meet it too, and report it; start-up goes on
            log.exception("warming the index's look-ups failed")
    freeze_long_lived()


def build_settled(build: Builder, settings: Settings) -> QAService:
    service = build(settings)
    settle(service, settings)
    return service


async def build_when_available(app: FastAPI, build: Builder, settings: Settings) -> None:
    """Keep trying to build the service until its dependencies answer; the app is ready then."""
    while True:
        await asyncio.sleep(START_RETRY_S)
        try:
            app.state.service = await run_in_threadpool(build_settled, build, settings)
        except DependencyUnavailable as exc:
            app.state.unavailable = str(exc)
            continue
        except Exception as exc:
            # Keep trying: a proxy's 502 while Chroma restarts is not final either; /readyz says why.
            log.exception("building the service failed; staying not ready and retrying")
            app.state.unavailable = f"the service could not start: {type(exc).__name__}"
            await asyncio.sleep(START_FAILURE_BACKOFF_S)
            continue
        app.state.unavailable = None
        log.info("dependencies are back: the service is ready")
        return


def create_app(settings: Settings, service: QAService | None = None, *, build: Builder | None = None) -> FastAPI:
    """`build` makes the service at start-up when none is given (default: build_service)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        retry: asyncio.Task[None] | None = None
        if app.state.service is None:
            log.info("loading the index and models from %s", settings.index_dir)
            builder = build or default_builder
            try:
                app.state.service = await run_in_threadpool(build_settled, builder, settings)
            except DependencyUnavailable as exc:
                # Start not ready (/readyz 503, routes 503 + Retry-After) rather than not at all:
                # Chroma may be restarting, and we become ready by ourselves once it answers.
                log.warning("starting not ready: %s", exc)
                app.state.unavailable = str(exc)
                retry = asyncio.create_task(build_when_available(app, builder, settings))
        yield
        if retry is not None:
            retry.cancel()
            with suppress(asyncio.CancelledError):
                await retry
        close = getattr(app.state.service, "close", None)
        if service is None and callable(close):
            await run_in_threadpool(close)

    app = FastAPI(
        title="News QA service",
        summary="Answers about news articles, with verified paragraph-level citations.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by routes/docs.py instead, behind the API key like the API they describe.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.unavailable = None  # why the service could not be built yet, while it cannot
    app.state.metrics = Metrics()

    install_error_handlers(app)
    install_openapi(app)
    for module in (health, chat, openai_compat, search, articles, jobs, library, conversations, web):
        app.include_router(module.router)
    # Positions/timeline and Slack live in their own packages; imported here, not at module import.
    from qa_service.positions.routes import router as positions_router
    from qa_service.slack.bot import mount_slack

    app.include_router(positions_router, dependencies=[ApiKey])
    app.include_router(docs.router)
    mount_slack(app, settings, service)  # only when Slack is configured; it checks Slack's own signature
    app.mount(docs.DOCS_ASSETS, StaticFiles(directory=docs.DOCS_ASSETS_DIR), name="docs-assets")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Added last = outermost. Innermost, the size limit: 413 before anything reads the body.
    # Around it the key check, so a caller without the key learns only that (401), never the
    # limits (FastAPI parses bodies before dependencies run, hence a middleware). Around that
    # CORS, so a browser can read the 401; outermost the metrics, which see every response.
    app.add_middleware(
        BodySizeLimit, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    app.add_middleware(ApiKeyFirst, routes=lambda: iter_route_contexts(app.routes), settings=settings,
                       needs_key=needs_api_key)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory qa_service.api.app:create_app_from_env` (e.g. with --workers N)."""
    return create_app(Settings())
