"""A real uvicorn server in a subprocess on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        # The real entry point (`qa serve` builds the service once, at start-up).
        cmd = [str(Path(sys.executable).parent / "qa"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
               *args]
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait(self, path: str = "/readyz", timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{path} not ready after {timeout}s: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


KEY = "integration-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SEED = ROOT / "data" / "articles" / "nato-ukraine-military-aid.txt"
XSS = ROOT / "tests" / "fixtures" / "articles" / "xss.html"


def upload(url: str, path: Path) -> dict:
    r = httpx.post(f"{url}/api/articles", headers=AUTH, timeout=120,
                   files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The running server and the ids of the articles it holds (shared by the browser test)."""
    index = tmp_path_factory.mktemp("index")
    server = LiveServer({"QA_INDEX_DIR": str(index), "QA_API_KEY": KEY, "QA_GENERATOR": "extractive"},
                        index.parent / "server.log")
    try:
        server.wait("/healthz", timeout=180)  # uvicorn serves only once the lifespan built the service
        seed = upload(server.url, SEED)
        xss = upload(server.url, XSS)
        ids = {"seed": (seed["added"] + seed["updated"] + seed["unchanged"])[0],
               "xss": (xss["added"] + xss["updated"] + xss["unchanged"])[0]}
        yield {"url": server.url, "key": KEY, "ids": ids, "server": server}
    finally:
        server.stop()
