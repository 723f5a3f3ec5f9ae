"""GET /api/search: retrieval only, best first (same shape as `qa search --json`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep
from qa_service.service import SearchFilters

router = APIRouter(prefix="/api", tags=["search"], dependencies=[ApiKey])


@router.get("/search")
async def search(
    service: ServiceDep,
    q: Annotated[str, Query(min_length=1, description="the query text")],
    k: Annotated[int, Query(ge=1, le=100)] = 8,
    source: str | None = None,
    article_id: str | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    filters = SearchFilters(
        source=source or None,
        article_id=article_id or None,
        date_from=date_from.isoformat() if date_from else None,
        date_to=date_to.isoformat() if date_to else None,
    )
    results = await run_in_threadpool(service.search, q, k, filters)
    return {"results": [r.model_dump(mode="json") for r in results]}
