"""No unverified text reaches any client: a fake chat model invents a sentence (and cites a
source for it); the web SSE stream, the OpenAI-compatible endpoint (stream and not) and the
Slack bot never show it, and the streamed text joined equals the final answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FakeEmbedder
from fastapi import FastAPI
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from mock_slack_api import BOT_USER_ID, MockSlackAPI, mention_event, serve_app
from test_slack_bot import post_event, replies_in

from qa_service.api import create_app
from qa_service.config import PROJECT_ROOT, Settings
from qa_service.pipeline import Final, Token
from qa_service.service import QAService, build_service
from qa_service.slack import mount_slack

INVENTED = "The moon is made of cheese according to NATO officials"
TRUE = "Kyiv has urgently requested 20 new air defense systems from NATO members to counter missile strikes"
# The model streams a verified sentence, an invented one citing [1], and an uncited one.
MODEL_TEXT = f'{TRUE} [1]. {INVENTED} [1]. Everyone agrees the war ends next week.'
ARTICLE = (
    "Air defence request\n\n"
    f"{TRUE}. As winter intensifies, Russian attacks on Ukraine's energy infrastructure are expected "
    "to escalate.\n\nRutte dismissed the value of abstract peace talks, focusing instead on tangible "
    "military aid to empower Ukraine on the battlefield.\n"
)
QUESTION = "What did Kyiv request from NATO members?"
SECRET = "stream-secret"


class ScriptedModel(GenericFakeChatModel):
    """Streams MODEL_TEXT in small pieces, as many times as asked."""

    def __init__(self) -> None:
        super().__init__(messages=iter(()))

    def _generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.messages = iter([AIMessage(content=MODEL_TEXT)])
        return super()._generate(*args, **kwargs)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockSlackAPI]:
    with MockSlackAPI() as m:
        yield m


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, mock: MockSlackAPI) -> Settings:
    return Settings(index_dir=tmp_path_factory.mktemp("stream-index"), generator="openai/fake",
                    openai_base_url="http://127.0.0.1:9/v1", positions_enabled=False,
                    prompts_dir=PROJECT_ROOT / "prompts", allow_open_writes=True,
                    slack_bot_token="xoxb-test", slack_signing_secret=SECRET, slack_api_url=mock.api_url,
                    public_url="https://qa.example")


@pytest.fixture(scope="module")
def service(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> QAService:
    service = build_service(settings, embedder=FakeEmbedder(), chat_model=ScriptedModel())  # type: ignore[arg-type]
    folder = tmp_path_factory.mktemp("articles")
    (folder / "air-defence.txt").write_text(ARTICLE, encoding="utf-8")
    assert not service.ingest([Path(folder)]).failed
    return service


def sse_events(body: str) -> list[tuple[str, str]]:
    out = []
    for block in body.split("\r\n\r\n") if "\r\n\r\n" in body else body.split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((name, "\n".join(data)))
    return out


def test_pipeline_releases_only_verified_sentences(service: QAService) -> None:
    events = list(service.stream(QUESTION))
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    final = [e for e in events if isinstance(e, Final)][0].answer
    assert streamed == final.answer
    assert not final.abstained and TRUE in final.answer
    assert "cheese" not in streamed and "war ends" not in streamed
    assert final.diagnostics["claims_removed"] >= 1


def test_web_sse_stream_never_carries_the_invented_sentence(service: QAService, settings: Settings) -> None:
    with TestClient(create_app(settings, service)) as client:
        r = client.post("/api/chat/stream", json={"message": QUESTION})
        assert r.status_code == 200
        events = sse_events(r.text)
        assert "cheese" not in r.text and "war ends" not in r.text
        tokens = "".join(json.loads(d)["text"] for n, d in events if n == "token")
        answer = json.loads([d for n, d in events if n == "answer"][0])
        assert tokens == answer["answer"] and TRUE in tokens


@pytest.mark.parametrize("stream", [True, False])
def test_openai_endpoint_never_carries_the_invented_sentence(service: QAService, settings: Settings,
                                                             stream: bool) -> None:
    with TestClient(create_app(settings, service)) as client:
        r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}],
                                                      "stream": stream})
        assert r.status_code == 200
        assert "cheese" not in r.text and "war ends" not in r.text
        if stream:
            chunks = [json.loads(d) for _, d in sse_events(r.text) if d != "[DONE]"]
            text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        else:
            text = r.json()["choices"][0]["message"]["content"]
        answer = text.split("\n\nSources:")[0]
        assert TRUE in answer
        assert answer == service.ask(QUESTION, history=[]).answer


def test_slack_reply_never_carries_the_invented_sentence(service: QAService, settings: Settings,
                                                         mock: MockSlackAPI) -> None:
    app = FastAPI()
    assert mount_slack(app, settings, service) is not None
    with serve_app(app) as url:
        msg = mock.add_message("C9", f"<@{BOT_USER_ID}> {QUESTION}")
        assert post_event(url, mention_event(msg, "C9"), secret=SECRET).status_code == 200
        reply = replies_in(mock, "C9", msg["ts"])[0]
    shown = json.dumps(reply, ensure_ascii=False)
    assert "cheese" not in shown and "war ends" not in shown
    assert "20 new air defense systems" in shown
