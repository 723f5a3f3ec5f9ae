"""GET /api/jobs/{job_id}: a background upload's status, progress and, when finished, its report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep
from qa_service.api.errors import public_message, status_for
from qa_service.api.routes.articles import report_body, upload_refusal
from qa_service.jobs import Job

router = APIRouter(prefix="/api/jobs", tags=["articles"], dependencies=[ApiKey])


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts is not None else None


def job_body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": job.job_id, "status": job.status, "filename": job.filename, "replace": job.replace,
        "size_bytes": job.size_bytes, "created": _iso(job.created), "started": _iso(job.started),
        "finished": _iso(job.finished), "progress": asdict(job.progress),
    }
    if job.result is not None:
        body["result"] = report_body(job.result)  # the body a synchronous upload answers with
        refusal = upload_refusal(job.result, job.filename)
        if refusal is not None:
            body["error"] = {"status": refusal[0], "detail": refusal[1]}
    elif job.error is not None:
        body["error"] = {"status": status_for(job.error), "detail": public_message(job.error)}
    return body


@router.get("/{job_id}", responses={404: {"description": "no such job (the last finished jobs are kept)"}})
async def get_job(job_id: str, service: ServiceDep) -> dict[str, Any]:
    """`status`: queued, running, done or failed; `progress`: articles and chunks done of total;
    `result` (per-article outcomes, as the 201 of a small upload) once the ingest ran, and
    `error` `{status, detail}` when it failed (the status a synchronous upload would have had)."""
    return job_body(await run_in_threadpool(service.jobs.get, job_id))  # another replica's job: a database read
