"""Chroma unreachable (issue 15, point 7): a real `chroma run` server that we start, stop and
restart under a real `qa serve` and the real CLI.

HTTP routes answer 503 with Retry-After and a JSON message, SSE streams end with an error
event carrying 503, the CLI prints one line and exits 75, and `qa serve` starts not ready
and becomes ready by itself once Chroma answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, SEED, free_port
from live_server import LiveServer
from test_api import parse_sse

from qa_service.cli import EXIT_UNAVAILABLE
from tests.chroma_server import wait_heartbeat

pytestmark = pytest.mark.slow

KEY = "dependency-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QA = str(Path(sys.executable).with_name("qa"))


class ChromaServer:
    """`chroma run` on a fixed port and data dir, so a restart is the same server coming back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        log = open(self.path / "server.log", "a")
        self.proc = subprocess.Popen([exe, "run", "--path", str(self.path / "data"), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        wait_heartbeat(self.url, self.path / "server.log")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path)
    yield server  # not started: each test decides when Chroma is up
    server.stop()


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.request.url, r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/json")
    assert "Chroma" in r.json()["detail"], r.text


def wait_status(url: str, status: int, timeout: float = 60) -> float:
    """Seconds until GET url answers `status`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(url, timeout=5).status_code == status:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} never answered {status}")


def test_serve_starts_not_ready_answers_503_and_recovers(chroma: ChromaServer, tmp_path: Path) -> None:
    index = tmp_path / "index"
    server = LiveServer({"QA_INDEX_DIR": str(index), "QA_API_KEY": KEY, "QA_GENERATOR": "extractive",
                         "QA_CHROMA_URL": chroma.url, "QA_CHROMA_TIMEOUT_S": "3"}, tmp_path / "serve.log")
    try:
        # Chroma is down: the server still starts, alive but not ready.
        server.wait("/healthz", timeout=180)
        r = httpx.get(f"{server.url}/readyz", timeout=10)
        assert_unavailable(r)
        assert r.json()["ready"] is False
        assert_unavailable(httpx.get(f"{server.url}/api/search", params={"q": "NATO"}, headers=AUTH, timeout=10))

        # Chroma comes up: the server becomes ready by itself and works.
        chroma.start()
        wait_status(f"{server.url}/readyz", 200, timeout=180)
        r = httpx.post(f"{server.url}/api/articles", headers=AUTH, timeout=120,
                       files={"file": (SEED.name, SEED.read_bytes(), "text/plain")})
        assert r.status_code == 201, r.text
        article_id = r.json()["added"][0]
        assert httpx.get(f"{server.url}/api/search", params={"q": "Rutte"}, headers=AUTH, timeout=60).status_code == 200

        # Chroma goes away under a running server: every route that needs it says 503.
        chroma.stop()
        for method, path, kw in [
            ("GET", "/api/search", {"params": {"q": "Rutte peace talks"}}),
            ("POST", "/api/chat", {"json": {"message": "What did Rutte say about peace talks?"}}),
            ("GET", "/api/articles", {}),
            ("GET", f"/api/articles/{article_id}", {}),
            ("GET", "/api/library", {}),
            ("GET", "/api/outlets", {}),
            ("DELETE", f"/api/articles/{article_id}", {}),
            ("POST", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": "Who is Rutte?"}]}}),
        ]:
            assert_unavailable(httpx.request(method, server.url + path, headers=AUTH, timeout=60, **kw))
        r = httpx.post(f"{server.url}/api/articles", headers=AUTH, timeout=60,
                       files={"file": ("other.txt", b"A title\n\nA paragraph about glaciers.\n", "text/plain")})
        assert_unavailable(r)
        assert_unavailable(httpx.get(f"{server.url}/readyz", timeout=10))

        # Streams: a 503 before the stream starts, or an error event carrying 503 in it.
        with httpx.stream("POST", f"{server.url}/api/chat/stream", headers=AUTH, timeout=60,
                          json={"message": "What did Rutte say about peace talks?"}) as r:
            body = r.read().decode()
        if r.status_code == 200:
            events = parse_sse(body)
            assert events[-1][0] == "error" and events[-1][1]["status"] == 503, events
            assert "Chroma" in events[-1][1]["detail"]
        else:
            assert_unavailable(r)
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", headers=AUTH, timeout=60,
                          json={"stream": True, "messages": [{"role": "user", "content": "Who is Rutte?"}]}) as r:
            body = r.read().decode()
        if r.status_code == 200:
            errors = [d for _, d in parse_sse(body) if isinstance(d, dict) and "error" in d]
            assert errors and errors[0]["error"]["code"] == 503, body
        else:
            assert_unavailable(r)

        # Chroma is back: the same server recovers without a restart.
        chroma.start()
        wait_status(f"{server.url}/readyz", 200, timeout=60)
        r = httpx.get(f"{server.url}/api/search", params={"q": "Rutte peace talks"}, headers=AUTH, timeout=60)
        assert r.status_code == 200 and "Rutte" in r.json()["results"][0]["text"]

        # A hung Chroma (SIGSTOP: connections accepted, never answered) is a 503 after
        # QA_CHROMA_TIMEOUT_S, not a request stuck for ever; it recovers on SIGCONT.
        assert chroma.proc is not None
        chroma.proc.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            r = httpx.get(f"{server.url}/api/search", params={"q": "NATO summit"}, headers=AUTH, timeout=60)
            assert_unavailable(r)
            assert time.monotonic() - started < 30
        finally:
            chroma.proc.send_signal(signal.SIGCONT)
        r = httpx.get(f"{server.url}/api/search", params={"q": "NATO summit"}, headers=AUTH, timeout=60)
        assert r.status_code == 200, r.text
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
    finally:
        server.stop()


def run_qa(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QA, *args], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)


def test_cli_says_one_line_and_exits_75_while_chroma_is_down(chroma: ChromaServer, tmp_path: Path) -> None:
    env = {"QA_INDEX_DIR": str(tmp_path / "index"), "QA_CHROMA_URL": chroma.url}
    for args in (["stats"], ["search", "Rutte"], ["ask", "Who is Rutte?"], ["ingest", str(SEED)]):
        done = run_qa(args, env)
        assert done.returncode == EXIT_UNAVAILABLE, (args, done.returncode, done.stderr)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Chroma" in lines[0] and "Traceback" not in done.stderr, (args, done.stderr)
    chroma.start()
    done = run_qa(["stats"], env)
    assert done.returncode == 0, done.stderr
