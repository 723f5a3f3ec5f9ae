"""deploy/nginx.conf run for real by Debian's nginx, pointed at replicas on loopback ports."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.live_server import ROOT, free_port, stop_process

CONF = ROOT / "deploy" / "nginx.conf"


class NginxProxy:
    def __init__(self, root: Path, upstreams: dict[str, str]) -> None:
        """upstreams: the compose service name ("api1") -> "127.0.0.1:port"."""
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        text = CONF.read_text()
        for name, address in upstreams.items():
            text, n = re.subn(rf"\bserver {name}:8000\b", f"server {address}", text)
            assert n == 1, f"deploy/nginx.conf has no upstream {name}:8000"
        text, n = re.subn(r"\blisten 8080;", f"listen 127.0.0.1:{self.port};", text)
        assert n == 1, "deploy/nginx.conf no longer listens on 8080"
        # Writable paths under the temp dir instead of the system's (the only change besides addresses).
        temp = "".join(f"    {k}_temp_path {root / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        text = text.replace("http {\n", "http {\n" + temp + f"    access_log {root / 'access.log'};\n", 1)
        (root / "nginx.conf").write_text(text)
        self.log = root / "error.log"
        self.proc = subprocess.Popen(
            [exe, "-p", str(root), "-c", str(root / "nginx.conf"),
             "-g", f"daemon off; master_process on; pid {root / 'nginx.pid'}; error_log {self.log};"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + (self.log.read_text() if self.log.exists() else ""))
            try:
                httpx.get(self.url + "/healthz", timeout=2)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        stop_process(self.proc)
