"""The API contract (issue 15, point 11): the OpenAPI document says what the app really sends.

Fast: the real app over the in-memory fake service. tests/test_schemathesis.py checks the
same document against the real service over the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from api_fakes import FakeQAService
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable

KEY = "contract-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def service() -> FakeQAService:
    return FakeQAService()


@pytest.fixture
def keyed(service: FakeQAService, tmp_path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(index_dir=tmp_path, api_key=KEY), service),
                    raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def spec(keyed: TestClient) -> dict[str, Any]:
    r = keyed.get("/openapi.json", headers=AUTH)
    assert r.status_code == 200
    return r.json()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def error_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    response = spec["paths"][path][method]["responses"][str(status)]
    return resolve(spec, response["content"]["application/json"]["schema"])


def test_docs_and_openapi_need_the_key(keyed: TestClient) -> None:
    for path in ("/openapi.json", "/docs"):
        r = keyed.get(path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert keyed.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
        assert keyed.get(path, headers=AUTH).status_code == 200
    page = keyed.get("/docs", headers=AUTH).text
    assert "swagger-ui" in page and '"openapi"' in page  # the document is inlined: no second, keyless fetch
    # Every script and style the page loads comes from this server: no CDN (no network at run time).
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/static/docs/") for a in assets), assets
    for asset in assets:
        r = keyed.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000, asset
    assert "SwaggerUIBundle" in keyed.get("/static/docs/swagger-ui-bundle.js").text


def test_docs_open_without_a_configured_key(service: FakeQAService, tmp_path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path), service)) as c:
        assert c.get("/openapi.json").status_code == 200 and c.get("/docs").status_code == 200


@pytest.mark.parametrize("method, path, kwargs", [
    ("POST", "/api/chat", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("POST", "/api/chat", {"json": {"message": 42}}),
    ("POST", "/v1/chat/completions", {"json": {"messages": []}}),
    ("POST", "/api/articles", {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}),
    ("PUT", "/api/conversations/c1/answer", {"content": b"[", "headers": {"content-type": "application/json"}}),
])
def test_auth_is_checked_before_the_body_is_parsed(keyed: TestClient, method: str, path: str,
                                                   kwargs: dict[str, Any]) -> None:
    r = keyed.request(method, path, **kwargs)
    assert r.status_code == 401, r.text
    assert r.json() == {"detail": r.json()["detail"]} and "API key" in r.json()["detail"]


def test_422_body_is_what_the_document_declares(keyed: TestClient, spec: dict[str, Any]) -> None:
    r = keyed.post("/api/chat", json={"message": 42}, headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    schema = error_schema(spec, "/api/chat", "post", 422)
    assert schema["properties"]["detail"]["type"] == "string" and isinstance(body["detail"], str)
    assert schema["properties"]["errors"]["type"] == "array" and isinstance(body["errors"], list)
    assert set(body) <= set(schema["properties"]) and set(schema.get("required", [])) <= set(body)
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's list-shaped 422 is gone


@pytest.mark.parametrize("path, method, statuses", [
    ("/api/chat", "post", [400, 401, 413, 422, 503]),
    ("/api/articles", "post", [400, 401, 403, 409, 413, 422, 503]),
    ("/api/articles/{article_id}", "get", [401, 404, 503]),
    ("/api/conversations/{conversation_id}/answer", "put", [401, 404, 409, 422]),
    ("/api/search", "get", [401, 422, 503]),
    ("/metrics", "get", [401]),
])
def test_error_statuses_are_declared_with_the_error_body(spec: dict[str, Any], path: str, method: str,
                                                         statuses: list[int]) -> None:
    for status in statuses:
        schema = error_schema(spec, path, method, status)
        assert schema["properties"]["detail"]["type"] == "string", (path, status)
    if 503 in statuses:
        assert "Retry-After" in spec["paths"][path][method]["responses"]["503"]["headers"]


def test_real_error_bodies_match_their_declared_schema(keyed: TestClient, spec: dict[str, Any],
                                                       service: FakeQAService) -> None:
    r = keyed.get("/api/articles/no-such-article", headers=AUTH)
    assert r.status_code == 404 and isinstance(r.json()["detail"], str)
    assert set(r.json()) <= set(error_schema(spec, "/api/articles/{article_id}", "get", 404)["properties"])
    r = keyed.get("/api/search", params={"q": "x"})
    assert r.status_code == 401 and set(r.json()) == {"detail"}


def test_content_types_and_security_schemes_are_declared(spec: dict[str, Any]) -> None:
    assert list(spec["paths"]["/api/chat/stream"]["post"]["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "text/event-stream" in spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    [metrics_type] = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert metrics_type.startswith("text/plain")
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["BearerKey"].items()
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= schemes["ApiKeyHeader"].items()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path not in ("/healthz", "/readyz"):
                assert {"BearerKey": []} in op.get("security", []), (method, path)


def test_dependency_failure_is_a_503_with_retry_after(keyed: TestClient, service: FakeQAService,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise DependencyUnavailable("the vector store (Chroma)", "ConnectError")

    monkeypatch.setattr(service, "search", down)
    r = keyed.get("/api/search", params={"q": "Germany"}, headers=AUTH)
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    assert r.json() == {"detail": "the vector store (Chroma) is unavailable (ConnectError); try again shortly"}
