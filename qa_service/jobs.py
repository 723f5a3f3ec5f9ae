"""Background ingest jobs: a large upload is queued and ingested off the request.

One worker thread per process runs its jobs one at a time, in order (the index takes
one writer at a time anyway). Each job's record (status, progress, result or error) is
also kept in the service's database, so GET /api/jobs/{id} is answered by any replica:
the one running the job from memory, the others from that row. While a job is queued
or running its process refreshes the row's heartbeat; a process that died (killed,
restarted) stops doing so, and its job is then reported failed. Such a killed ingest
leaves the index as a kill -9 of any ingest does (its committed articles stay, the rest
is not there; uploading the file again finishes it).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from sqlalchemy import Engine, Row, delete, insert, or_, select, update

from qa_service.database import write_transaction
from qa_service.database.tables import jobs as jobs_table
from qa_service.errors import NotFoundError, QAError
from qa_service.ingest import IngestProgress, IngestResult, ProgressHook
from qa_service.priority import lower_this_thread
from qa_service.service_types import IngestReport

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]
# What runs a job: (file name, bytes, replace, progress hook) -> the ingest's result.
UploadIngest = Callable[[str, bytes, bool, ProgressHook], IngestReport]

LIVE: tuple[JobStatus, ...] = ("queued", "running")
FINISHED: tuple[JobStatus, ...] = ("done", "failed")
HEARTBEAT_S = 2.0  # how often a live job's row is refreshed (progress included)
STALE_AFTER_S = 60.0  # a live row not refreshed for this long belongs to a process that died
FORGET_LIVE_AFTER_S = 86_400.0  # such orphaned rows are deleted after a day


class QueueFullError(QAError):
    """Too many uploads are waiting; the caller should retry later."""


class JobLostError(QAError):
    """The process running a job stopped before finishing it."""


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
    """A FIFO of upload jobs, one worker thread, and the last `keep` finished jobs (in memory
    for this process's jobs, in the database for every replica's)."""

    def __init__(self, ingest: UploadIngest, engine: Engine, max_queued: int = 16, keep: int = 500, *,
                 heartbeat_s: float = HEARTBEAT_S, stale_after_s: float = STALE_AFTER_S, nice: int = 0) -> None:
        self._ingest = ingest
        self.nice = nice  # the worker thread's CPU priority (priority.lower_this_thread)
        self.engine = engine
        self.max_queued = max_queued
        self.keep = keep
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        # Recorded with each job: which process (host:pid) ran it, when one is reported lost.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._beat: threading.Thread | None = None

    def submit(self, filename: str, data: bytes, replace: bool = False) -> Job:
        """Queue an upload. Returns the job as it was accepted ("queued"), a copy: the worker may
        start it before the caller reads it; `get` gives its live state."""
        with self._lock:
            waiting = sum(1 for j in self._jobs.values() if j.status == "queued")
            if waiting >= self.max_queued:
                raise QueueFullError(f"{waiting} uploads are already waiting to be ingested; retry later")
            job = Job(uuid.uuid4().hex, filename, replace, len(data), data=data)
            self._jobs[job.job_id] = job
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(insert(jobs_table).values(
                    job_id=job.job_id, filename=filename, replace=replace, size_bytes=job.size_bytes,
                    created=job.created, owner=self.owner, heartbeat=time.time(), **_row_values(job)))
        except BaseException:
            with self._lock:  # not accepted: no other replica could ever see it
                self._jobs.pop(job.job_id, None)
            raise
        with self._lock:
            self._forget_old()
            if self._worker is None or not self._worker.is_alive():
                # Daemon: a shutdown does not wait for a long ingest (see the module's note).
                self._worker = threading.Thread(target=self._run, name="ingest-jobs", daemon=True)
                self._worker.start()
            if self._beat is None:
                self._beat = threading.Thread(target=self._heartbeats, name="ingest-jobs-heartbeat", daemon=True)
                self._beat.start()
        accepted = copy.copy(job)
        self._queue.put(job)
        return accepted

    def get(self, job_id: str) -> Job:
        """This process's own job from memory (live progress), any other replica's from its row."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no ingest job with id {job_id!r} (the last {self.keep} finished jobs are kept)")
        return self._from_row(row)

    def busy(self) -> bool:
        """Whether a job is queued or running here (a synchronous upload would wait behind it)."""
        with self._lock:
            return any(j.status in LIVE for j in self._jobs.values())

    def _from_row(self, row: Row[Any]) -> Job:
        job = Job(row.job_id, row.filename, row.replace, row.size_bytes, created=row.created, status=row.status,
                  started=row.started, finished=row.finished,
                  progress=IngestProgress(row.articles_done, row.articles_total, row.chunks_done, row.chunks_total),
                  result=_report_from_json(row.result) if row.result else None,
                  error=_error_from_json(row.error) if row.error else None)
        if job.status in LIVE and row.heartbeat < time.time() - self.stale_after_s:
            # Reported, not written: should the process only have stalled, its own update wins.
            job.status, job.finished = "failed", row.heartbeat
            job.error = JobLostError("the replica running this job stopped; upload the file again")
        return job

    def _forget_old(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.status in FINISHED]
        for jid in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[jid]

    def _save(self, job: Job, *, prune: bool = False) -> None:
        """Write the job's state to its row. A database failure is logged, never fatal to the
        worker: this process still answers from memory, other replicas see a stale row."""
        now = time.time()
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(update(jobs_table).where(jobs_table.c.job_id == job.job_id)
                             .values(heartbeat=now, **_row_values(job)))
                if prune:
                    self._prune(conn, now)
        except Exception:
            log.warning("could not record ingest job %s in the database", job.job_id, exc_info=True)

    def _prune(self, conn: Any, now: float) -> None:
        newest = (select(jobs_table.c.job_id).where(jobs_table.c.status.in_(FINISHED))
                  .order_by(jobs_table.c.finished.desc()).limit(self.keep))
        conn.execute(delete(jobs_table).where(or_(
            jobs_table.c.status.in_(FINISHED) & jobs_table.c.job_id.not_in(newest.scalar_subquery()),
            jobs_table.c.status.in_(LIVE) & (jobs_table.c.heartbeat < now - FORGET_LIVE_AFTER_S),
        )))

    def _heartbeats(self) -> None:
        """Refresh the rows of this process's live jobs (and the running one's progress)."""
        while True:
            time.sleep(self.heartbeat_s)
            with self._lock:
                live = [j for j in self._jobs.values() if j.status in LIVE]
                if not live:  # idle: the next submit starts another (decided under the same lock)
                    self._beat = None
                    return
            now = time.time()
            try:
                with write_transaction(self.engine) as conn:
                    for job in live:
                        # Never the status: the worker's own write of it must not be undone.
                        conn.execute(update(jobs_table)
                                     .where(jobs_table.c.job_id == job.job_id, jobs_table.c.status.in_(LIVE))
                                     .values(heartbeat=now, **asdict(job.progress)))
            except Exception:
                log.warning("could not refresh the heartbeat of ingest jobs", exc_info=True)

    def _run(self) -> None:
        lower_this_thread(self.nice)  # before its first encode starts torch's threads for it
        while True:
            job = self._queue.get()
            try:
                self._run_one(job)
            finally:
                self._queue.task_done()

    def _run_one(self, job: Job) -> None:
        job.status, job.started = "running", time.time()
        data, job.data = job.data or b"", None
        self._save(job)

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
            self._save(job, prune=True)


