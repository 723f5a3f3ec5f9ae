"""Background ingest jobs: a large upload is queued and ingested off the request.

One worker thread runs the jobs one at a time, in order (the index takes one writer
at a time anyway). Jobs live in this process's memory only: a restart forgets them,
and one killed mid-run leaves the index as a kill -9 of any ingest does (its committed
articles stay, the rest is not there; uploading the file again finishes it). With
several server workers, a job is known only to the worker that accepted the upload.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from qa_service.errors import NotFoundError, QAError
from qa_service.ingest import IngestProgress, ProgressHook
from qa_service.service_types import IngestReport

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
# What runs a job: (file name, bytes, replace, progress hook) -> the ingest's result.
UploadIngest = Callable[[str, bytes, bool, ProgressHook], IngestReport]


class QueueFullError(QAError):
    """Too many uploads are waiting; the caller should retry later."""


@dataclass
class Job:
    job_id: str
    filename: str
    replace: bool
    size_bytes: int
    created: float = field(default_factory=time.time)
    status: JobStatus = "queued"
    started: float | None = None
    finished: float | None = None
    progress: IngestProgress = field(default_factory=IngestProgress)
    result: IngestReport | None = None  # when the ingest ran to its end (an IngestResult, with conflicts)
    error: BaseException | None = None  # when it raised (bad file, index unavailable, ...)
    data: bytes | None = field(default=None, repr=False)  # dropped once the job has run


class IngestJobs:
    """A FIFO of upload jobs, one worker thread, and the last `keep` finished jobs."""

    def __init__(self, ingest: UploadIngest, max_queued: int = 16, keep: int = 500) -> None:
        self._ingest = ingest
        self.max_queued = max_queued
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, filename: str, data: bytes, replace: bool = False) -> Job:
        with self._lock:
            waiting = sum(1 for j in self._jobs.values() if j.status == "queued")
            if waiting >= self.max_queued:
                raise QueueFullError(f"{waiting} uploads are already waiting to be ingested; retry later")
            job = Job(uuid.uuid4().hex, filename, replace, len(data), data=data)
            self._jobs[job.job_id] = job
            self._forget_old()
            if self._worker is None or not self._worker.is_alive():
                # Daemon: a shutdown does not wait for a long ingest (see the module's note).
                self._worker = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no ingest job with id {job_id!r} (jobs are kept in memory and "
                                "forgotten when the server restarts)")
        return job

    def busy(self) -> bool:
        """Whether a job is queued or running (a synchronous upload would wait behind it)."""
        with self._lock:
            return any(j.status in ("queued", "running") for j in self._jobs.values())

    def _forget_old(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.status in ("done", "failed")]
        for jid in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[jid]

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                self._run_one(job)
            finally:
                self._queue.task_done()

    def _run_one(self, job: Job) -> None:
        job.status, job.started = "running", time.time()
        data, job.data = job.data or b"", None

        def progress(p: IngestProgress) -> None:
            job.progress = p  # replaced whole, so a reader never sees half an update

        try:
            job.result = result = self._ingest(job.filename, data, job.replace, progress)
            # As a synchronous upload would answer 409/422: nothing of the file made it in.
            job.status = "done" if result.added or result.updated or result.unchanged else "failed"
        except Exception as exc:  # reported through GET /api/jobs/{id}, never lost
            if not isinstance(exc, QAError):
                log.exception("ingest job %s (%s) failed", job.job_id, job.filename)
            job.error = exc
            job.status = "failed"
        finally:
            if job.status == "running":  # a BaseException went through: never leave it running
                job.status = "failed"
            job.finished = time.time()
