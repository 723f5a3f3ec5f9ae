"""A bulk ingest's derived layers in worker processes, beside the embedding (fake embedder).

The fast tests drive the ingest with workers that run in threads and fail on purpose; the
others start the real worker process: it stores what extraction in this process stores, keeps
the time limit, and one stuck where it cannot check the time is killed. The whole BBC corpus
goes through the real workers in test_bbc_corpus.py.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from qa_service.config import Settings
from qa_service.loaders.common import TimeLimitExceeded
from qa_service.models import Article
from qa_service.service import build_service


def _write(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"a{i:02}.txt").write_text(
            f"Harbour story {i}\n\nMark Rutte said on Monday that the harbour plan {i} must be funded.\n\n"
            f"The council met on 3 March 2024 to discuss plan {i}.\n")
    return folder


class ThreadWorkers:
    """Stands in for the worker processes: runs `work` per article in a thread, records `finish`."""

    def __init__(self, work: Any, committed: Any) -> None:
        self.pool = ThreadPoolExecutor(1)
        self.work = work
        self.committed = committed  # the store's records when each result is stored
        self.finished: dict[str, bool] = {}
        self.limits: list[float | None] = []
        self.closed = False

    def submit(self, article: Article, limit_s: float | None) -> Future[Any] | None:
        self.limits.append(limit_s)
        return self.pool.submit(self.work, article)

    def finish(self, article: Article, derived: Future[Any]) -> None:
        derived.result()
        self.finished[article.article_id] = article.article_id in self.committed()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.closed = True


def _svc(tmp_path: Path, fake_embedder, work: Any) -> tuple[Any, list[ThreadWorkers]]:
    svc = build_service(Settings(index_dir=tmp_path / "idx", positions_enabled=False), embedder=fake_embedder)
    made: list[ThreadWorkers] = []

    def factory() -> ThreadWorkers:
        made.append(ThreadWorkers(work, svc.store.article_records))
        return made[-1]

    svc.ingester.on_article = lambda article: None  # a derived layer is on
    svc.ingester.article_workers = factory
    svc.ingester.workers_min_articles = 3
    svc.ingester.flush_chunks = 4  # several commits, so batches overlap
    svc.ingester.article_time_limit_s = 50.0
    return svc, made


def _failing_on(title: str, error: Exception) -> Any:
    def work(article: Article) -> str:
        if article.title == title:
            raise error
        return "entries"

    return work


def test_bulk_ingest_stores_each_derived_result_before_its_article_is_committed(tmp_path, fake_embedder):
    svc, made = _svc(tmp_path, fake_embedder, lambda article: "entries")
    report = svc.ingest([_write(tmp_path / "c", 12)])
    assert len(report.added) == 12 and not report.failed
    (workers,) = made
    assert workers.closed
    assert set(workers.finished) == set(report.added)
    assert not any(workers.finished.values())  # stored while the article was not yet committed
    assert all(limit is not None and 0 < limit <= 50.0 for limit in workers.limits)  # what was left of it


def test_small_ingest_derives_in_this_thread(tmp_path, fake_embedder):
    svc, made = _svc(tmp_path, fake_embedder, lambda article: "entries")
    seen: list[str] = []
    svc.ingester.on_article = lambda article: seen.append(article.article_id)
    report = svc.ingest([_write(tmp_path / "c", 2)])
    assert len(report.added) == 2 and sorted(seen) == sorted(report.added) and not made


def test_an_article_over_its_time_limit_in_a_worker_is_not_indexed(tmp_path, fake_embedder):
    work = _failing_on("Harbour story 4", TimeLimitExceeded("took longer than the 50 s allowed per article"))
    svc, _ = _svc(tmp_path, fake_embedder, work)
    report = svc.ingest([_write(tmp_path / "c", 8)])
    (where, why), = report.failed
    assert where.endswith("a04.txt") and "not indexed" in why and "50 s" in why
    assert len(report.added) == 7 and "harbour-story-4" not in svc.store.article_records()
    chunks = svc.store.all_chunks(include_documents=False)["metadatas"]
    assert {m["article_id"] for m in chunks} == set(report.added)  # none of its chunks went in either


def test_a_worker_that_fails_leaves_the_article_indexed_and_says_so(tmp_path, fake_embedder):
    work = _failing_on("Harbour story 2", RuntimeError("A process in the process pool was terminated abruptly"))
    svc, _ = _svc(tmp_path, fake_embedder, work)
    report = svc.ingest([_write(tmp_path / "c", 6)])
    (where, why), = report.failed
    assert where.endswith("a02.txt") and "indexed without positions" in why and "abruptly" not in why
    assert "harbour-story-2" in report.added and len(report.added) == 6


def test_an_error_in_a_commit_stops_the_ingest_and_the_workers(tmp_path, fake_embedder):
    svc, made = _svc(tmp_path, fake_embedder, lambda article: "entries")
    batches: list[list[str]] = []
    put = svc.store.put_articles

    def failing_put(items: list[Any]) -> None:
        batches.append([article.article_id for article, _, _ in items])
        if len(batches) == 2:
            raise OSError("disk full")
        put(items)

    svc.store.put_articles = failing_put
    with pytest.raises(OSError, match="disk full"):
        svc.ingest([_write(tmp_path / "c", 12)])
    assert made[0].closed and len(batches) == 2  # no commit after the failed one
    committed = set(svc.store.article_records())
    assert committed == set(batches[0])  # the first batch, nothing of the second
    report = svc.ingest([tmp_path / "c"])  # the next run repairs and finishes
    assert not report.failed and set(svc.store.article_records()) == committed | set(report.added)


@pytest.mark.timeout(120)
def test_the_worker_process_stores_what_extraction_here_stores(tmp_path, fake_embedder):
    from qa_service.positions import PositionsIndex, load_nlp

    nlp = load_nlp()
    folder = _write(tmp_path / "c", 4)

    def ingest(processes: int) -> tuple[Any, list[Any]]:
        settings = Settings(index_dir=tmp_path / f"idx{processes}", positions_processes=processes)
        svc = build_service(settings, embedder=fake_embedder, positions=PositionsIndex(settings, nlp))
        svc.ingester.workers_min_articles = 3
        started: list[Any] = []
        factory = svc.ingester.article_workers
        if factory is not None:
            svc.ingester.article_workers = lambda: started.append(factory()) or started[-1]
        report = svc.ingest([folder])
        assert len(report.added) == 4 and not report.failed
        return svc, started

    in_worker, started = ingest(1)
    in_thread, none = ingest(0)
    assert len(started) == 1 and not none
    assert set(started[0].seconds) == set(in_worker.store.article_records())  # extracted in the worker
    assert in_worker.positions.positions() == in_thread.positions.positions() != []
    assert in_worker.positions.timeline() == in_thread.positions.timeline() != []


@pytest.mark.timeout(120)
def test_the_worker_process_keeps_the_articles_time_limit(tmp_path, fake_embedder):
    from qa_service.positions import PositionsIndex, load_nlp

    settings = Settings(index_dir=tmp_path / "idx")
    svc = build_service(settings, embedder=fake_embedder, positions=PositionsIndex(settings, load_nlp()))
    svc.ingester.workers_min_articles = 3
    svc.ingester.article_time_limit_s = 1.0  # chunking takes milliseconds, parsing the long one seconds
    folder = _write(tmp_path / "c", 3)
    sentence = "Mark Rutte said that NATO must send more air defence systems to Ukraine this winter."
    (folder / "long.txt").write_text("A long statement\n\n" + "\n\n".join([sentence * 4] * 300) + "\n")
    submitted: list[str] = []
    factory = svc.ingester.article_workers
    assert factory is not None

    def tracked() -> Any:
        workers = factory()
        submit = workers.submit
        workers.submit = lambda article, limit_s: submitted.append(article.article_id) or submit(article, limit_s)
        return workers

    svc.ingester.article_workers = tracked
    report = svc.ingest([folder])
    assert "a-long-statement" in submitted  # it passed the main thread's part of its limit
    (where, why), = report.failed
    assert where.endswith("long.txt") and "1 s" in why and "not indexed" in why
    assert len(report.added) == 3 and "a-long-statement" not in svc.store.article_records()
    assert not svc.positions.positions("Mark Rutte") or all(
        p.article_id != "a-long-statement" for p in svc.positions.positions("Mark Rutte"))


@pytest.mark.timeout(120)
def test_when_the_worker_process_dies_the_ingest_extracts_the_rest_itself(tmp_path, fake_embedder):
    import os
    import signal
    import time

    from qa_service.positions import PositionsIndex, load_nlp

    settings = Settings(index_dir=tmp_path / "idx")
    svc = build_service(settings, embedder=fake_embedder, positions=PositionsIndex(settings, load_nlp()))
    svc.ingester.workers_min_articles = 3
    factory = svc.ingester.article_workers
    assert factory is not None

    def killed_after_first() -> Any:
        workers = factory()
        submit = workers.submit

        def submit_then_kill(article: Article, limit_s: float | None) -> Any:
            future = submit(article, limit_s)
            if article.title == "Harbour story 0":
                for pid in list(workers._pool._processes):  # the process the first article went to
                    os.kill(pid, signal.SIGKILL)
                time.sleep(1.0)  # the pool notices: later articles are refused, not queued
            return future

        workers.submit = submit_then_kill
        return workers

    svc.ingester.article_workers = killed_after_first
    report = svc.ingest([_write(tmp_path / "c", 6)])
    assert len(report.added) == 6  # every article is indexed
    (where, why), = report.failed  # the one the dead process had
    assert where.endswith("a00.txt") and "indexed without positions" in why
    actors = {p.article_id for p in svc.positions.positions("Mark Rutte")}
    assert actors == set(report.added) - {"harbour-story-0"}  # the rest extracted in the ingest's process


def _hang_on_story_3(article: Article, nlp: Any) -> Any:
    """Runs in the worker process: one article stuck where check_time() is never reached."""
    import time

    from qa_service.positions.extract import extract_article

    if article.title == "Harbour story 3":
        time.sleep(3600)
    return extract_article(article, nlp)


def _hanging_workers(tmp_path: Path, fake_embedder, processes: int = 1,
                     flush_chunks: int = 4) -> tuple[Any, list[Any]]:
    from qa_service.positions import PositionsIndex, load_nlp
    from qa_service.positions.workers import ExtractionWorkers

    settings = Settings(index_dir=tmp_path / "idx")
    svc = build_service(settings, embedder=fake_embedder, positions=PositionsIndex(settings, load_nlp()))
    svc.ingester.workers_min_articles = 3
    svc.ingester.flush_chunks = flush_chunks  # 4: several commits, articles are submitted while a restart happens
    svc.ingester.article_time_limit_s = 2.0
    made: list[ExtractionWorkers] = []

    def factory() -> ExtractionWorkers:
        made.append(ExtractionWorkers(svc.positions, processes, extract=_hang_on_story_3))
        return made[-1]

    svc.ingester.article_workers = factory
    return svc, made


def _check_story_3_alone_failed(svc: Any, report: Any) -> None:
    (where, why), = report.failed
    assert where.endswith("a03.txt") and "took longer than the 2 s allowed per article" in why
    assert "not indexed" in why
    assert len(report.added) == 7 and "harbour-story-3" not in svc.store.article_records()
    chunks = svc.store.all_chunks(include_documents=False)["metadatas"]
    assert {m["article_id"] for m in chunks} == set(report.added)
    # Those before it and those queued behind it on the killed worker all have their positions.
    assert {p.article_id for p in svc.positions.positions("Mark Rutte")} == set(report.added)


@pytest.mark.timeout(180)
# Two processes and one commit: all are submitted at once and the others finish beside the stuck one,
# so the restart has none to resend and no fresh pool is running when they are stored.
@pytest.mark.parametrize(("processes", "flush_chunks"), [(1, 4), (2, 10_000)])
def test_a_worker_stuck_past_its_time_limit_is_killed_and_the_rest_go_to_a_fresh_one(tmp_path, fake_embedder,
                                                                                      processes, flush_chunks):
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    svc, made = _hanging_workers(tmp_path, fake_embedder, processes, flush_chunks)
    report = svc.ingest([_write(tmp_path / "c", 8)])  # returns, though story 3 sleeps for an hour
    _check_story_3_alone_failed(svc, report)
    (workers,) = made
    assert set(workers.seconds) == set(report.added)  # all extracted in a worker, none here
    assert {p.pid for p in multiprocessing.active_children()} <= before  # the stuck one was killed


@pytest.mark.timeout(180)
def test_when_no_fresh_worker_starts_the_ingest_extracts_the_rest_itself(tmp_path, fake_embedder, monkeypatch):
    import multiprocessing

    from qa_service.positions.workers import ExtractionWorkers

    before = {p.pid for p in multiprocessing.active_children()}
    start = ExtractionWorkers._start
    starts: list[int] = []

    def first_only(self: ExtractionWorkers) -> Any:
        starts.append(1)
        if len(starts) > 1:
            raise OSError("no more processes")
        return start(self)

    monkeypatch.setattr(ExtractionWorkers, "_start", first_only)
    svc, made = _hanging_workers(tmp_path, fake_embedder)
    extracted_here: list[str] = []
    extract = svc.positions.extract
    monkeypatch.setattr(svc.positions, "extract", lambda a: extracted_here.append(a.article_id) or extract(a))
    report = svc.ingest([_write(tmp_path / "c", 8)])
    _check_story_3_alone_failed(svc, report)
    assert len(starts) == 2  # the restart was tried
    assert extracted_here and {f"harbour-story-{i}" for i in (4, 5, 6, 7)} <= set(extracted_here)
    assert {p.pid for p in multiprocessing.active_children()} <= before


def _hang_at_start(extract: Any) -> None:
    """A pool initializer that never finishes, as a worker stuck loading its pipeline would."""
    import time

    time.sleep(3600)


@pytest.mark.timeout(180)
def test_a_worker_that_never_finishes_starting_is_given_up_on(tmp_path, fake_embedder, monkeypatch):
    """The wait for the pool's start (spaCy's load) is bounded: past it the pool is killed and the
    ingest extracts every article itself, each with its positions."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from qa_service.positions import workers

    before = {p.pid for p in multiprocessing.active_children()}
    monkeypatch.setattr(workers, "POOL_START_LIMIT_S", 3.0, raising=False)
    monkeypatch.setattr(workers.ExtractionWorkers, "_start", lambda self: ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=_hang_at_start, initargs=(None,)))
    svc, made = _hanging_workers(tmp_path, fake_embedder)
    extracted_here: list[str] = []
    extract = svc.positions.extract
    monkeypatch.setattr(svc.positions, "extract", lambda a: extracted_here.append(a.article_id) or extract(a))
    report = svc.ingest([_write(tmp_path / "c", 3)])  # (story 3, the one that hangs, is not among them)
    assert len(report.added) == 3 and not report.failed and len(made) == 1  # the ingest used workers
    assert sorted(extracted_here) == sorted(report.added)  # every one here, none in a worker
    assert {p.article_id for p in svc.positions.positions("Mark Rutte")} == set(report.added)
    assert {p.pid for p in multiprocessing.active_children()} <= before  # the stuck pool was killed


