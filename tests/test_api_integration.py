"""Integration: a real uvicorn server in a subprocess, the real service over a temp index.

Articles are loaded through the API's own upload endpoint (the real ingest path), then
asked about over HTTP, SSE and the OpenAI client. Every citation must verify verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from live_server import KEY, upload
from test_api import parse_sse

try:  # skipped only until the real service exists
    from qa_service.service import build_service  # noqa: F401
except ImportError as exc:  # pragma: no cover
    pytest.skip(f"build_service not available yet: {exc}", allow_module_level=True)

pytestmark = pytest.mark.slow

QUESTION = "Who is NATO's new Secretary General?"
AUTH = {"Authorization": f"Bearer {KEY}"}


def assert_verified(answer: dict) -> None:
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert c["paragraph_text"][c["start"]:c["end"]] == c["quote"]
        assert f"[{c['marker']}]" in answer["answer"]


def test_chat_answers_with_verified_citations(live: dict) -> None:
    r = httpx.post(f"{live['url']}/api/chat", headers=AUTH, json={"message": QUESTION}, timeout=120)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert not answer["abstained"] and "Rutte" in answer["answer"]
    assert_verified(answer)
    c = answer["citations"][0]
    article = httpx.get(f"{live['url']}/api/articles/{c['article_id']}", headers=AUTH).json()
    paragraph = next(p for p in article["paragraphs"] if p["paragraph_id"] == c["paragraph_id"])
    assert c["quote"] in paragraph["text"]
    # a follow-up in the same conversation
    r = httpx.post(f"{live['url']}/api/chat", headers=AUTH, timeout=120,
                   json={"message": "Which city hosted the meeting?", "conversation_id": answer["conversation_id"]})
    assert r.status_code == 200 and r.json()["conversation_id"] == answer["conversation_id"]


def test_sse_stream_over_the_wire(live: dict) -> None:
    with httpx.stream("POST", f"{live['url']}/api/chat/stream", headers=AUTH, json={"message": QUESTION},
                      timeout=120) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    names = [n for n, _ in events]
    assert names[0] == "meta" and names[-1] == "answer" and "token" in names and "error" not in names
    final = events[-1][1]
    assert_verified(final)
    streamed = [d for n, d in events if n == "citation"]
    assert [c["paragraph_id"] for c in streamed] == [c["paragraph_id"] for c in final["citations"]]


def test_openai_client_plain_and_streaming(live: dict) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{live['url']}/v1", api_key=KEY, timeout=120, max_retries=0)
    model = client.models.list().data[0].id
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": QUESTION}])
    text = completion.choices[0].message.content
    assert "Rutte" in text and "Sources:" in text
    citations = completion.model_extra["citations"]
    assert_verified({"answer": text, "citations": citations})

    parts, final_citations = [], None
    stream = client.chat.completions.create(model=model, stream=True, messages=[
        {"role": "user", "content": "Where did NATO meet?"},
        {"role": "assistant", "content": "In Brussels."},
        {"role": "user", "content": QUESTION},
    ])
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if (chunk.model_extra or {}).get("citations"):
            final_citations = chunk.model_extra["citations"]
    text = "".join(parts)
    assert "Rutte" in text and "Sources:" in text
    assert_verified({"answer": text, "citations": final_citations})


def test_search_articles_and_xss_article_kept_as_text(live: dict) -> None:
    url = live["url"]
    results = httpx.get(f"{url}/api/search", params={"q": "Secretary General Rutte", "k": 3}, headers=AUTH).json()
    assert results["results"] and results["results"][0]["article_id"] == live["ids"]["seed"]
    listing = httpx.get(f"{url}/api/articles", params={"limit": 1}, headers=AUTH).json()
    assert listing["total"] >= 2 and len(listing["articles"]) == 1
    xss = httpx.get(f"{url}/api/articles/{live['ids']['xss']}", headers=AUTH).json()
    assert any("<script>window.__xss=1</script>" in p["text"] for p in xss["paragraphs"])


def test_upload_then_delete(live: dict, tmp_path: Path) -> None:
    path = tmp_path / "short-note.txt"
    path.write_text("World\nHarbour strike ends\nBy Staff\nDock workers in Valparaiso ended a strike on Monday.\n")
    report = upload(live["url"], path)
    article_id = report["added"][0]
    r = httpx.delete(f"{live['url']}/api/articles/{article_id}", headers=AUTH)
    assert r.status_code == 200
    assert httpx.get(f"{live['url']}/api/articles/{article_id}", headers=AUTH).status_code == 404


def test_bad_requests_are_4xx_and_server_keeps_serving(live: dict) -> None:
    url = live["url"]
    h = {**AUTH, "content-type": "application/json"}
    assert httpx.post(f"{url}/api/chat", content=b'{"message": ', headers=h).status_code == 422
    assert httpx.post(f"{url}/api/chat", json={"message": 5}, headers=AUTH).status_code == 422
    assert httpx.post(f"{url}/api/chat", content=b" " * 2_000_000, headers=h).status_code == 413
    assert httpx.post(f"{url}/api/chat", json={"message": "hi", "conversation_id": "nope"},
                      headers=AUTH).status_code == 404
    r = httpx.post(f"{url}/api/articles", headers=AUTH,
                   files={"file": ("broken.txt", b"\xff\xfe\x00\x81 not text", "text/plain")})
    assert 400 <= r.status_code < 500, r.text
    assert httpx.post(f"{url}/api/chat", json={"message": QUESTION}).status_code == 401
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
    assert 'qa_http_requests_total{method="POST",route="/api/chat",status="422"}' in metrics
    assert json.loads(httpx.get(f"{url}/readyz").text) == {"ready": True}


def test_the_served_app_freezes_its_start_up_heap(live: dict) -> None:
    """`qa serve` warms the look-ups and freezes what start-up built (heap.py), before it is ready."""
    import re

    log = live["server"].log_path.read_text()
    froze = re.search(r"froze (\d+) long-lived objects", log)
    assert froze is not None, log[-3000:]
    assert "warming the index's look-ups failed" not in log
    assert int(froze.group(1)) > 100_000  # the models' modules alone are more