def _row_values(job: Job) -> dict[str, Any]:
    """The columns that change while a job runs."""
    return {
        "status": job.status, "started": job.started, "finished": job.finished, **asdict(job.progress),
        "result": _report_to_json(job.result) if job.result is not None else None,
        "error": _error_to_json(job.error) if job.error is not None else None,
    }


def _report_to_json(report: IngestReport) -> str:
    return json.dumps({"type": type(report).__name__, **asdict(report)})


def _report_from_json(text: str) -> IngestReport:
    data = json.loads(text)
    cls = IngestResult if data.get("type") == IngestResult.__name__ else IngestReport
    kwargs = {f.name: data[f.name] for f in fields(cls) if f.name in data}
    for name in ("failed", "conflicts"):  # (where, reason) pairs: JSON made them lists
        if name in kwargs:
            kwargs[name] = [tuple(pair) for pair in kwargs[name]]
    return cls(**kwargs)


def _error_to_json(exc: BaseException) -> str:
    return json.dumps({"type": type(exc).__name__, "qa": isinstance(exc, QAError), "message": str(exc)})


def _error_from_json(text: str) -> BaseException:
    """An exception that reads as the original did: the same QAError class (so the same HTTP
    status) and message; any other error stays an internal one, whose message is never shown."""
    data = json.loads(text)
    if not data.get("qa"):
        return RuntimeError(data.get("message", ""))
    cls = _qa_error_classes().get(data.get("type", ""), QAError)
    exc = cls.__new__(cls)  # not __init__: some take other arguments than the message
    exc.args = (data.get("message", ""),)
    return exc


def _qa_error_classes() -> dict[str, type[QAError]]:
    found: dict[str, type[QAError]] = {}
    todo: list[type[QAError]] = [QAError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found
