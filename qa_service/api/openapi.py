"""The OpenAPI document, completed with what the routes' signatures do not show.

FastAPI documents success bodies and its own 422 (with `detail` as a list, which this app
never sends: api/errors.py sends a sentence plus `errors`). Here every operation also gets
the errors it can really answer with, derived from what the route depends on, so the
document cannot drift from the routes:

- 401 where the route checks the API key, 403 where it needs write access;
- 503 (with Retry-After) where it needs the service (starting, or Chroma unreachable);
- 400 and 413 where it reads a body (bad framing, over the size limit);
- 404 where a path names something by id; 422 where it takes parameters or a body;
- every 4xx/5xx a route declares by description only gets the error body's schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from qa_service.api.deps import get_service, require_api_key, require_write_access
from qa_service.api.schemas import ErrorBody, ReadyBody, ValidationErrorBody

REF = "#/components/schemas/{model}"

DESCRIPTIONS = {
    400: "the request could not be read (bad Content-Length or body framing)",
    401: "missing or wrong API key (`Authorization: Bearer <key>` or `X-API-Key`)",
    403: "writes are disabled: no API key is configured and QA_ALLOW_OPEN_WRITES is off",
    404: "nothing with that id",
    413: "the request body is over the size limit",
    422: "invalid input: `detail` says what, `errors` lists the fields",
    503: "temporarily unavailable (starting, or the vector store is unreachable); see Retry-After",
}


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dep in dependant.dependencies:
        if dep.call is not None:
            found.add(dep.call)
        found |= _calls(dep)
    return found


def route_errors(route: Any) -> list[int]:
    """The error statuses a route can answer with, from its dependencies and parameters."""
    calls = _calls(route.dependant)
    codes: list[int] = []
    if calls & {require_api_key, require_write_access}:
        codes.append(401)
    if require_write_access in calls:
        codes.append(403)
    if get_service in calls:
        codes.append(503)
    if route.body_field is not None:
        codes += [400, 413]
    if route.dependant.path_params:
        codes.append(404)
    if route.body_field is not None or route.dependant.query_params or route.dependant.path_params:
        codes.append(422)
    return codes


def _error_response(status: int, declared: dict[str, Any] | None) -> dict[str, Any]:
    model = ValidationErrorBody if status == 422 else ErrorBody
    description = (declared or {}).get("description")
    if not description or description == "Validation Error":  # FastAPI's default says less than ours
        description = DESCRIPTIONS.get(status, "error")
    response: dict[str, Any] = {"description": description}
    response["content"] = {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}
    if status in (503, 429):
        response["headers"] = {"Retry-After": {"description": "seconds to wait before retrying",
                                               "schema": {"type": "integer"}}}
    return response


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorBody, ValidationErrorBody, ReadyBody):
        schemas[model.__name__] = model.model_json_schema(ref_template=REF)
    # RouteContext: a route as included (its routers' prefixes, dependencies and responses merged).
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is None or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            for status in route_errors(route):
                responses.setdefault(str(status), {})
            for key in list(responses):
                if key.isdigit() and int(key) >= 400:
                    declared = responses[key]
                    if int(key) == 422 or "content" not in declared:
                        responses[key] = _error_response(int(key), declared)
    # FastAPI's own 422 models (detail as a list) are no longer referenced.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
