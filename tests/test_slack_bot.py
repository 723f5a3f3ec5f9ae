"""Slack bot against a real FastAPI app under uvicorn, real slack_bolt, signed requests and a
mock Web API on loopback. The QA service is a fake here (fast); see test_slack_integration.py
for the real one."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mock_slack_api import (
    BOT_ID,
    BOT_USER_ID,
    MockSlackAPI,
    dm_event,
    event_body,
    mention_event,
    serve_app,
    signed_headers,
)
from slack_fakes import FakeService

from qa_service.config import Settings
from qa_service.database import open_database
from qa_service.errors import DependencyUnavailable
from qa_service.slack import mount_slack
from qa_service.slack.feedback import FeedbackStore
from qa_service.slack.format import APOLOGY, UNAVAILABLE, escape

SECRET = "test-signing-secret"


def make_settings(tmp: Path, mock: MockSlackAPI, **kw: Any) -> Settings:
    return Settings(
        index_dir=tmp,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=mock.api_url,
        public_url="https://qa.example",
        **kw,
    )


@pytest.fixture(scope="module")
def mock() -> Iterator[MockSlackAPI]:
    with MockSlackAPI() as m:
        yield m


@pytest.fixture(scope="module")
def service() -> FakeService:
    return FakeService()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slack-index")


@pytest.fixture(scope="module")
def server(mock: MockSlackAPI, service: FakeService, index_dir: Path) -> Iterator[str]:
    app = FastAPI()
    assert mount_slack(app, make_settings(index_dir, mock), service) is not None  # type: ignore[arg-type]
    with serve_app(app) as url:
        yield url


@pytest.fixture(autouse=True)
def _clean(mock: MockSlackAPI, service: FakeService) -> None:
    mock.reset()
    mock.fail_methods.clear()
    service.asked.clear()
    service.fail = None
    service.abstain = False
    service.delay = 0.0


_ids = iter(range(10_000))


def post_event(
    url: str,
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    headers: dict[str, str] | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    body = event_body(event, event_id=event_id or f"Ev{next(_ids):06d}{time.time_ns()}")
    h = signed_headers(secret, body, timestamp=timestamp) | (headers or {})
    return httpx.post(url + "/slack/events", content=body, headers=h, timeout=10)


def post_form(url: str, form: dict[str, str], secret: str = SECRET) -> httpx.Response:
    body = urllib.parse.urlencode(form).encode()
    h = signed_headers(secret, body, content_type="application/x-www-form-urlencoded")
    return httpx.post(url + "/slack/events", content=body, headers=h, timeout=10)


def blocks_text(blocks: Any) -> str:
    return json.dumps(blocks if not isinstance(blocks, str) else json.loads(blocks), ensure_ascii=False)


def replies_in(mock: MockSlackAPI, channel: str, thread_ts: str, count: int = 1) -> list[dict[str, Any]]:
    return mock.wait_for(
        "chat.postMessage",
        lambda a: a.get("channel") == channel and a.get("thread_ts") == thread_ts,
        count=count,
    )


# -- mentions, DMs, threads ---------------------------------------------------------------


def test_mention_is_answered_in_its_thread_with_verified_citations(server, mock, service) -> None:
    msg = mock.add_message("C1", f"<@{BOT_USER_ID}> What is Rutte's position on peace talks?")
    assert post_event(server, mention_event(msg, "C1")).status_code == 200

    reply = replies_in(mock, "C1", msg["ts"])[0]
    assert service.asked[0]["question"] == "What is Rutte's position on peace talks?"  # mention stripped
    assert service.asked[0]["history"] == []
    answer = service.ask("x")
    for c in answer.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote
        assert escape(c.quote) in blocks_text(reply["blocks"])
    assert "https://qa.example/articles/nato#nato:p3" in blocks_text(reply["blocks"])
    assert "[1]" in reply["text"]
    # thinking reaction added on the question, then removed
    assert mock.wait_for("reactions.add")[0]["timestamp"] == msg["ts"]
    assert mock.wait_for("reactions.remove")[0]["timestamp"] == msg["ts"]


def test_slow_answer_is_acked_at_once_and_posted_later(server, mock, service) -> None:
    service.delay = 2.0
    msg = mock.add_message("C12", f"<@{BOT_USER_ID}> A slow question?")
    started = time.monotonic()
    assert post_event(server, mention_event(msg, "C12")).status_code == 200
    assert time.monotonic() - started < 2.0  # before the answer (2 s); Slack wants the ack within 3 s
    replies_in(mock, "C12", msg["ts"])
    assert time.monotonic() - started >= 2.0


def test_follow_up_in_thread_gets_the_thread_as_history(server, mock, service) -> None:
    first = mock.add_message("C2", f"<@{BOT_USER_ID}> What is Rutte's position on peace talks?")
    post_event(server, mention_event(first, "C2"))
    bot_reply = replies_in(mock, "C2", first["ts"])[0]
    mock.add_message(
        "C2", "unrelated chatter from another bot", thread_ts=first["ts"], bot_id="BOTHER", user="UB2"
    )
    follow = mock.add_message("C2", f"<@{BOT_USER_ID}> And what did the Kremlin say?", thread_ts=first["ts"])
    post_event(server, mention_event(follow, "C2"))

    replies_in(mock, "C2", first["ts"], count=2)
    asked = service.asked[-1]
    assert asked["question"] == "And what did the Kremlin say?"
    assert asked["history"] == [
        {"role": "user", "content": "What is Rutte's position on peace talks?"},
        {"role": "assistant", "content": bot_reply["text"]},
    ]
    assert mock.calls_to("conversations.replies")[0]["ts"] == first["ts"]


def test_dm_is_answered_in_thread_and_own_or_other_bot_messages_are_ignored(server, mock, service) -> None:
    own = mock.add_message("D1", "I am the bot talking", user=BOT_USER_ID, bot_id=BOT_ID)
    other_bot = mock.add_message("D1", "another bot", user="UB9", bot_id="BOTHER9")
    bot_msg = mock.add_message("D1", "legacy bot message", subtype="bot_message", bot_id="BOTHER8")
    channel_chatter = mock.add_message("C9", "no mention here")
    for m in (own, other_bot, bot_msg):
        assert post_event(server, dm_event(m, "D1")).status_code == 200
    chatter = dm_event(channel_chatter, "C9") | {"channel_type": "channel"}
    assert post_event(server, chatter).status_code == 200

    dm = mock.add_message("D1", "What did Rutte say?")
    post_event(server, dm_event(dm, "D1"))
    replies_in(mock, "D1", dm["ts"])
    time.sleep(0.5)  # give any wrongly accepted event time to show up
    assert [a["question"] for a in service.asked] == ["What did Rutte say?"]
    assert len(mock.calls_to("chat.postMessage")) == 1


def test_retried_or_duplicate_event_gets_no_second_reply(server, mock, service) -> None:
    msg = mock.add_message("C3", f"<@{BOT_USER_ID}> What did NATO decide?")
    event = mention_event(msg, "C3")
    assert post_event(server, event, event_id="EvRETRY1").status_code == 200
    replies_in(mock, "C3", msg["ts"])
    retry = post_event(
        server,
        event,
        event_id="EvRETRY1",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    dup = post_event(server, event, event_id="EvRETRY1")
    assert retry.status_code == 200 and dup.status_code == 200
    time.sleep(0.7)
    assert len(mock.calls_to("chat.postMessage")) == 1
    assert len(service.asked) == 1


def test_chain_failure_posts_a_short_apology_and_logs(server, mock, service, caplog) -> None:
    service.fail = RuntimeError("secret internal detail")
    msg = mock.add_message("C4", f"<@{BOT_USER_ID}> Will this break?")
    with caplog.at_level(logging.ERROR, logger="qa_service.slack"):
        post_event(server, mention_event(msg, "C4"))
        reply = replies_in(mock, "C4", msg["ts"])[0]
        deadline = time.monotonic() + 5
        while (
            not any("answering failed" in r.message for r in caplog.records) and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    assert reply["text"] == APOLOGY
    assert "secret internal detail" not in json.dumps(reply) and "Traceback" not in json.dumps(reply)
    assert any("answering failed" in r.message and r.exc_info for r in caplog.records)
    mock.wait_for("reactions.remove")


def test_index_unavailable_says_so_instead_of_an_apology(server, mock, service) -> None:
    """Chroma down (issue 15, point 7): the user learns it is temporary, not "something went wrong"."""
    service.fail = DependencyUnavailable("the vector store (Chroma)", "ConnectError")
    msg = mock.add_message("C4", f"<@{BOT_USER_ID}> Is the index up?")
    post_event(server, mention_event(msg, "C4"))
    assert replies_in(mock, "C4", msg["ts"])[0]["text"] == UNAVAILABLE
    mock.wait_for("reactions.remove")


def test_empty_mention_gets_a_hint_without_asking(server, mock, service) -> None:
    msg = mock.add_message("C5", f"<@{BOT_USER_ID}>")
    post_event(server, mention_event(msg, "C5"))
    reply = replies_in(mock, "C5", msg["ts"])[0]
    assert "Ask me a question" in reply["text"] and service.asked == []


def test_abstention_reads_as_such_with_closest_paragraphs(server, mock, service) -> None:
    service.abstain = True
    msg = mock.add_message("C6", f"<@{BOT_USER_ID}> Who won the 1966 World Cup?")
    post_event(server, mention_event(msg, "C6"))
    blocks = blocks_text(replies_in(mock, "C6", msg["ts"])[0]["blocks"])
    assert "The articles do not say." in blocks and "Closest paragraphs" in blocks
    assert "NATO Pushes for Aid" in blocks


# -- signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["forged", "stale", "missing"])
def test_bad_signatures_are_rejected_without_work(server, mock, service, case) -> None:
    msg = mock.add_message("C7", f"<@{BOT_USER_ID}> hello?")
    if case == "forged":
        resp = post_event(server, mention_event(msg, "C7"), secret="not-the-secret")
    elif case == "stale":
        resp = post_event(server, mention_event(msg, "C7"), timestamp=int(time.time()) - 6 * 60)
    else:
        body = event_body(mention_event(msg, "C7"), event_id="EvNOSIG")
        resp = httpx.post(
            server + "/slack/events", content=body, headers={"Content-Type": "application/json"}
        )
    assert resp.status_code == 401
    time.sleep(0.3)
    assert mock.calls == [] and service.asked == []


def test_url_verification_challenge(server) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"}).encode()
    resp = httpx.post(server + "/slack/events", content=body, headers=signed_headers(SECRET, body))
    assert resp.status_code == 200 and "abc123" in resp.text


# -- /ask and feedback ----------------------------------------------------------------------


def slash_form(text: str, mock: MockSlackAPI, channel: str = "C8") -> dict[str, str]:
    return {
        "command": "/ask",
        "text": text,
        "channel_id": channel,
        "user_id": "UASKER",
        "team_id": "T0000TEAM",
        "response_url": mock.url + "/response_url/cmd",
        "trigger_id": "1.2.3",
        "api_app_id": "AQAAPP001",
    }


def test_slash_command_answers_in_channel(server, mock, service) -> None:
    resp = post_form(server, slash_form("What is Rutte's position?", mock))
    assert resp.status_code == 200
    post = mock.wait_for("chat.postMessage", lambda a: a.get("channel") == "C8")[0]
    assert "thread_ts" not in post
    text = blocks_text(post["blocks"])
    assert "<@UASKER> asked" in text and escape("Rutte dismissed the value") in text
    assert service.asked[0]["question"] == "What is Rutte's position?"


def test_slash_command_without_text_shows_usage(server, mock, service) -> None:
    resp = post_form(server, slash_form("   ", mock))
    assert resp.status_code == 200 and "Usage" in resp.text
    time.sleep(0.3)
    assert service.asked == [] and mock.calls_to("chat.postMessage") == []


def test_slash_command_falls_back_to_response_url_when_not_in_channel(server, mock, service) -> None:
    mock.fail_methods["chat.postMessage"] = "not_in_channel"
    post_form(server, slash_form("What is Rutte's position?", mock, channel="CNOTIN"))
    sent = mock.wait_for("response_url")[0]
    assert sent["response_type"] == "in_channel" and "Rutte dismissed" in blocks_text(sent["blocks"])


def test_ephemeral_slash_command(tmp_path, mock, service) -> None:
    app = FastAPI()
    mount_slack(app, make_settings(tmp_path, mock, slack_ephemeral_slash=True), service)  # type: ignore[arg-type]
    with serve_app(app) as url:
        post_form(url, slash_form("What is Rutte's position?", mock, channel="C10"))
        eph = mock.wait_for("chat.postEphemeral")[0]
    assert eph["channel"] == "C10" and eph["user"] == "UASKER"
    assert mock.calls_to("chat.postMessage") == []


def test_feedback_button_stores_a_row(server, mock, service, index_dir) -> None:
    msg = mock.add_message("C11", f"<@{BOT_USER_ID}> What is Rutte's position on peace talks?")
    post_event(server, mention_event(msg, "C11"))
    reply = replies_in(mock, "C11", msg["ts"])[0]
    blocks = json.loads(reply["blocks"]) if isinstance(reply["blocks"], str) else reply["blocks"]
    button = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "qa_feedback_helpful"
    )
    payload = {
        "type": "block_actions",
        "user": {"id": "UVOTER", "team_id": "T0000TEAM"},
        "team": {"id": "T0000TEAM"},
        "api_app_id": "AQAAPP001",
        "channel": {"id": "C11"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C11"},
        "response_url": mock.url + "/response_url/action",
        "trigger_id": "1.2",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "qa_feedback",
                "value": button["value"],
                "action_ts": "1.3",
            }
        ],
    }
    assert post_form(server, {"payload": json.dumps(payload)}).status_code == 200
    assert "recorded" in mock.wait_for("response_url")[0]["text"]

    store = FeedbackStore(open_database(make_settings(index_dir, mock)))  # the server's database
    rows = [r for r in store.feedback_rows() if r["user"] == "UVOTER"]
    assert len(rows) == 1 and rows[0]["rating"] == "helpful"
    assert rows[0]["question"] == "What is Rutte's position on peace talks?"
    assert rows[0]["citations"][0]["quote"] == "Rutte dismissed the value of abstract peace talks"


# -- configuration ---------------------------------------------------------------------------


def test_without_slack_settings_there_is_no_bot(tmp_path, caplog) -> None:
    app = FastAPI()
    with caplog.at_level(logging.INFO, logger="qa_service.slack"):
        assert (
            mount_slack(
                app,
                Settings(index_dir=tmp_path, slack_bot_token=None, slack_signing_secret=None),
                FakeService(),
            )
            is None
        )  # type: ignore[arg-type]
    assert not any(getattr(r, "path", None) == "/slack/events" for r in app.routes)
    assert any("Slack bot disabled" in r.message for r in caplog.records)
