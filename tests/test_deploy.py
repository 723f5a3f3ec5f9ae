"""deploy/ kept in step with the code: every setting the compose file sets exists, the proxy
knows every replica, the images match the client versions. (tests/test_replicas.py runs the
same topology for real, with deploy/nginx.conf itself in front.)"""

from __future__ import annotations

import re
from importlib.metadata import version
from typing import Any

import yaml

from qa_service.config import Settings
from tests.live_server import ROOT

DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def replicas(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("command", [])[:2] == ["qa", "serve"]}


def test_every_setting_the_compose_file_sets_is_read_by_the_service() -> None:
    services = compose()["services"]
    api = replicas(services)
    assert len(api) >= 2, "the compose file should run at least two replicas"
    fields = {f"QA_{name.upper()}" for name in Settings.model_fields}
    aliases = {str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias}
    for name, service in {**api, "init": services["init"]}.items():
        env = service["environment"]
        unknown = [k for k in env if k not in fields and k not in aliases]
        assert not unknown, f"{name} sets {unknown}, which Settings does not read"
        assert env["QA_DATABASE_URL"].startswith("postgresql+psycopg://")  # the driver pyproject installs
        assert env["QA_CHROMA_URL"] == "http://chroma:8000"
        # The replicas keep no state of their own: index_dir (caches only) is scratch space.
        assert any(t.startswith("/app/index") for t in service.get("tmpfs", []))
        assert service.get("init") is True, f"{name}: an init as PID 1 reaps orphaned worker processes"


def test_the_proxy_balances_exactly_the_replicas() -> None:
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = set(re.findall(r"^\s*server (\w+):8000\b", conf, flags=re.M))
    assert upstream == set(replicas(compose()["services"]))
    assert "proxy_buffering off" in conf  # the SSE stream is passed through as it is produced


def test_images_match_the_clients_and_the_build() -> None:
    services = compose()["services"]
    tag = services["chroma"]["image"].split(":")[1]
    assert tag.split(".")[:2] == version("chromadb").split(".")[:2]
    build = services["api1"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    assert services["api1"]["depends_on"]["postgres"]["condition"] == "service_healthy"
