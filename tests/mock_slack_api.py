"""A small real Slack Web API stand-in on loopback, plus helpers to act as Slack toward the bot.

- `MockSlackAPI`: an HTTP server (own thread) answering /api/<method> with Slack-shaped
  JSON and recording every call. Threads are kept in memory: messages the bot posts with
  `thread_ts` join the thread, so `conversations.replies` returns what Slack would.
  `/response_url/<name>` records posts to slash-command / action response URLs.
  `GET /_calls` returns the recorded calls as JSON (for scripts/slack_smoke.py).
- `signed_headers`: Slack's v0 request signature.
- `serve_app`: a real uvicorn server for a FastAPI app in a thread.

Run standalone: `python tests/mock_slack_api.py --port 8999`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_USER_ID = "UQABOT001"
BOT_ID = "BQABOT001"
TEAM_ID = "T0000TEAM"


class MockSlackAPI:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.fail_methods: dict[str, str] = {}  # method -> Slack error code to return
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def start(self) -> MockSlackAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MockSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state for tests -------------------------------------------------------------

    def next_ts(self) -> str:
        # Monotonic, Slack-looking timestamps ("seconds.micro").
        return f"{int(time.time())}.{next(self._ts):06d}"

    def add_message(
        self, channel: str, text: str, *, user: str = "UHUMAN01", thread_ts: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """A message a person (or another bot, via extra) wrote; returns it (with its ts)."""
        ts = self.next_ts()
        msg = {"type": "message", "user": user, "text": text, "ts": ts, **extra}
        root = thread_ts or ts
        if thread_ts:
            msg["thread_ts"] = thread_ts
        with self._lock:
            self.threads.setdefault((channel, root), []).append(msg)
        return msg

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [args for name, args in self.calls if name == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda a: True,
        *,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Poll until `count` calls of `method` match; the matching calls. Raises on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.calls_to(method) if predicate(a)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} x {method} not seen in {timeout}s; calls: {self.calls}")
            time.sleep(0.05)

    # -- the Web API -----------------------------------------------------------------

    def handle(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append((method, args))
        if method in self.fail_methods:
            return {"ok": False, "error": self.fail_methods[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Test",
                "user": "qa-bot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self.next_ts()
            msg = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": args.get("text", ""),
                "ts": ts,
                "blocks": _maybe_json(args.get("blocks")),
            }
            channel = args.get("channel", "")
            if args.get("thread_ts"):
                msg["thread_ts"] = args["thread_ts"]
            with self._lock:
                self.threads.setdefault((channel, args.get("thread_ts") or ts), []).append(msg)
            return {"ok": True, "channel": channel, "ts": ts, "message": msg}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": args.get("ts"),
                "text": args.get("text"),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.replies":
            with self._lock:
                messages = list(self.threads.get((args.get("channel", ""), args.get("ts", "")), []))
            if not messages:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": messages, "has_more": False}
        return {"ok": True}  # reactions.add / reactions.remove and anything else

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(self, payload: Any, status: int = 200) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _args(self) -> dict[str, Any]:
                parsed = urllib.parse.urlparse(self.path)
                args: dict[str, Any] = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        args.update(json.loads(raw))
                    else:
                        args.update(urllib.parse.parse_qsl(raw.decode()))
                args["_authorization"] = self.headers.get("Authorization")
                return args

            def do_GET(self) -> None:  # noqa: N802
                path = urllib.parse.urlparse(self.path).path
                if path == "/_calls":
                    with mock._lock:
                        calls = [{"method": m, "args": a} for m, a in mock.calls]
                    self._reply({"calls": calls})
                elif path.startswith("/api/"):
                    self._reply(mock.handle(path[len("/api/") :], self._args()))
                else:
                    self._reply({"ok": False, "error": "not_found"}, 404)

            def do_POST(self) -> None:  # noqa: N802
                path = urllib.parse.urlparse(self.path).path
                if path.startswith("/api/"):
                    self._reply(mock.handle(path[len("/api/") :], self._args()))
                elif path.startswith("/response_url/"):
                    args = self._args()
                    with mock._lock:
                        mock.calls.append(("response_url", args | {"_path": path}))
                    self._reply({"ok": True})
                else:
                    self._reply({"ok": False, "error": "not_found"}, 404)

        return Handler


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


# -- acting as Slack toward the bot ------------------------------------------------------


def signed_headers(
    secret: str, body: bytes, *, timestamp: int | None = None, content_type: str = "application/json"
) -> dict[str, str]:
    """Headers Slack sends: v0 HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type}


def event_body(event: dict[str, Any], *, event_id: str) -> bytes:
    return json.dumps(
        {
            "token": "unused",
            "team_id": TEAM_ID,
            "api_app_id": "AQAAPP001",
            "type": "event_callback",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    ).encode()


def mention_event(msg: dict[str, Any], channel: str) -> dict[str, Any]:
    """The app_mention event Slack sends for a stored message."""
    event = {"type": "app_mention", "channel": channel, "event_ts": msg["ts"]}
    event.update({k: v for k, v in msg.items() if k != "type"})
    return event


def dm_event(msg: dict[str, Any], channel: str) -> dict[str, Any]:
    event = {"type": "message", "channel": channel, "channel_type": "im", "event_ts": msg["ts"]}
    event.update({k: v for k, v in msg.items() if k != "type"})
    return event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(app: Any, *, timeout: float = 30.0) -> Iterator[str]:
    """Run an ASGI app under a real uvicorn server on loopback; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the mock Slack Web API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    ns = parser.parse_args()
    mock = MockSlackAPI(ns.host, ns.port)
    print(f"mock Slack Web API at {mock.api_url} (recorded calls: {mock.url}/_calls)", flush=True)
    mock._server.serve_forever()
