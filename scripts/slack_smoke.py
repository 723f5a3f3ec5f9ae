#!/usr/bin/env python
"""Check the Slack bot from outside: post a signed app_mention to a running `qa serve`.

    # 1. a mock Slack Web API (records the bot's calls; GET /_calls lists them)
    python tests/mock_slack_api.py --port 8999 &
    # 2. the service, with Slack pointed at the mock
    SLACK_BOT_TOKEN=xoxb-smoke SLACK_SIGNING_SECRET=smoke-secret \
      QA_SLACK_API_URL=http://127.0.0.1:8999/api/ qa serve --port 8000 &
    # 3. this script
    python scripts/slack_smoke.py --url http://127.0.0.1:8000 --signing-secret smoke-secret \
      --mock-url http://127.0.0.1:8999 --question "What is Mark Rutte's position on peace talks?"

Without --mock-url it only checks that the event was accepted (HTTP 200); with it, it
waits for exactly one threaded reply carrying a citation link and exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
import uuid

import httpx

BOT_USER_ID = "UQABOT001"  # what tests/mock_slack_api.py answers to auth.test


def signed(secret: str, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": "application/json"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="base URL of qa serve, e.g. http://127.0.0.1:8000")
    p.add_argument("--signing-secret", required=True)
    p.add_argument("--question", default="What is Mark Rutte's position on peace talks?")
    p.add_argument("--channel", default="CSMOKE01")
    p.add_argument("--bot-user-id", default=BOT_USER_ID)
    p.add_argument("--mock-url", help="the mock Web API, to verify the reply")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    ts = f"{time.time():.6f}"
    event = {
        "type": "app_mention",
        "user": "USMOKE01",
        "text": f"<@{args.bot_user_id}> {args.question}",
        "ts": ts,
        "event_ts": ts,
        "channel": args.channel,
    }
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0000TEAM",
            "api_app_id": "AQAAPP001",
            "event": event,
            "event_id": "EvSMOKE" + uuid.uuid4().hex[:10],
            "event_time": int(time.time()),
        }
    ).encode()
    started = time.monotonic()
    resp = httpx.post(
        args.url.rstrip("/") + "/slack/events",
        content=body,
        headers=signed(args.signing_secret, body),
        timeout=10,
    )
    print(f"POST /slack/events -> {resp.status_code} in {time.monotonic() - started:.3f}s")
    if resp.status_code != 200:
        return 1
    if not args.mock_url:
        return 0

    def replies() -> list[dict]:
        calls = httpx.get(args.mock_url.rstrip("/") + "/_calls", timeout=5).json()["calls"]
        return [
            c["args"]
            for c in calls
            if c["method"] == "chat.postMessage"
            and c["args"].get("channel") == args.channel
            and c["args"].get("thread_ts") == ts
        ]

    deadline = time.monotonic() + args.timeout
    while not replies() and time.monotonic() < deadline:
        time.sleep(0.2)
    found = replies()
    if not found:
        print("FAIL: no threaded reply within the timeout")
        return 1
    print(f"threaded reply after {time.monotonic() - started:.2f}s")
    time.sleep(1.0)  # a duplicate would show up now
    found = replies()
    reply = found[0]
    blocks = reply.get("blocks")
    blocks_text = blocks if isinstance(blocks, str) else json.dumps(blocks, ensure_ascii=False)
    print("answer:", reply.get("text"))
    cited = "/articles/" in blocks_text and "[1]" in (reply.get("text") or "")
    print(f"replies in thread: {len(found)}; citation link present: {cited}")
    return 0 if len(found) == 1 and cited else 1


if __name__ == "__main__":
    sys.exit(main())
