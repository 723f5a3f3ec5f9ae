"""Article listing, reading, upload (any supported format) and removal."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep, SettingsDep, WriteAccess
from qa_service.models import Article
from qa_service.service_types import IngestReport

router = APIRouter(prefix="/api/articles", tags=["articles"])


def summary(article: Article) -> dict[str, Any]:
    data = article.model_dump(mode="json", exclude={"paragraphs", "text"})
    data["paragraph_count"] = len(article.paragraphs)
    return data


@router.get("", dependencies=[ApiKey])
async def list_articles(
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    total, page = await run_in_threadpool(service.list_articles, offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "articles": [summary(a) for a in page]}


@router.get("/{article_id}", dependencies=[ApiKey])
async def get_article(article_id: str, service: ServiceDep) -> dict[str, Any]:
    article = await run_in_threadpool(service.get_article, article_id)
    return article.model_dump(mode="json")


def outcomes(report: IngestReport) -> list[dict[str, str]]:
    """One entry per article of the upload: what happened to it, and why when it was refused."""
    out = [{"article_id": aid, "status": status}
           for status, ids in (("added", report.added), ("updated", report.updated),
                               ("unchanged", report.unchanged))
           for aid in ids]
    out += [{"where": where, "status": "conflict", "reason": why} for where, why in getattr(report, "conflicts", [])]
    out += [{"where": where, "status": "failed", "reason": why} for where, why in report.failed]
    return out


@router.post("", status_code=201, dependencies=[WriteAccess])
async def upload_article(
    service: ServiceDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="one article file")],
    replace: Annotated[bool, Query(description="replace a stored article that has the same id "
                                               "but different content")] = False,
) -> dict[str, Any]:
    filename = PurePath(file.filename or "").name
    if not filename:
        raise HTTPException(status_code=422, detail="the upload needs a file name (its suffix picks the format)")
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(status_code=413, detail=f"file too large (limit {settings.max_upload_bytes} bytes)")
    if not data.strip():
        raise HTTPException(status_code=422, detail="the file is empty")
    report = await run_in_threadpool(partial(service.ingest_bytes, filename, data, replace=replace))
    conflicts = getattr(report, "conflicts", [])
    if not (report.added or report.updated or report.unchanged):
        if conflicts:
            reasons = "; ".join(f"{where}: {why}" for where, why in conflicts)
            raise HTTPException(status_code=409, detail=f"nothing ingested from {filename}: {reasons}")
        if report.failed:
            reasons = "; ".join(f"{where}: {why}" for where, why in report.failed)
            raise HTTPException(status_code=422, detail=f"could not ingest {filename}: {reasons}")
    return {**asdict(report), "articles": outcomes(report)}


@router.delete("/{article_id}", dependencies=[WriteAccess])
async def delete_article(article_id: str, service: ServiceDep) -> dict[str, str]:
    await run_in_threadpool(service.remove, article_id)
    return {"deleted": article_id}
