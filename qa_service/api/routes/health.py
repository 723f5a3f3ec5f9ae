"""Liveness, readiness (no key needed) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from qa_service.api.deps import ApiKey, MetricsDep
from qa_service.api.errors import retry_headers
from qa_service.api.metrics import CONTENT_TYPE_LATEST
from qa_service.api.schemas import ReadyBody
from qa_service.errors import DependencyUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={200: {"model": ReadyBody}, 503: {
    "model": ReadyBody, "description": "not ready: starting, or the vector store is unreachable"}})
async def readyz(request: Request) -> Any:
    service = getattr(request.app.state, "service", None)
    why = getattr(request.app.state, "unavailable", None) or "the service is still starting"
    if service is not None:
        try:
            if await run_in_threadpool(service.ready):
                return JSONResponse({"ready": True})
            why = "the index cannot be read"
        except DependencyUnavailable as exc:
            why = str(exc)
    return JSONResponse({"ready": False, "detail": why}, status_code=503, headers=retry_headers(503))


class PrometheusResponse(Response):
    media_type = CONTENT_TYPE_LATEST  # the class names it, so the OpenAPI document shows it


@router.get("/metrics", dependencies=[ApiKey], response_class=PrometheusResponse)
async def metrics(m: MetricsDep) -> PrometheusResponse:
    """Prometheus text exposition format."""
    return PrometheusResponse(m.render())