def _feed(n: int, tag: str) -> bytes:
    import json

    return "".join(json.dumps({"id": f"{tag}{i}", "title": f"Harbour story {tag}{i}",
                               "body": f"Mark Rutte said on Monday that harbour plan {tag}{i} must be funded."}) + "\n"
                   for i in range(n)).encode()


def test_an_upload_job_derives_in_workers_and_a_direct_upload_in_this_thread(tmp_path, fake_embedder):
    # In the server's process spaCy's parse holds the GIL every query needs (bench/search_during_upload.py);
    # a direct upload's caller waits, and a worker takes seconds to start.
    svc, made = _svc(tmp_path, fake_embedder, lambda article: "entries")
    here: list[str] = []
    svc.ingester.on_article = lambda article: here.append(article.article_id)
    direct = svc.ingest_bytes("a.jsonl", _feed(6, "a"))
    assert len(direct.added) == 6 and sorted(here) == sorted(direct.added) and not made

    job = svc.jobs.submit("b.jsonl", _feed(6, "b"))
    deadline = time.monotonic() + 60
    while svc.jobs.get(job.job_id).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    done = svc.jobs.get(job.job_id)
    assert done.status == "done", done
    (workers,) = made
    assert workers.closed and len(workers.finished) == 6 and len(here) == 6  # none derived here
