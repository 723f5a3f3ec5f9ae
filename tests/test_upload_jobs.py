"""Background ingest jobs for large uploads (202 + GET /api/jobs/{id}) over a real server,
the Library page following such a job, and the per-article limits Settings give the ingester."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer

from qa_service.config import Settings
from qa_service.service import build_service

ROOT = Path(__file__).resolve().parent.parent
KEY = "jobs-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ASYNC_BYTES = 3000  # the server's threshold in these tests: the feeds below are larger, single files smaller
CHROMIUM = Path("/usr/bin/chromium")


def feed(n: int, tag: str, *, start: int = 0, changed: int | None = None) -> bytes:
    lines = []
    for i in range(start, start + n):
        extra = " A late correction changed this sentence." if i == changed else ""
        lines.append(json.dumps({
            "id": f"{tag}-{i}", "title": f"Harbour council report {tag} {i}",
            "body": (f"The harbour council of town {tag} {i} approved a budget of {i + 3} million euros.{extra}\n\n"
                     f"Residents of town {tag} {i} said the ferry terminal plan would take until {2030 + i % 9}."),
        }))
    return ("\n".join(lines) + "\n").encode()


def post(url: str, name: str, data: bytes, **params: str) -> httpx.Response:
    return httpx.post(f"{url}/api/articles", headers=AUTH, params=params, timeout=120,
                      files={"file": (name, data, "application/octet-stream")})


def wait_job(url: str, job_id: str, timeout: float = 240.0) -> tuple[dict[str, Any], list[str]]:
    """The finished job, and every status seen on the way (a generous bound catches a hang)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{url}/api/jobs/{job_id}", headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        job = r.json()
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in ("done", "failed"):
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {seen[-1:]} after {timeout}s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    index = tmp_path_factory.mktemp("jobs-index")
    live = LiveServer({"QA_INDEX_DIR": str(index), "QA_API_KEY": KEY, "QA_GENERATOR": "extractive",
                       "QA_POSITIONS_ENABLED": "false", "QA_ASYNC_UPLOAD_BYTES": str(ASYNC_BYTES)},
                      index.parent / "jobs-server.log")
    try:
        live.wait("/healthz", timeout=240)
        yield live
    finally:
        live.stop()


@pytest.mark.slow
def test_large_upload_is_a_job_with_progress_and_per_article_result(server: LiveServer) -> None:
    data = feed(40, "alpha")
    assert len(data) > ASYNC_BYTES
    r = post(server.url, "alpha.jsonl", data)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status"] == "queued" and r.headers["location"] == f"/api/jobs/{accepted['job_id']}"
    assert accepted["href"] == r.headers["location"]

    job, seen = wait_job(server.url, accepted["job_id"])
    assert job["status"] == "done", job
    assert set(seen) <= {"queued", "running", "done"}
    p = job["progress"]
    assert p["articles_done"] == p["articles_total"] == 40
    assert p["chunks_total"] >= 40 and p["chunks_done"] == p["chunks_total"]
    assert job["filename"] == "alpha.jsonl" and job["size_bytes"] == len(data)
    assert job["started"] and job["finished"] and "error" not in job
    outcomes = job["result"]["articles"]
    assert sorted(o["article_id"] for o in outcomes) == sorted(f"alpha-{i}" for i in range(40))
    assert {o["status"] for o in outcomes} == {"added"}

    # Committed and searchable, like a synchronous upload's articles.
    hits = httpx.get(f"{server.url}/api/search", headers=AUTH, params={"q": "harbour council town alpha 17"},
                     timeout=60).json()["results"]
    assert any(h["article_id"] == "alpha-17" for h in hits)
    library = httpx.get(f"{server.url}/api/library", headers=AUTH, timeout=60).json()
    assert {f"alpha-{i}" for i in range(40)} <= {a["article_id"] for a in library["articles"]}


@pytest.mark.slow
def test_job_reports_unchanged_conflict_and_replace_per_article(server: LiveServer) -> None:
    first, _ = wait_job(server.url, post(server.url, "beta.jsonl", feed(30, "beta")).json()["job_id"])
    assert first["status"] == "done"

    # Same feed, one article's text changed, no ?replace: that one is a conflict, the rest unchanged.
    r = post(server.url, "beta.jsonl", feed(30, "beta", changed=7))
    assert r.status_code == 202
    job, _ = wait_job(server.url, r.json()["job_id"])
    assert job["status"] == "done"
    by_status: dict[str, list[dict[str, str]]] = {}
    for o in job["result"]["articles"]:
        by_status.setdefault(o["status"], []).append(o)
    assert len(by_status["unchanged"]) == 29 and len(by_status["conflict"]) == 1
    assert "beta-7" in by_status["conflict"][0]["reason"] and "replace=true" in by_status["conflict"][0]["reason"]

    # With ?replace=true the changed article is updated.
    job, _ = wait_job(server.url, post(server.url, "beta.jsonl", feed(30, "beta", changed=7),
                                       replace="true").json()["job_id"])
    assert job["status"] == "done" and job["replace"] is True
    assert [o["article_id"] for o in job["result"]["articles"] if o["status"] == "updated"] == ["beta-7"]


