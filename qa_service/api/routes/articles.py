"""Article listing, reading, upload (any supported format) and removal."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep, SettingsDep, WriteAccess
from qa_service.jobs import QueueFullError
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
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    total, page = await run_in_threadpool(service.list_articles, offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "articles": [summary(a) for a in page]}


@router.get("/{article_id}", dependencies=[ApiKey])
async def get_article(article_id: str, service: ServiceDep) -> dict[str, Any]:
    article = await run_in_threadpool(service.get_article, article_id)
    return article.model_dump(mode="json")


def upload_refusal(report: IngestReport, filename: str) -> tuple[int, str] | None:
    """The 409 or 422 an upload of which no article made it in answers (None when some did)."""
    if report.added or report.updated or report.unchanged:
        return None
    conflicts = getattr(report, "conflicts", [])
    if conflicts:
        return 409, f"nothing ingested from {filename}: " + "; ".join(f"{w}: {why}" for w, why in conflicts)
    if report.failed:
        return 422, f"could not ingest {filename}: " + "; ".join(f"{w}: {why}" for w, why in report.failed)
    return None


def report_body(report: IngestReport) -> dict[str, Any]:
    return {**asdict(report), "articles": report.outcomes()}


@router.post("", status_code=201, dependencies=[WriteAccess],
             responses={202: {"description": "a large upload (over QA_ASYNC_UPLOAD_BYTES), or one sent while "
                                             "another is being ingested: queued as a job, see GET /api/jobs/{id}"},
                        409: {"description": "every article of the file would replace a different one"},
                        429: {"description": "too many uploads are waiting (QA_UPLOAD_QUEUE_MAX)"}})
async def upload_article(
    response: Response,
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
    if len(data) > settings.async_upload_bytes or service.jobs.busy():
        # Large files, and any file while a job holds the writer, go to the background worker:
        # the answer comes at once instead of after minutes of parsing and embedding.
        try:
            job = await run_in_threadpool(partial(service.jobs.submit, filename, data, replace=replace))
        except QueueFullError as exc:
            raise HTTPException(status_code=429, detail=str(exc), headers={"Retry-After": "30"}) from None
        href = f"/api/jobs/{job.job_id}"
        response.status_code = 202
        response.headers["Location"] = href
        return {"job_id": job.job_id, "status": job.status, "href": href}
    report = await run_in_threadpool(partial(service.ingest_bytes, filename, data, replace=replace))
    refusal = upload_refusal(report, filename)
    if refusal is not None:
        raise HTTPException(status_code=refusal[0], detail=refusal[1])
    return report_body(report)


@router.delete("/{article_id}", dependencies=[WriteAccess])
async def delete_article(article_id: str, service: ServiceDep) -> dict[str, str]:
    await run_in_threadpool(service.remove, article_id)
    return {"deleted": article_id}
