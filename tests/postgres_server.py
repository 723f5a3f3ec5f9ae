"""A real PostgreSQL server for tests: Debian's `postgresql` binaries (installed by `make
test-deps`), a fresh cluster under a temp dir, on a free loopback port, stopped afterwards."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, root: Path) -> None:
        bindir = _bin_dir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed: `make test-deps` installs Debian's postgresql")
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        # initdb refuses to run as root: run the server as Debian's `postgres` user then.
        self._as: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "qa", "--auth=trust", "-E", "UTF8", "--no-sync")
        self.start()
        self.url = f"postgresql+psycopg://qa@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (or restart after stop()) on the same port and data: the same server coming back."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "server.log"), "start",
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, str(self.bindir / tool), *args], check=True, capture_output=True,
                       timeout=120)

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its SQLAlchemy URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "qa", name)
        return f"postgresql+psycopg://qa@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
                       capture_output=True, timeout=60)


_counter = 0


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    server = PostgresServer(root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh database per test."""
    global _counter
    _counter += 1
    return postgres.create_database(f"t{os.getpid()}_{_counter}_{int(time.time() * 1000) % 100000}")
