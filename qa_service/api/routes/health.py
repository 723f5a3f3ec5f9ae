"""Liveness, readiness (no key needed) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from qa_service.api.deps import ApiKey, MetricsDep
from qa_service.api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Any:
    service = getattr(request.app.state, "service", None)
    ready = service is not None and bool(await run_in_threadpool(service.ready))
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@router.get("/metrics", dependencies=[ApiKey])
async def metrics(m: MetricsDep) -> Response:
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
