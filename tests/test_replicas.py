"""Two `qa serve` replicas on one `chroma run` server and one PostgreSQL server (issue 14).

Everything is real: the Chroma server, a PostgreSQL cluster started under a temp dir,
two uvicorn processes (the `qa serve` entry point, each with its own index_dir for its
caches only), Slack Bolt with signed requests against the mock Slack Web API. The steps
share one cluster and run in file order: each builds on what the one before stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.database import open_database
from qa_service.slack.feedback import FeedbackStore
from tests.live_server import AUTH, KEY, ROOT, LiveServer
from tests.mock_slack_api import BOT_USER_ID, MockSlackAPI, event_body, mention_event, signed_headers
from tests.nginx_proxy import NginxProxy

pytestmark = pytest.mark.slow

SECRET = "replica-signing-secret"
SEED = ROOT / "data" / "articles" / "nato-ukraine-military-aid.txt"  # 3.8 kB: over the async bound below
COFFEE = ROOT / "data" / "articles" / "coffee-prices-brazil-frost.txt"  # 2.1 kB: ingested in the request


class Cluster:
    def __init__(self, root: Path, env: dict[str, str], slack: MockSlackAPI, database_url: str) -> None:
        self.root = root
        self.env = env
        self.slack = slack
        self.database_url = database_url
        self.replicas: dict[int, LiveServer] = {}
        self.state: dict[str, Any] = {}
        self.proxy: NginxProxy | None = None

    def start(self, n: int) -> LiveServer:
        # Each replica's own index_dir holds only caches (BM25); nothing it serves lives there.
        # A fresh directory per start: a replica started in place of a dead one begins empty.
        started = time.monotonic_ns()
        server = LiveServer({**self.env, "QA_INDEX_DIR": str(self.root / f"replica{n}-{started}")},
                            self.root / f"replica{n}-{started}.log")
        self.replicas[n] = server
        return server

    def url(self, n: int) -> str:
        return self.replicas[n].url


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, chroma_server: str, postgres: Any) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("replicas")
    database_url = postgres.create_database("replicas")
    with MockSlackAPI() as slack:
        env = {
            "QA_CHROMA_URL": chroma_server,
            "QA_DATABASE_URL": database_url,
            "QA_API_KEY": KEY,
            "QA_GENERATOR": "extractive",
            "QA_ASYNC_UPLOAD_BYTES": "3000",
            "QA_COLLECTION": "replicas",  # the Chroma server is shared with other tests
            "SLACK_BOT_TOKEN": "xoxb-replicas",
            "SLACK_SIGNING_SECRET": SECRET,
            "QA_SLACK_API_URL": slack.api_url,
            "QA_PUBLIC_URL": "https://qa.example",
        }
        c = Cluster(root, env, slack, database_url)
        # Both at once: the second must wait for the first's migration, not race it.
        servers = [c.start(1), c.start(2)]
        try:
            for s in servers:
                s.wait("/readyz", timeout=240)
            # deploy/nginx.conf in front of both, as deploy/compose.yaml runs it.
            proxy_dir = root / "nginx"
            proxy_dir.mkdir()
            c.proxy = NginxProxy(proxy_dir, {"api1": f"127.0.0.1:{servers[0].port}",
                                             "api2": f"127.0.0.1:{servers[1].port}"})
            yield c
        finally:
            if c.proxy is not None:
                c.proxy.stop()
            for s in c.replicas.values():
                if s.proc.poll() is None:
                    s.stop()


def chat(url: str, message: str, conversation_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    r = httpx.post(f"{url}/api/chat", json=body, headers=AUTH, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def upload(url: str, path: Path) -> httpx.Response:
    return httpx.post(f"{url}/api/articles", headers=AUTH, timeout=120,
                      files={"file": (path.name, path.read_bytes(), "text/plain")})


def wait_job(url: str, href: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(url + href, headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout}s"
        time.sleep(0.5)


def test_upload_through_one_replica_is_answered_with_positions_by_the_other(cluster: Cluster) -> None:
    r1, r2 = cluster.url(1), cluster.url(2)
    small = upload(r1, COFFEE)
    assert small.status_code == 201, small.text
    queued = upload(r1, SEED)
    assert queued.status_code == 202, queued.text
    job = wait_job(r2, queued.json()["href"])  # the job is followed through the replica that did not run it
    assert job["status"] == "done", job
    seed_id = next(a["article_id"] for a in httpx.get(f"{r2}/api/articles", headers=AUTH, timeout=30).json()
                   ["articles"] if "nato" in a["article_id"])
    cluster.state["seed_id"] = seed_id

    answer = chat(r2, "What did the Kremlin say about Ukraine joining NATO?")
    assert not answer["abstained"], answer
    assert any(c["article_id"] == seed_id and "Peskov" in c["quote"] for c in answer["citations"]), answer

    positions = httpx.get(f"{r2}/api/positions", params={"actor": "Rutte"}, headers=AUTH, timeout=30)
    assert positions.status_code == 200, positions.text
    rows = positions.json()["positions"]
    assert rows and all(p["article_id"] == seed_id for p in rows)
    timeline = httpx.get(f"{r2}/api/timeline", headers=AUTH, timeout=30).json()["events"]
    assert any(e["article_id"] == seed_id for e in timeline)


def test_conversation_started_on_one_continues_on_the_other(cluster: Cluster) -> None:
    first = chat(cluster.url(1), "What is Mark Rutte's position on peace talks?")
    assert not first["abstained"], first
    cid = first["conversation_id"]
    follow = chat(cluster.url(2), "And what about the Kremlin?", conversation_id=cid)
    assert follow["conversation_id"] == cid
    # Replica 2 read the first turn: the follow-up was made standalone from it.
    assert follow["standalone_question"] != follow["question"], follow["standalone_question"]
    assert not follow["abstained"] and any("Peskov" in c["quote"] or "Kremlin" in c["paragraph_text"]
                                           for c in follow["citations"]), follow
    transcript = httpx.get(f"{cluster.url(1)}/api/conversations/{cid}", headers=AUTH, timeout=30)
    assert transcript.status_code == 200, transcript.text
    turns = transcript.json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    cluster.state["cid"] = cid


def test_one_slack_event_delivered_to_both_replicas_posts_once(cluster: Cluster) -> None:
    slack = cluster.slack
    msg = slack.add_message("CREP", f"<@{BOT_USER_ID}> What is Rutte's position on peace talks?")
    body = event_body(mention_event(msg, "CREP"), event_id="EvReplicaRetry1")
    statuses: list[int] = []

    def deliver(n: int) -> None:  # Slack's retry reaching the other replica, at the same moment
        headers = {**signed_headers(SECRET, body), "X-Slack-Retry-Num": "1" if n == 2 else "0"}
        statuses.append(httpx.post(cluster.url(n) + "/slack/events", content=body, headers=headers,
                                   timeout=30).status_code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    reply = slack.wait_for("chat.postMessage", lambda a: a.get("thread_ts") == msg["ts"], timeout=120)[0]
    # Exactly one replica dropped it as already seen (its log says so), so no second answer is coming.
    deadline = time.monotonic() + 30
    while True:
        dropped = [n for n in (1, 2) if "ignoring already seen event EvReplicaRetry1"
                   in cluster.replicas[n].log_path.read_text()]
        if dropped or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(dropped) == 1, dropped
    assert len([a for a in slack.calls_to("chat.postMessage") if a.get("thread_ts") == msg["ts"]]) == 1
    assert len([a for a in slack.calls_to("reactions.add") if a.get("timestamp") == msg["ts"]]) == 1
    blocks = reply["blocks"] if isinstance(reply["blocks"], list) else json.loads(reply["blocks"])
    cluster.state["answer_id"] = next(e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
                                      if e["action_id"] == "qa_feedback_helpful")


def _vote(cluster: Cluster, n: int, user: str, action: str) -> None:
    payload = {
        "type": "block_actions", "user": {"id": user, "team_id": "T0000TEAM"}, "team": {"id": "T0000TEAM"},
        "api_app_id": "AQAAPP001", "channel": {"id": "CREP"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "CREP"},
        "response_url": cluster.slack.url + f"/response_url/vote-{user}", "trigger_id": "1.2",
        "actions": [{"type": "button", "action_id": action, "block_id": "qa_feedback",
                     "value": cluster.state["answer_id"], "action_ts": "1.3"}],
    }
    import urllib.parse

    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    assert httpx.post(cluster.url(n) + "/slack/events", content=body, headers=headers, timeout=30).status_code == 200
    cluster.slack.wait_for("response_url", lambda a: a.get("_path") == f"/response_url/vote-{user}"
                           and "recorded" in json.dumps(a), timeout=60)


def test_feedback_from_both_replicas_lands_in_one_table(cluster: Cluster) -> None:
    _vote(cluster, 1, "UVOTE1", "qa_feedback_helpful")
    _vote(cluster, 2, "UVOTE2", "qa_feedback_not_helpful")
    deadline = time.monotonic() + 30
    store = FeedbackStore(open_database(cluster.database_url))  # the database itself, not a replica
    while True:
        rows = {r["user"]: r["rating"] for r in store.feedback_rows() if r["answer_id"] == cluster.state["answer_id"]}
        if len(rows) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert rows == {"UVOTE1": "helpful", "UVOTE2": "not_helpful"}


def test_killing_a_replica_loses_nothing(cluster: Cluster) -> None:
    cluster.replicas[1].proc.kill()  # SIGKILL: no shutdown hook runs
    cluster.replicas[1].proc.wait(timeout=30)
    cluster.replicas[1].log.close()
    r2 = cluster.url(2)
    cid = cluster.state["cid"]
    more = chat(r2, "What did Zelensky acknowledge about reclaiming territory?", conversation_id=cid)
    assert more["conversation_id"] == cid and not more["abstained"], more
    assert len(httpx.get(f"{r2}/api/conversations/{cid}", headers=AUTH, timeout=30).json()["turns"]) == 6
    ids = {a["article_id"] for a in httpx.get(f"{r2}/api/articles", headers=AUTH, timeout=30).json()["articles"]}
    assert cluster.state["seed_id"] in ids and len(ids) == 2
    # Through the proxy, a dead replica costs no request: each goes to the live one.
    assert cluster.proxy is not None
    for _ in range(4):
        via = httpx.post(f"{cluster.proxy.url}/api/chat", headers=AUTH, timeout=120,
                         json={"message": "What did Blinken stress before Trump takes office?"})
        assert via.status_code == 200 and not via.json()["abstained"], via.text

    # A replica started in its place (empty caches) serves the same state.
    again = cluster.start(1)
    again.wait("/readyz", timeout=240)
    r1 = again.url
    turns = httpx.get(f"{r1}/api/conversations/{cid}", headers=AUTH, timeout=30).json()["turns"]
    assert len(turns) == 6
    rows = httpx.get(f"{r1}/api/positions", params={"actor": "Rutte"}, headers=AUTH, timeout=30).json()["positions"]
    assert rows and rows[0]["article_id"] == cluster.state["seed_id"]
    assert {r["user"] for r in FeedbackStore(open_database(cluster.database_url)).feedback_rows()} >= {
        "UVOTE1", "UVOTE2"}
    # No replica kept any state of its own: no database file in any replica's index_dir.
    assert not list(cluster.root.glob("replica*/**/*.sqlite3"))
