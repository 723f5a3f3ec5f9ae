"""A real `qa serve` on a free loopback port for the benchmarks: started, awaited, stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    pid: int
    startup_s: float  # from spawn to the first ready /readyz


@contextmanager
def serve(index_dir: Path, env: dict[str, str], *, extra_args: tuple[str, ...] = (), api_key: str = "",
          startup_timeout: float = 600.0) -> Iterator[Served]:
    """`qa serve` over `index_dir` with `env` added to this process's environment; its log goes
    to index_dir/server.log. Raises SystemExit if it exits or is not ready in time."""
    index_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(index_dir / "server.log", "w")
    qa = str(Path(sys.executable).parent / "qa")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    started = time.perf_counter()
    proc = subprocess.Popen([qa, "serve", "--host", "127.0.0.1", "--port", str(port), *extra_args],
                            env={**os.environ, "QA_INDEX_DIR": str(index_dir), "QA_API_KEY": api_key, **env},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited: see {log.name}")
            try:
                if httpx.get(url + "/readyz", headers=headers, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server not ready after {startup_timeout}s: see {log.name}")
            time.sleep(0.2)
        yield Served(url=url, pid=proc.pid, startup_s=time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
