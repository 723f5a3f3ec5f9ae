"""Light listings for the pages: every article's record (no bodies) and the outlets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep

router = APIRouter(prefix="/api", tags=["articles"], dependencies=[ApiKey])


@router.get("/library")
async def library(service: ServiceDep) -> dict[str, Any]:
    """All articles, newest first: id, title, outlet, date and paragraph count."""
    records = await run_in_threadpool(service.article_records)
    rows = sorted(records.values(), key=lambda r: (r.published or "", r.title.lower()), reverse=True)
    return {"total": len(rows), "articles": [
        {"article_id": r.article_id, "title": r.title, "source": r.source, "published": r.published,
         "paragraph_count": r.paragraphs} for r in rows
    ]}


@router.get("/outlets")
async def outlets(service: ServiceDep) -> dict[str, Any]:
    """The outlets (article `source`) there are, with their article counts, by name.

    A source filter must name one of these exactly; the page matches what is typed
    against this list case-insensitively and sends the stored spelling.
    """
    records = await run_in_threadpool(service.article_records)
    counts: dict[str, int] = {}
    for r in records.values():
        if r.source:
            counts[r.source] = counts.get(r.source, 0) + 1
    return {"outlets": [{"name": n, "articles": counts[n]} for n in sorted(counts, key=str.casefold)]}
