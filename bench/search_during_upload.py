"""GET /api/search latency while a large upload is being ingested (loopback, bounded).

Starts `qa serve --ingest-samples` over a throwaway index on a free loopback port (or uses
--url), measures /api/search sequentially when idle, then again while one large JSONL
upload (BBC articles from ../shared/corpus/bbc, else generated text) is ingested, and
prints p50/p95/max of both and their ratio. A large upload is a background job (202): the
script follows it (GET /api/jobs/{id}) and measures until the job has ended. The upload shares the encoder with queries:
ingest encodes in small batches and a waiting query goes first (qa_service/embeddings.py).

    python bench/search_during_upload.py                 # 4.9 MB upload (the API's limit is 5 MB)
    python bench/search_during_upload.py --mb 1 --idle 40
    python bench/search_during_upload.py --no-positions     # without spaCy at ingest
    python bench/search_during_upload.py --url http://127.0.0.1:8000 --api-key KEY
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from bench_server import serve

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpus" / "bbc"
QUERIES = ["Rutte peace talks", "chip plant subsidies Dresden", "tourist tax Lisbon", "malaria vaccine Malawi",
           "train drivers strike", "NATO military aid Ukraine", "water use of the factory", "Kremlin reaction"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")


def summary(latencies: list[float]) -> dict[str, float | int]:
    return {"n": len(latencies), "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p95_ms": round(1000 * percentile(latencies, 0.95), 1), "max_ms": round(1000 * max(latencies), 1)}


def upload_payload(max_bytes: int) -> bytes:
    """A JSONL feed of distinct articles, just under max_bytes."""
    lines: list[bytes] = []
    size = 0
    files = sorted(BBC.glob("*/*.txt")) if BBC.is_dir() else []
    n = 0
    while True:
        if files and n < len(files):
            text = files[n].read_bytes().decode("utf-8", errors="replace").strip()
            title, _, body = text.partition("\n")
        elif files:
            break  # the corpus is used up
        else:
            title = f"Generated report {n}"
            body = "\n\n".join(f"Paragraph {p} of report {n}: the council said the harbour plan would cost "
                               f"{n * 7 + p} million and warned of delays until March." for p in range(12))
        line = json.dumps({"id": f"bench-{n}", "title": title.strip() or f"Untitled {n}",
                           "body": body.strip() or title}).encode() + b"\n"
        if size + len(line) > max_bytes:
            break
        lines.append(line)
        size += len(line)
        n += 1
    return b"".join(lines)


@contextmanager
def local_server(key: str, startup_timeout: float, env: dict[str, str]) -> Iterator[str]:
    index = Path(tempfile.mkdtemp(prefix="qa-bench-upload-"))
    with serve(index, env, extra_args=("--ingest-samples",), api_key=key,
               startup_timeout=startup_timeout) as server:
        yield server.url


def search_loop(client: httpx.Client, count: int, until: threading.Event | None = None,
                times: list[float] | None = None) -> list[float]:
    latencies: list[float] = []
    for i in range(count):  # bounded even when the upload never ends
        if until is not None and until.is_set():
            break
        started = time.perf_counter()
        r = client.get("/api/search", params={"q": QUERIES[i % len(QUERIES)], "k": 5})
        latencies.append(time.perf_counter() - started)
        if times is not None:
            times.append(started)
        if r.status_code != 200:
            raise SystemExit(f"search failed: {r.status_code} {r.text[:200]}")
        if until is not None:
            time.sleep(0.05)  # a steady stream of users, not a tight loop competing for the GIL
    return latencies


def follow_job(client: httpx.Client, href: str, timeout: float, outcome: dict[str, object]) -> dict[str, object]:
    """Poll GET /api/jobs/{id} until the job ends; a dropped connection is retried (a GET)."""
    deadline = time.monotonic() + timeout
    job: dict[str, object] = {"status": "queued"}
    errors = 0
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            job = client.get(href).json()
        except httpx.TransportError:
            errors += 1
            if errors > 10:
                raise
    outcome["job"] = {k: job.get(k) for k in ("status", "progress", "error")}
    outcome["poll_retries"] = errors
    result = job.get("result")
    return result if isinstance(result, dict) else {}


def run(url: str, key: str, args: argparse.Namespace) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    payload = upload_payload(int(args.mb * 1_000_000))
    with httpx.Client(base_url=url, headers=headers, timeout=args.timeout) as client:
        search_loop(client, 5)  # warm-up
        idle = search_loop(client, args.idle)
        done = threading.Event()
        outcome: dict[str, object] = {}

        def upload() -> None:
            # Its own connections: the search loop's client is busy on the other thread.
            started = time.perf_counter()
            try:
                with httpx.Client(base_url=url, headers=headers, timeout=args.timeout) as own:
                    r = own.post("/api/articles", files={"file": ("bench.jsonl", payload, "application/x-ndjson")},
                                 timeout=args.upload_timeout)
                    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                    if r.status_code == 202:  # a background job (QA_ASYNC_UPLOAD_BYTES): follow it to its end
                        outcome["accepted_s"] = round(time.perf_counter() - started, 2)
                        body = follow_job(own, body["href"], args.upload_timeout, outcome)
                outcome.update(status=r.status_code, added=len(body.get("added", [])),
                               failed=len(body.get("failed", [])))
            except httpx.HTTPError as exc:
                outcome.update(status=f"error: {type(exc).__name__}")
            outcome["seconds"] = round(time.perf_counter() - started, 1)
            done.set()

        thread = threading.Thread(target=upload)
        began = time.perf_counter()
        thread.start()
        time.sleep(1.0)  # let the upload reach the server and start parsing
        times: list[float] = []
        during = search_loop(client, args.max_during, until=done, times=times)
        thread.join(args.upload_timeout)
        span = max(time.perf_counter() - began, 1e-9)  # the upload's duration, as seen from here
        # Idle again, over the larger index (the "during" searches saw it grow from one size to the
        # other), once the BM25 rebuild that follows the last commit has had time to finish.
        time.sleep(args.settle)
        idle_after = search_loop(client, args.idle)
    idle_s, during_s = summary(idle), summary(during)
    # p95 per tenth of the upload: shows whether slow searches cluster (a commit) or spread.
    phases = [[lat for t, lat in zip(times, during, strict=True) if k / 10 <= (t - began) / span < (k + 1) / 10]
              for k in range(10)]
    after_s = summary(idle_after)
    return {"upload_bytes": len(payload), "upload": outcome, "idle": idle_s, "idle_after": after_s,
            "during_upload": during_s,
            "p95_ratio": round(during_s["p95_ms"] / idle_s["p95_ms"], 2),
            "p95_ratio_to_idle_after": round(during_s["p95_ms"] / after_s["p95_ms"], 2),
            "p95_ms_by_tenth_of_upload": [round(1000 * percentile(p, 0.95), 1) if p else None for p in phases],
            # When the slowest search started, as a fraction of the upload (commits come at the end).
            "slowest_at": round((times[during.index(max(during))] - began) / span, 3) if during else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server (default: start one on loopback)")
    parser.add_argument("--api-key", default="bench-key")
    parser.add_argument("--mb", type=float, default=4.9, help="upload size in MB (the API accepts up to 5)")
    parser.add_argument("--idle", type=int, default=60, help="idle searches")
    parser.add_argument("--max-during", type=int, default=12000,
                        help="cap on searches during the upload (one per ~0.1 s: covers a 20-minute upload)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per search request")
    parser.add_argument("--upload-timeout", type=float, default=1800.0)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds between the upload's end and the idle-after searches")
    parser.add_argument("--no-positions", action="store_true",
                        help="serve without the positions layer (isolates the encoder's share)")
    args = parser.parse_args()
    if not (0 < args.mb <= 50 and 1 <= args.idle <= 10_000 and 1 <= args.max_during <= 100_000):
        parser.error("mb 0..50, idle 1..10000, max-during 1..100000 (this is a bounded test)")
    if args.url:
        result = run(args.url, args.api_key, args)
    else:
        env = {"QA_POSITIONS_ENABLED": "false"} if args.no_positions else {}
        with local_server(args.api_key, startup_timeout=300, env=env) as url:
            result = run(url, args.api_key, args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
