"""create_app(settings, service=None): the FastAPI app over one QAService.

Without a service, the lifespan builds the real one once per worker at start-up
(models and index load then, not per request and not at import).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from qa_service.api.deps import ApiKey
from qa_service.api.errors import install_error_handlers
from qa_service.api.metrics import Metrics, MetricsMiddleware
from qa_service.api.routes import articles, chat, conversations, health, library, openai_compat, search, web
from qa_service.api.security import BodySizeLimit
from qa_service.config import Settings
from qa_service.service import QAService

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(settings: Settings, service: QAService | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.service is None:
            from qa_service.service import build_service  # the heavy imports happen here, not at import

            log.info("loading the index and models from %s", settings.index_dir)
            app.state.service = await run_in_threadpool(build_service, settings)
        yield
        close = getattr(app.state.service, "close", None)
        if service is None and callable(close):
            await run_in_threadpool(close)

    app = FastAPI(
        title="News QA service",
        summary="Answers about news articles, with verified paragraph-level citations.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.metrics = Metrics()

    install_error_handlers(app)
    for module in (health, chat, openai_compat, search, articles, library, conversations, web):
        app.include_router(module.router)
    # Positions/timeline and Slack live in their own packages; imported here, not at module import.
    from qa_service.positions.routes import router as positions_router
    from qa_service.slack.bot import mount_slack

    app.include_router(positions_router, dependencies=[ApiKey])
    mount_slack(app, settings, service)  # only when Slack is configured; it checks Slack's own signature
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Added last = outermost: the size limit answers 413 before anything reads the body,
    # and metrics see every response, including the 413s and 401s.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(
        BodySizeLimit, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory qa_service.api.app:create_app_from_env` (e.g. with --workers N)."""
    return create_app(Settings())
