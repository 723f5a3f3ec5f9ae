"""Conversations, Slack feedback, Slack event ids and upload jobs shared by replicas: each
test opens two engines on one database (two replicas), on SQLite and a real PostgreSQL."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from qa_service.api.routes.jobs import job_body
from qa_service.conversations import ConversationStore
from qa_service.database.engine import make_engine
from qa_service.database.migrate import upgrade
from qa_service.errors import InvalidInputError, NotFoundError
from qa_service.ingest import IngestProgress, IngestResult, ProgressHook
from qa_service.jobs import IngestJobs, Job
from qa_service.models import Answer, Citation
from qa_service.service_types import IngestReport
from qa_service.slack.dedupe import SeenEvents
from qa_service.slack.feedback import FeedbackStore

Replicas = Callable[[], Engine]


@pytest.fixture(params=["sqlite", "postgresql"])
def replica(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Replicas]:
    """Each call: a new engine (as another replica process would have) on one shared database."""
    url = (f"sqlite:///{tmp_path / 'state.sqlite3'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    engines: list[Engine] = []

    def make() -> Engine:
        engine = make_engine(url)
        upgrade(engine)  # every replica runs it at start: the second finds nothing to do
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


# -- conversations -------------------------------------------------------------------------------


def test_a_conversation_started_on_one_replica_continues_on_another(replica: Replicas) -> None:
    a, b = ConversationStore(replica()), ConversationStore(replica())
    cid = a.new()
    a.append(cid, "user", "Who pledged missiles?")
    assert b.exists(cid) and b.history(cid) == [{"role": "user", "content": "Who pledged missiles?"}]
    b.append(cid, "assistant", "Germany [1].")
    assert b.attach_answer(cid, {"answer": "Germany [1].", "citations": []}) == 2
    b.append(cid, "user", "How many?", standalone_question="How many missiles did Germany pledge?")
    transcript = a.transcript(cid)
    assert [t["seq"] for t in transcript] == [1, 2, 3]
    assert transcript[1]["answer"]["answer"] == "Germany [1]."
    assert transcript[2]["standalone_question"] == "How many missiles did Germany pledge?"
    assert [(s.id, s.title, s.turns) for s in a.recent()] == [(cid, "Who pledged missiles?", 3)]
    assert a.summary(cid).turns == 3
    b.delete(cid)
    assert not a.exists(cid)
    with pytest.raises(NotFoundError):
        a.append(cid, "user", "still there?")


def test_concurrent_turns_from_two_replicas_get_distinct_seqs(replica: Replicas) -> None:
    stores = [ConversationStore(replica(), max_turns=1000), ConversationStore(replica(), max_turns=1000)]
    cid = stores[0].new()
    errors: list[BaseException] = []

    def talk(store: ConversationStore, who: int) -> None:
        try:
            for i in range(10):
                store.append(cid, "user", f"question {who}.{i}")
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(stores[n % 2], n)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    turns = stores[1].transcript(cid)
    assert [t["seq"] for t in turns] == list(range(1, 61))
    assert sorted(t["content"] for t in turns) == sorted(f"question {n}.{i}" for n in range(6) for i in range(10))


def test_eviction_across_replicas_keeps_the_newest(replica: Replicas) -> None:
    a, b = ConversationStore(replica(), max_conversations=3), ConversationStore(replica(), max_conversations=3)
    made = []
    for store in (a, b, a, b, a):
        made.append(store.new())
        time.sleep(0.01)  # distinct `updated` times
    assert [a.exists(c) for c in made] == [False, False, True, True, True]


# -- Slack feedback and event ids --------------------------------------------------------------------


def test_votes_through_two_replicas_land_in_one_table(replica: Replicas) -> None:
    a, b = FeedbackStore(replica()), FeedbackStore(replica())
    citation = Citation(marker=1, article_id="x", paragraph_id="x:p1", title="X", paragraph_text="It was X.",
                        quote="It was X", start=0, end=8)
    good = a.record_answer(Answer(question="Q1?", answer="It was X [1].", abstained=False, citations=[citation]),
                           channel="C1", user="U0")
    bad = b.record_answer(Answer(question="Q2?", answer="No idea.", abstained=True))
    assert b.record_feedback(good, "U1", "not_helpful")
    assert a.record_feedback(good, "U1", "helpful")  # the same user changes the vote on another replica
    assert a.record_feedback(good, "U2", "helpful")
    assert b.record_feedback(bad, "U1", "not_helpful")
    assert not a.record_feedback("nope", "U1", "helpful")

    rows = b.feedback_rows()
    assert sorted((r["answer_id"], r["user"], r["rating"]) for r in rows) == sorted(
        [(good, "U1", "helpful"), (good, "U2", "helpful"), (bad, "U1", "not_helpful")])
    assert {r["abstained"] for r in rows} == {0, 1} and rows[0]["citations"][0]["quote"] == "It was X"
    out = io.StringIO()
    assert a.export_jsonl(out) == 2
    lines = {line["id"]: line for line in map(json.loads, out.getvalue().splitlines())}
    assert lines[f"slack-{good}"]["votes"] == {"helpful": 2, "not_helpful": 0}
    assert lines[f"slack-{good}"]["answers"] == ["It was X."]
    assert lines[f"slack-{bad}"]["feedback"] == "not_helpful" and lines[f"slack-{bad}"]["answers"] == []


def test_an_event_seen_by_one_replica_is_dropped_by_the_other(replica: Replicas) -> None:
    a, b = SeenEvents(replica(), ttl_s=0.3, prune_every=1), SeenEvents(replica(), ttl_s=0.3)
    assert a.first_time("E1") and not b.first_time("E1") and not a.first_time("E1")
    time.sleep(0.35)
    assert b.first_time("E1")  # expired: a new delivery is answered again, once
    assert not a.first_time("E1")


def test_the_same_event_from_eight_threads_wins_once(replica: Replicas) -> None:
    engines = [replica(), replica()]
    stores = [SeenEvents(e) for e in engines]

    def deliver(store: SeenEvents, event_id: str, start: threading.Barrier, wins: list[bool]) -> None:
        start.wait(timeout=30)  # all eight send at once
        wins.append(store.first_time(event_id))

    for round_ in range(10):
        event_id = f"Ev{round_}"
        start = threading.Barrier(8)
        wins: list[bool] = []
        threads = [threading.Thread(target=deliver, args=(stores[n % 2], event_id, start, wins))
                   for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(wins) == 8 and wins.count(True) == 1, (event_id, wins)


# -- upload jobs ---------------------------------------------------------------------------------


def _never(name: str, data: bytes, replace: bool, progress: ProgressHook) -> IngestReport:
    raise AssertionError("this replica runs no job")


def _wait(jobs: IngestJobs, job_id: str, status: str, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job.status == status:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} is {jobs.get(job_id).status}, not {status}, after {timeout}s")


def test_submit_returns_the_job_as_accepted_even_when_the_worker_finishes_it_at_once(tmp_path: Path) -> None:
    # The 202 reports what submit returns; a worker that starts the job first must not change it
    # (a fresh-clone CI run once answered "running" for a job just accepted).
    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    upgrade(engine)
    jobs = IngestJobs(lambda name, data, replace, progress: IngestReport(added=["a1"]), engine)
    accepted = jobs.submit("f.txt", b"x")
    assert _wait(jobs, accepted.job_id, "done").result == IngestReport(added=["a1"])
    assert accepted.status == "queued" and accepted.started is None


def test_a_job_accepted_by_one_replica_is_answered_by_the_other(replica: Replicas) -> None:
    release = threading.Event()

    def ingest(name: str, data: bytes, replace: bool, progress: ProgressHook) -> IngestReport:
        progress(IngestProgress(articles_done=1, articles_total=3, chunks_done=2, chunks_total=4))
        assert release.wait(30)
        return IngestResult(added=["a1"], unchanged=["a2"], failed=[("f.jsonl:3", "not JSON")],
                            conflicts=[("f.jsonl:2", "a3 differs; use replace=true")], paragraphs=5, chunks=6,
                            seconds=0.5)

    here = IngestJobs(ingest, replica(), heartbeat_s=0.1)
    there = IngestJobs(_never, replica())
    job = here.submit("f.jsonl", b"x" * 100, replace=True)
    running = _wait(there, job.job_id, "running")
    deadline = time.monotonic() + 10
    while there.get(job.job_id).progress.articles_done == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the heartbeat carries the progress over
    assert there.get(job.job_id).progress == IngestProgress(1, 3, 2, 4)
    assert running.filename == "f.jsonl" and running.replace is True and running.size_bytes == 100
    release.set()
    _wait(here, job.job_id, "done")
    remote = _wait(there, job.job_id, "done")
    assert isinstance(remote.result, IngestResult) and remote.result.conflicts == [("f.jsonl:2",
                                                                                     "a3 differs; use replace=true")]
    assert job_body(remote) == job_body(here.get(job.job_id))  # GET /api/jobs/{id} answers the same anywhere
    with pytest.raises(NotFoundError):
        there.get("0123456789abcdef")


@pytest.mark.parametrize("error, status, detail", [
    (InvalidInputError("could not read f.jsonl: line 1 is not JSON"), 422, "could not read f.jsonl"),
    (RuntimeError("a secret path /srv/x"), 500, "internal error"),
])
def test_a_failed_job_reads_the_same_on_every_replica(replica: Replicas, error: Exception, status: int,
                                                      detail: str) -> None:
    def ingest(name: str, data: bytes, replace: bool, progress: ProgressHook) -> IngestReport:
        raise error

    here, there = IngestJobs(ingest, replica()), IngestJobs(_never, replica())
    job = here.submit("f.jsonl", b"{")
    local = _wait(here, job.job_id, "failed")
    remote = _wait(there, job.job_id, "failed")
    body = job_body(remote)
    assert body == job_body(local)
    assert body["error"]["status"] == status and body["error"]["detail"].startswith(detail)


def test_a_job_whose_replica_stopped_is_reported_failed(replica: Replicas) -> None:
    release = threading.Event()

    def ingest(name: str, data: bytes, replace: bool, progress: ProgressHook) -> IngestReport:
        assert release.wait(30)
        return IngestReport(added=["a1"])

    # A replica whose heartbeats stop (as when its process is killed) while the job runs.
    dead = IngestJobs(ingest, replica(), heartbeat_s=3600)
    there = IngestJobs(_never, replica(), stale_after_s=0.5)
    job = dead.submit("big.jsonl", b"x" * 10)
    _wait(there, job.job_id, "running")
    lost = _wait(there, job.job_id, "failed", timeout=10)
    body = job_body(lost)
    assert body["error"]["detail"] == "the replica running this job stopped; upload the file again"
    assert body["finished"] is not None and "result" not in body
    # Only reported, never written: should that process come back and finish, its result stands.
    release.set()
    assert _wait(there, job.job_id, "done").result == IngestReport(added=["a1"])
