"""Fast API tests: the real FastAPI app over an in-memory fake service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_fakes import FakeQAService
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.pipeline import Meta

KEY = "s3cret-key"


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs; data decoded from JSON when it is JSON. Ping comments skipped."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            raw = "\n".join(data)
            try:
                events.append((name, json.loads(raw)))
            except json.JSONDecodeError:
                events.append((name, raw))
    return events


@pytest.fixture
def service() -> FakeQAService:
    return FakeQAService()


def client_for(service: FakeQAService, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), service), raise_server_exceptions=False)


@pytest.fixture
def client(service: FakeQAService, tmp_path) -> Iterator[TestClient]:
    with client_for(service, index_dir=tmp_path, allow_open_writes=True) as c:
        yield c


@pytest.fixture
def keyed(service: FakeQAService, tmp_path) -> Iterator[TestClient]:
    with client_for(service, index_dir=tmp_path, api_key=KEY) as c:
        yield c


# --- chat ---------------------------------------------------------------------------
def test_chat_returns_answer_with_verified_citation(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": "What did Germany pledge?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["abstained"] is False and "[1]" in body["answer"]
    c = body["citations"][0]
    assert c["paragraph_text"][c["start"]:c["end"]] == c["quote"]
    assert body["conversation_id"] and body["retrieved"] and "total" in body["timings"]


def test_chat_passes_filters_and_continues_a_conversation(client: TestClient, service: FakeQAService) -> None:
    first = client.post("/api/chat", json={"message": "Germany pledge?"}).json()
    r = client.post("/api/chat", json={
        "message": "And the ministers?", "conversation_id": first["conversation_id"],
        "filters": {"source": "Example News", "date_from": "2024-01-01", "date_to": "2024-12-31"},
    })
    assert r.status_code == 200, r.text
    assert r.json()["conversation_id"] == first["conversation_id"]
    _, call = [c for c in service.calls if c[0] == "ask"][-1]
    assert call["filters"].source == "Example News" and call["filters"].date_from == "2024-01-01"


def test_unknown_conversation_is_404(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": "Germany?", "conversation_id": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.post("/api/chat/stream", json={"message": "Germany?", "conversation_id": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]


@pytest.mark.parametrize("payload, fragment", [
    ({"message": ""}, "empty"),
    ({"message": "   \n"}, "empty"),
    ({"message": "x" * 2001}, "too long"),
    ({"message": 42}, "message"),
    ({"message": ["a"]}, "message"),
    ({}, "message"),
    ({"message": "ok", "filters": {"date_from": "yesterday"}}, "date_from"),
    ({"message": "ok", "filters": {"date_from": "2024-05-01", "date_to": "2024-01-01"}}, "after"),
    ({"message": "ok", "filters": {"colour": "red"}}, "colour"),
    ({"message": "ok", "conversation_id": 7}, "conversation_id"),
])
def test_bad_chat_input_is_a_clear_422(client: TestClient, payload: dict, fragment: str) -> None:
    for path in ("/api/chat", "/api/chat/stream"):
        r = client.post(path, json=payload)
        assert r.status_code == 422, (path, r.text)
        assert fragment in r.json()["detail"]


def test_malformed_json_and_wrong_body_types_are_4xx(client: TestClient) -> None:
    r = client.post("/api/chat", content=b'{"message": "unterminated', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "json" in r.json()["detail"].lower()
    r = client.post("/api/chat", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.status_code == 422
    r = client.post("/api/chat", content=b"\xff\xfe\x00", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    # the server keeps serving
    assert client.post("/api/chat", json={"message": "Germany?"}).status_code == 200


def test_oversized_body_is_413_before_parsing(service: FakeQAService, tmp_path) -> None:
    with client_for(service, index_dir=tmp_path, max_body_bytes=1000) as c:
        r = c.post("/api/chat", content=b"{" + b" " * 5000 + b"}", headers={"content-type": "application/json"})
        assert r.status_code == 413 and "too large" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 500

        r = c.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert not [x for x in service.calls if x[0] == "ask"]


# --- SSE ----------------------------------------------------------------------------
def test_stream_event_order(client: TestClient) -> None:
    with client.stream("POST", "/api/chat/stream", json={"message": "What did Germany pledge?"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "answer"
    assert "token" in names and "citation" in names
    assert names.index("citation") > max(i for i, n in enumerate(names) if n == "token")
    final = events[-1][1]
    text = "".join(d["text"] for n, d in events if n == "token")
    assert text.strip() == final["answer"].strip()
    assert events[0][1]["conversation_id"] == final["conversation_id"]
    c = final["citations"][0]
    assert c["paragraph_text"][c["start"]:c["end"]] == c["quote"]


def test_stream_failure_midway_is_an_error_event(client: TestClient, service: FakeQAService) -> None:
    from qa_service.errors import GeneratorError

    def broken(question: str, **kwargs: Any):
        yield Meta(conversation_id="c1", standalone_question=question)
        raise GeneratorError("the model server went away")

    service.stream = broken  # type: ignore[method-assign]
    with client.stream("POST", "/api/chat/stream", json={"message": "Germany?"}) as r:
        events = parse_sse(r.read().decode())
    assert [n for n, _ in events] == ["meta", "error"]
    assert events[1][1] == {"detail": "the model server went away", "status": 502}


# --- OpenAI compatible --------------------------------------------------------------
def test_openai_completion_with_history_and_citations(client: TestClient, service: FakeQAService) -> None:
    r = client.post("/v1/chat/completions", json={
        "model": "anything", "temperature": 0,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "Where did ministers meet?"},
            {"role": "assistant", "content": "In Brussels."},
            {"role": "user", "content": "What did Germany pledge?"},
        ],
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    content = body["choices"][0]["message"]["content"]
    assert "Sources:" in content and "[1] NATO allies pledge military aid" in content
    assert body["citations"][0]["paragraph_id"] == "nato-aid:p1"
    _, call = [c for c in service.calls if c[0] == "ask"][-1]
    assert call["question"] == "What did Germany pledge?"
    assert call["history"] == [{"role": "user", "content": "Where did ministers meet?"},
                               {"role": "assistant", "content": "In Brussels."}]


def test_openai_stream_chunks_end_with_citations_and_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "What did Germany pledge?"}], "stream": True,
    }) as r:
        events = parse_sse(r.read().decode())
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "Germany pledged 500 air defence missiles to Ukraine" in text and "Sources:" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["citations"][0]["quote"] in chunks[-1]["citations"][0]["paragraph_text"]


@pytest.mark.parametrize("payload", [
    {"messages": []},
    {"messages": [{"role": "assistant", "content": "hi"}]},
    {"messages": [{"role": "user", "content": ""}]},
    {"messages": [{"role": "wizard", "content": "hi"}]},
    {"messages": "hello"},
    {"messages": [{"role": "user", "content": "hi"}], "stream": "yes"},
])
def test_openai_bad_input_is_422(client: TestClient, payload: dict) -> None:
    r = client.post("/v1/chat/completions", json=payload)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], str)


def test_models_lists_one(client: TestClient) -> None:
    data = client.get("/v1/models").json()["data"]
    assert len(data) == 1 and data[0]["object"] == "model"


# --- search and articles ------------------------------------------------------------
def test_search_with_filters(client: TestClient, service: FakeQAService) -> None:
    r = client.get("/api/search", params={"q": "Germany missiles", "k": 3, "source": "Example News",
                                         "from": "2024-01-01", "to": "2024-12-31"})
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0]["paragraph_id"] == "nato-aid:p1" and {"article_id", "title", "text", "score"} <= set(results[0])
    filters = service.calls[-1][1]["filters"]
    assert (filters.source, filters.date_from, filters.date_to) == ("Example News", "2024-01-01", "2024-12-31")


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x", "k": 0}, {"q": "x", "k": "many"},
                                    {"q": "x", "from": "not-a-date"}, {"q": "x", "from": "2024-02-01", "to": "2024-01-01"}])
def test_bad_search_is_422(client: TestClient, params: dict) -> None:
    assert client.get("/api/search", params=params).status_code == 422


def test_articles_paging_and_detail(client: TestClient, service: FakeQAService) -> None:
    from api_fakes import make_article

    for i in range(5):
        service.add(make_article(f"extra-{i}", f"Extra {i}", ["One.", "Two."]))
    page = client.get("/api/articles", params={"offset": 2, "limit": 2}).json()
    assert page["total"] == 6 and len(page["articles"]) == 2 and page["offset"] == 2
    assert page["articles"][0]["article_id"] == "extra-2" and page["articles"][0]["paragraph_count"] == 2
    assert "paragraphs" not in page["articles"][0]
    art = client.get("/api/articles/nato-aid").json()
    assert [p["paragraph_id"] for p in art["paragraphs"]] == ["nato-aid:p1", "nato-aid:p2"]
    assert client.get("/api/articles/missing").status_code == 404
    assert client.get("/api/articles", params={"limit": 0}).status_code == 422
    assert client.get("/api/articles", params={"offset": -1}).status_code == 422


def test_upload_and_delete(client: TestClient, service: FakeQAService) -> None:
    r = client.post("/api/articles", files={"file": ("new-story.txt", b"Headline\nBody one.\nBody two.", "text/plain")})
    assert r.status_code == 201, r.text
    assert r.json()["added"] == ["new-story"]
    assert client.get("/api/articles/new-story").json()["title"] == "Headline"
    assert client.delete("/api/articles/new-story").json() == {"deleted": "new-story"}
    assert client.delete("/api/articles/new-story").status_code == 404


@pytest.mark.parametrize("files, status, fragment", [
    # A stray byte is repaired (cp1252), as the real loader does; mostly undecodable bytes are not text.
    ({"file": ("bad.txt", b"\xff\xfe\xfa" * 20 + b" not utf8", "text/plain")}, 422, "not UTF-8"),
    ({"file": ("bad.exe", b"MZ...", "application/octet-stream")}, 422, "unsupported"),
    ({"file": ("empty.txt", b"  ", "text/plain")}, 422, "empty"),
    ({"other": ("x.txt", b"hello", "text/plain")}, 422, "file"),
])
def test_bad_uploads_are_4xx(client: TestClient, files: dict, status: int, fragment: str) -> None:
    r = client.post("/api/articles", files=files)
    assert r.status_code == status, r.text
    assert fragment in r.json()["detail"]


def test_oversized_upload_is_413(service: FakeQAService, tmp_path) -> None:
    with client_for(service, index_dir=tmp_path, allow_open_writes=True, max_upload_bytes=1000) as c:
        r = c.post("/api/articles", files={"file": ("big.txt", b"x" * 2000, "text/plain")})
        assert r.status_code == 413
        r = c.post("/api/articles", files={"file": ("huge.txt", b"x" * 200_000, "text/plain")})
        assert r.status_code == 413
    assert not [x for x in service.calls if x[0] == "ingest_bytes"]


# --- auth ---------------------------------------------------------------------------
def test_writes_refused_without_key_unless_open(service: FakeQAService, tmp_path) -> None:
    with client_for(service, index_dir=tmp_path) as c:
        r = c.post("/api/articles", files={"file": ("a.txt", b"T\nB", "text/plain")})
        assert r.status_code == 403 and "QA_API_KEY" in r.json()["detail"]
        assert c.delete("/api/articles/nato-aid").status_code == 403
        assert c.post("/api/chat", json={"message": "Germany?"}).status_code == 200  # reads stay open


ENDPOINTS = [
    ("POST", "/api/chat", {"json": {"message": "Germany?"}}),
    ("POST", "/api/chat/stream", {"json": {"message": "Germany?"}}),
    ("POST", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": "Germany?"}]}}),
    ("GET", "/v1/models", {}),
    ("GET", "/api/search?q=Germany", {}),
    ("GET", "/api/articles", {}),
    ("GET", "/api/articles/nato-aid", {}),
    ("POST", "/api/articles", {"files": {"file": ("k.txt", b"T\nB", "text/plain")}}),
    ("DELETE", "/api/articles/nato-aid", {}),
    ("GET", "/metrics", {}),
    ("GET", "/api/positions", {}),
    ("GET", "/api/timeline", {}),
]


@pytest.mark.parametrize("method, path, kwargs", ENDPOINTS)
def test_api_key_required_everywhere_but_health(keyed: TestClient, method: str, path: str, kwargs: dict) -> None:
    assert keyed.request(method, path, **kwargs).status_code == 401
    assert keyed.request(method, path, headers={"X-API-Key": "wrong"}, **kwargs).status_code == 401
    r = keyed.request(method, path, headers={"Authorization": f"Bearer {KEY}"}, **kwargs)
    assert r.status_code < 300, r.text


def test_key_is_checked_before_the_body_size(service: FakeQAService, tmp_path) -> None:
    # Without the key a caller learns only that (401), not the size limits; with it, 413 as before.
    with client_for(service, index_dir=tmp_path, api_key=KEY, max_body_bytes=1000, max_upload_bytes=1000) as c:
        big_chat = {"content": b"{" + b" " * 5000 + b"}", "headers": {"content-type": "application/json"}}
        assert c.post("/api/chat", **big_chat).status_code == 401
        assert c.post("/api/articles", files={"file": ("big.txt", b"x" * 200_000, "text/plain")}).status_code == 401
        authed = {"content-type": "application/json", "X-API-Key": KEY}
        assert c.post("/api/chat", content=big_chat["content"], headers=authed).status_code == 413
        r = c.post("/api/articles", files={"file": ("big.txt", b"x" * 200_000, "text/plain")},
                   headers={"X-API-Key": KEY})
        assert r.status_code == 413
    assert not [x for x in service.calls if x[0] in ("ask", "ingest_bytes")]


def test_x_api_key_header_and_open_health(keyed: TestClient) -> None:
    assert keyed.post("/api/chat", json={"message": "Germany?"}, headers={"X-API-Key": KEY}).status_code == 200
    assert keyed.get("/healthz").status_code == 200
    assert keyed.get("/readyz").status_code == 200
    assert keyed.get("/").status_code == 200  # the page shell holds no data; it asks for the key


# --- web page -----------------------------------------------------------------------
@pytest.mark.parametrize("path, script", [("/", "chat.js"), ("/articles/nato-aid", "article.js"),
                                          ("/positions", "insights.js"), ("/timeline", "insights.js")])
def test_pages_are_served_with_a_strict_policy(client: TestClient, path: str, script: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert f'src="/static/{script}"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # everything the page loads is served locally (works offline)
    assert "http://" not in r.text and "https://" not in r.text
    for asset in ("common.js", script, "app.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_static_scripts_never_put_data_in_inner_html(client: TestClient) -> None:
    for asset in ("common.js", "chat.js", "article.js", "insights.js"):
        js = client.get(f"/static/{asset}").text
        assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


# --- health and metrics -------------------------------------------------------------
def test_readyz_follows_the_service(client: TestClient, service: FakeQAService) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    service.is_ready = False
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_metrics_count_routes_answers_and_abstentions(client: TestClient) -> None:
    client.post("/api/chat", json={"message": "Germany pledge?"})
    client.post("/api/chat", json={"message": "zebra"})  # nothing matches: abstains
    client.get("/api/articles/nato-aid")
    text = client.get("/metrics").text
    assert 'qa_http_requests_total{method="POST",route="/api/chat",status="200"} 2.0' in text
    assert 'route="/api/articles/{article_id}"' in text
    assert 'qa_answers_total{endpoint="chat"} 2.0' in text
    assert 'qa_abstentions_total{endpoint="chat"} 1.0' in text
    assert "qa_http_request_duration_seconds_bucket" in text


def test_service_errors_never_500_with_internals(client: TestClient, service: FakeQAService) -> None:
    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("secret path /etc/x")

    service.search = boom  # type: ignore[method-assign]
    r = client.get("/api/search", params={"q": "x"})
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert client.get("/healthz").status_code == 200


def test_cors_only_when_configured(service: FakeQAService, tmp_path) -> None:
    with client_for(service, index_dir=tmp_path, cors_origins=["https://news.example"]) as c:
        r = c.options("/api/chat", headers={"Origin": "https://news.example", "Access-Control-Request-Method": "POST"})
        assert r.headers.get("access-control-allow-origin") == "https://news.example"
    with client_for(service, index_dir=tmp_path) as c:
        r = c.get("/healthz", headers={"Origin": "https://news.example"})
        assert "access-control-allow-origin" not in r.headers


# --- client disconnect over a real socket ---------------------------------------------
def test_client_disconnect_stops_the_stream(tmp_path) -> None:
    import threading
    import time

    import httpx
    import uvicorn
    from live_server import free_port

    service = FakeQAService(stream_delay=0.3)  # 9 tokens: about 2.7 s if nobody stops it
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(index_dir=tmp_path), service),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.stream("POST", f"http://127.0.0.1:{port}/api/chat/stream",
                          json={"message": "What did Germany pledge?"}, timeout=10) as r:
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    break  # leave after the first token
        assert service.stream_closed.wait(2.0), "the service generator kept running after the client left"
        pulled = service.stream_pulled
        time.sleep(0.7)  # a detached producer would keep pulling tokens here
        assert service.stream_pulled == pulled < 9
    finally:
        server.should_exit = True
        thread.join(10)
