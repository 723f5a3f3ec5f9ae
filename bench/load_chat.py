"""Bounded loopback load test of POST /api/chat at 1, 8 and 32 concurrent clients.

Each level sends a fixed number of requests (cycling through a few questions about the
bundled sample articles) and reports req/s, p50/p95 latency and the error count.

    python bench/load_chat.py                      # starts `qa serve --ingest-samples` on a free port
    python bench/load_chat.py --url http://127.0.0.1:8000 --api-key KEY
    python bench/load_chat.py --levels 1 8 32 --requests 64 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from bench_server import serve

QUESTIONS = [
    "Who is NATO's new Secretary General?",
    "What did Kyiv urgently request?",
    "Which countries increased their contributions to Ukraine?",
    "What did the Kremlin spokesman say about Ukraine joining NATO?",
    "How long did the NATO summit last?",
    "What is the capital of Mongolia?",  # off-corpus: exercises abstention
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run_level(url: str, headers: dict[str, str], concurrency: int, requests: int,
                    timeout: float) -> dict[str, float | int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as client:
        async def worker() -> None:
            nonlocal errors
            for i in counter:  # shared iterator: exactly `requests` requests in total
                started = time.perf_counter()
                try:
                    r = await client.post("/api/chat", json={"message": QUESTIONS[i % len(QUESTIONS)]})
                    ok = r.status_code == 200 and "answer" in r.json()
                except (httpx.HTTPError, ValueError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started

    return {
        "concurrency": concurrency,
        "requests": requests,
        "seconds": round(elapsed, 3),
        "req_per_s": round(requests / elapsed, 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 0.95), 1),
        "errors": errors,
    }


@contextmanager
def local_server(startup_timeout: float) -> Iterator[str]:
    """`qa serve --ingest-samples` over a throwaway index on a free loopback port."""
    index = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    with serve(index, {}, extra_args=("--ingest-samples",), startup_timeout=startup_timeout) as server:
        yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server (default: start one on loopback)")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=64, help="requests per level")
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if any(level < 1 or level > 256 for level in args.levels) or not 1 <= args.requests <= 10_000:
        parser.error("levels must be 1..256 and requests 1..10000 (this is a bounded test)")
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}

    async def bench(url: str) -> list[dict[str, float | int]]:
        await run_level(url, headers, 1, args.warmup, args.timeout)  # load caches before measuring
        return [await run_level(url, headers, level, args.requests, args.timeout) for level in args.levels]

    if args.url:
        rows = asyncio.run(bench(args.url))
    else:
        with local_server(startup_timeout=300) as url:
            rows = asyncio.run(bench(url))

    if args.json:
        print(json.dumps({"results": rows}, indent=2))
        return
    print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
    for r in rows:
        print(f"{r['concurrency']:>7} {r['requests']:>8} {r['req_per_s']:>8} {r['p50_ms']:>8} "
              f"{r['p95_ms']:>8} {r['errors']:>6}")


if __name__ == "__main__":
    main()
