"""The Slack bot over the REAL service (real embedder, Chroma, retrieval, answering chain)
with the seed article ingested, behind the real API app under uvicorn. A signed mention and
a follow-up in the same thread must come back threaded, with verified citations, and the
follow-up must reach the service with the first question as history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mock_slack_api import BOT_USER_ID, MockSlackAPI, event_body, mention_event, serve_app, signed_headers

from qa_service.config import PROJECT_ROOT, Settings
from qa_service.slack import mount_slack
from qa_service.slack.format import escape

pytestmark = pytest.mark.slow

SECRET = "integration-secret"
SEED = PROJECT_ROOT / "data" / "articles" / "nato-ukraine-military-aid.txt"


class Spy:
    """The real service, with each ask() call's arguments and result recorded."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, Any], Any]] = []
        self._lock = threading.Lock()

    def ask(self, question: str, **kwargs: Any) -> Any:
        answer = self.inner.ask(question, **kwargs)
        with self._lock:
            self.calls.append((question, kwargs, answer))
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, MockSlackAPI, Spy]]:
    from qa_service.service import build_service

    index_dir: Path = tmp_path_factory.mktemp("slack-real")
    with MockSlackAPI() as mock:
        settings = Settings(
            index_dir=index_dir,
            slack_bot_token="xoxb-int",
            slack_signing_secret=SECRET,
            slack_api_url=mock.api_url,
            public_url="https://qa.example",
        )
        service = build_service(settings)
        report = service.ingest([SEED])
        assert report.added and not report.failed
        spy = Spy(service)
        try:
            from qa_service.api.app import create_app

            app = create_app(settings, service=spy)  # type: ignore[arg-type]
        except ImportError:  # the API package is optional for this test
            from fastapi import FastAPI

            app = FastAPI()
        if not any(getattr(r, "path", None) == "/slack/events" for r in app.routes):
            mount_slack(app, settings, spy)  # type: ignore[arg-type]
        with serve_app(app) as url:
            yield url, mock, spy
        close = getattr(service, "close", None)
        if callable(close):
            close()


def mention(
    url: str, mock: MockSlackAPI, text: str, *, thread_ts: str | None = None, event_id: str
) -> dict[str, Any]:
    import httpx

    msg = mock.add_message("CINT", f"<@{BOT_USER_ID}> {text}", thread_ts=thread_ts)
    body = event_body(mention_event(msg, "CINT"), event_id=event_id)
    resp = httpx.post(url + "/slack/events", content=body, headers=signed_headers(SECRET, body), timeout=10)
    assert resp.status_code == 200
    return msg


def assert_verified(reply: dict[str, Any], answer: Any) -> None:
    blocks = reply["blocks"] if isinstance(reply["blocks"], str) else json.dumps(reply["blocks"])
    blocks = json.loads(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    assert answer.citations, f"expected a cited answer, got: {answer.answer!r}"
    for c in answer.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote
        assert escape(c.quote)[:200] in text
        assert f"https://qa.example/articles/{c.article_id}#{c.paragraph_id}" in text


def test_thread_reply_and_follow_up_with_real_service(setup) -> None:
    url, mock, spy = setup
    first = mention(url, mock, "What is Mark Rutte's position on peace talks?", event_id="EvINT1")
    reply1 = mock.wait_for("chat.postMessage", lambda a: a.get("thread_ts") == first["ts"], timeout=60)[0]
    q1, kw1, answer1 = spy.calls[0]
    assert q1 == "What is Mark Rutte's position on peace talks?" and kw1["history"] == []
    assert not answer1.abstained
    assert_verified(reply1, answer1)
    assert any("Rutte" in c.paragraph_text for c in answer1.citations)

    mention(url, mock, "And what did the Kremlin say?", thread_ts=first["ts"], event_id="EvINT2")
    reply2 = mock.wait_for(
        "chat.postMessage", lambda a: a.get("thread_ts") == first["ts"], count=2, timeout=60
    )[1]
    q2, kw2, answer2 = spy.calls[1]
    assert q2 == "And what did the Kremlin say?"
    assert kw2["history"][0] == {"role": "user", "content": "What is Mark Rutte's position on peace talks?"}
    assert kw2["history"][1]["role"] == "assistant" and kw2["history"][1]["content"] == reply1["text"]
    assert not answer2.abstained
    assert_verified(reply2, answer2)
    assert any("Kremlin" in c.paragraph_text for c in answer2.citations)
    assert len(mock.calls_to("chat.postMessage")) == 2