@pytest.mark.slow
def test_job_where_nothing_goes_in_fails_with_the_status_a_direct_upload_gets(server: LiveServer) -> None:
    wait_job(server.url, post(server.url, "gamma.jsonl", feed(25, "gamma")).json()["job_id"])
    every_one_changed = b"".join(feed(1, "gamma", start=i, changed=i) for i in range(25))
    job, _ = wait_job(server.url, post(server.url, "gamma.jsonl", every_one_changed).json()["job_id"])
    assert job["status"] == "failed"
    assert job["error"]["status"] == 409 and "nothing ingested from gamma.jsonl" in job["error"]["detail"]
    assert {o["status"] for o in job["result"]["articles"]} == {"conflict"}

    garbage = b"this is not json\n" * 400
    job, _ = wait_job(server.url, post(server.url, "junk.jsonl", garbage).json()["job_id"])
    assert job["status"] == "failed" and job["error"]["status"] in (400, 422)
    assert "junk.jsonl" in job["error"]["detail"] and "Traceback" not in json.dumps(job)


@pytest.mark.slow
def test_small_upload_is_answered_directly_and_unknown_jobs_are_404(server: LiveServer) -> None:
    small = feed(1, "delta")
    assert len(small) < ASYNC_BYTES
    r = post(server.url, "delta.jsonl", small)
    assert r.status_code == 201 and r.json()["articles"] == [{"article_id": "delta-0", "status": "added"}]

    r = httpx.get(f"{server.url}/api/jobs/0123456789abcdef0123456789abcdef", headers=AUTH, timeout=30)
    assert r.status_code == 404 and "no ingest job" in r.json()["detail"]
    assert httpx.get(f"{server.url}/api/jobs/whatever", timeout=30).status_code == 401


@pytest.mark.slow
def test_library_page_follows_a_job_to_its_report(server: LiveServer, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    big = tmp_path / "epsilon.jsonl"
    big.write_bytes(feed(30, "epsilon"))
    assert big.stat().st_size > ASYNC_BYTES
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
        try:
            context = browser.new_context()
            context.add_init_script(f"localStorage.setItem('qa_api_key', {KEY!r})")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "/library")
            page.wait_for_selector("#status[data-loaded]", timeout=60_000)
            page.set_input_files("#files", [str(big)])
            page.wait_for_selector("#uploads .upload.done, #uploads .upload.failed", timeout=240_000)
            item = page.locator("#uploads .upload", has_text="epsilon.jsonl")
            assert "done" in (item.get_attribute("class") or ""), item.text_content()
            assert "added 30 articles" in (item.text_content() or "")
            page.wait_for_selector("#article-rows tr:has-text('Harbour council report epsilon 29')")
            assert errors == []
        finally:
            browser.close()


# ---------------------------------------------------------------------------- per-article limits from Settings


def test_build_service_gives_the_ingester_the_configured_limits(tmp_path: Path, fake_embedder: Any) -> None:
    settings = Settings(index_dir=tmp_path / "idx", positions_enabled=False, max_article_chars=1234,
                        article_time_limit_s=7.5, ingest_embed_batch=5)
    ingester = build_service(settings, embedder=fake_embedder).ingester
    assert (ingester.max_article_chars, ingester.article_time_limit_s, ingester.embed_batch) == (1234, 7.5, 5)


@pytest.mark.slow
def test_qa_ingest_with_a_small_max_article_chars_fails_the_oversized_file_alone(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "big.txt").write_text("Big harbour story\n\n" + "The long body of the big story goes on. " * 200)
    for name in ("ferry", "tram"):
        (corpus / f"{name}.txt").write_text(f"Small {name} story\n\nThe {name} line opened on Monday.\n")
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx"), "QA_POSITIONS_ENABLED": "false",
           "QA_MAX_ARTICLE_CHARS": "2000"}
    done = subprocess.run([str(Path(sys.executable).parent / "qa"), "ingest", "--json", str(corpus)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # some input failed
    summary = json.loads(done.stdout)
    assert summary["added"] == 2 and summary["failed"] == 1
    (failure,) = summary["failures"]
    assert failure["where"].endswith("big.txt")
    assert "article too large" in failure["reason"] and "limit 2,000" in failure["reason"]
    assert "QA_MAX_ARTICLE_CHARS" in failure["reason"]


def test_pauses_for_queries_stretch_an_article_by_at_most_its_own_limit() -> None:
    # Under a steady stream of queries every check pauses; the article must still time out
    # (after its limit plus at most the same again), not be stretched for ever.
    from qa_service.loaders.common import TimeLimitExceeded, check_time, pausing, time_limit

    def busy_queries() -> float:
        time.sleep(0.05)
        return 0.05

    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), time_limit(0.3), pausing(busy_queries):
        for _ in range(200):  # 10 s of pauses: far beyond limit + credit
            check_time()
    assert time.monotonic() - started < 5.0


def test_the_job_worker_runs_at_a_lower_cpu_priority_and_leaves_the_caller_alone(tmp_path: Path) -> None:
    # Queries get the CPU first while a large upload is ingested (bench/search_during_upload.py).
    import threading

    from qa_service.database.engine import make_engine
    from qa_service.database.migrate import upgrade
    from qa_service.jobs import IngestJobs
    from qa_service.service_types import IngestReport

    def nice_here() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    engine = make_engine(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    upgrade(engine)
    seen: list[int] = []
    caller = nice_here()

    def ingest(name: str, data: bytes, replace: bool, progress: Any) -> IngestReport:
        seen.append(nice_here())
        return IngestReport(added=["a1"])

    jobs = IngestJobs(ingest, engine, nice=15)
    job = jobs.submit("f.txt", b"x")
    deadline = time.monotonic() + 30
    while jobs.get(job.job_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen and seen[0] >= 15
    assert nice_here() == caller
    assert Settings().ingest_job_nice == 19  # the default a served process uses
