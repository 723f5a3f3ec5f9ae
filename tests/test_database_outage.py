"""The service database (PostgreSQL) going away and coming back (issue 14: readiness reflects
Chroma and the database). A real PostgreSQL server of this test's own, stopped and restarted
under the real app with the real embedding model and embedded Chroma.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED
from fastapi.testclient import TestClient

from qa_service.api.app import create_app
from qa_service.config import Settings
from qa_service.service import build_service
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

KEY = "outage-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="qa-pg-outage-"))
    pg = PostgresServer(root)
    yield pg
    pg.stop()


def wait_ready(client: TestClient, ready: bool, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get("/readyz")
        if (r.status_code == 200) == ready:
            return r.json()
        assert time.monotonic() < deadline, f"/readyz still {r.status_code}: {r.text}"
        time.sleep(0.3)


def assert_unavailable(r: Any) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert int(r.headers["retry-after"]) > 0
    assert "service database" in r.json()["detail"], r.text


def test_database_down_is_503_and_not_ready_then_recovers(server: PostgresServer, tmp_path: Path,
                                                           embedder: Any) -> None:
    url = server.create_database("outage")
    settings = Settings(index_dir=tmp_path / "index", database_url=url, api_key=KEY, positions_enabled=False)
    service = build_service(settings, embedder=embedder)
    service.ingest([SEED])
    with TestClient(create_app(settings, service)) as client:
        first = client.post("/api/chat", json={"message": "What is Rutte's position on peace talks?"}, headers=AUTH)
        assert first.status_code == 200, first.text
        cid = first.json()["conversation_id"]

        server.stop()
        body = wait_ready(client, ready=False)
        assert "service database" in body["detail"], body
        assert_unavailable(client.post("/api/chat", headers=AUTH, json={
            "message": "And what did the Kremlin say?", "conversation_id": cid}))
        assert_unavailable(client.get(f"/api/conversations/{cid}", headers=AUTH))

        server.start()
        wait_ready(client, ready=True)  # pooled connections to the old server are replaced, not reused
        follow = client.post("/api/chat", headers=AUTH, json={
            "message": "And what did the Kremlin say?", "conversation_id": cid})
        assert follow.status_code == 200, follow.text
        turns = client.get(f"/api/conversations/{cid}", headers=AUTH).json()["turns"]
        assert len(turns) == 4  # nothing written before the outage was lost


def test_replica_starts_not_ready_while_the_database_is_down(server: PostgresServer, tmp_path: Path,
                                                            embedder: Any) -> None:
    url = server.create_database("late")
    server.stop()
    # freeze_heap off: the app runs inside pytest's process, whose heap must stay collectable.
    settings = Settings(index_dir=tmp_path / "index", database_url=url, api_key=KEY, positions_enabled=False,
                        freeze_heap=False)
    app = create_app(settings, build=lambda s: build_service(s, embedder=embedder))
    with TestClient(app) as client:
        body = wait_ready(client, ready=False)
        assert "service database" in body["detail"], body
        assert_unavailable(client.post("/api/chat", json={"message": "Who is Rutte?"}, headers=AUTH))
        server.start()
        wait_ready(client, ready=True, timeout=90)  # it becomes ready by itself, migrations included
        assert client.post("/api/chat", json={"message": "Who is Rutte?"}, headers=AUTH).status_code == 200
