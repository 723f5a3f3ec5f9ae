"""schemathesis against the running app (issue 15, point 11 and the CI gain): the real `qa serve`
(real embedding model, real embedded Chroma, the sample articles in a temp index) fuzzed from
its own OpenAPI document, valid and invalid inputs alike.

Every response must be no 5xx, and must match the document: declared status, content type,
headers and body schema. A bounded number of examples per operation keeps the run short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from live_server import LiveServer
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

KEY = "schemathesis-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES = 16  # per operation and generation mode: about 700 requests, under 3 minutes on 2 cores
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
SEEN: Counter[int] = Counter()  # status codes answered, for the summary line


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index = tmp_path_factory.mktemp("schemathesis-index")
    server = LiveServer({"QA_INDEX_DIR": str(index), "QA_API_KEY": KEY, "QA_GENERATOR": "extractive"},
                        index.parent / "schemathesis-server.log", args=("--ingest-samples",))
    try:
        server.wait("/readyz", timeout=300)
        yield server.url
    finally:
        server.stop()
        print(f"\nschemathesis: {sum(SEEN.values())} requests, status codes {dict(sorted(SEEN.items()))}")


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, failures: list[str]) -> None:
    """EXAMPLES cases of one operation; failures are collected (not raised: no shrinking, all reported)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=120)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup, or a failed connection
            failures.append(f"{operation.label} ({mode.value}): {str(exc)[:600]}\n  {case.as_curl_command(AUTH)}")
            return
        SEEN[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:  # negative mode on an operation with nothing to get wrong (GET /healthz)
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_app_matches_its_openapi_document(app_url: str) -> None:
    assert httpx.get(f"{app_url}/openapi.json").status_code == 401  # the document itself needs the key
    schema = schemathesis.openapi.from_url(f"{app_url}/openapi.json", headers=AUTH, timeout=30)
    schema.config.update(base_url=app_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, failures)
    assert sum(SEEN.values()) >= len(operations) * EXAMPLES  # the cases really ran
    assert not failures, f"{len(failures)} failing cases:\n" + "\n".join(failures)
