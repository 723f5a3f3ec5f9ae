"""Latency at corpus scale: /api/chat and /api/search p50/p95 on a 10k- and a 100k-paragraph index.

The large index is built without embedding anything: the articles, chunks and stored
vectors of an existing index (e.g. BBC + MultiHop-RAG, ingested once) are copied again
and again under fresh ids, each copy's vectors perturbed and re-normalised, and the
positions layer's entries copied alongside. Then a real `qa serve` (extractive answerer)
is started on it and measured: start-up time, BM25 cache build time, /api/chat and
/api/search at 1 and 8 concurrent clients, server RSS.

    QA_INDEX_DIR=/tmp/src .venv/bin/qa ingest ../shared/corpus/bbc ../shared/eval/multihop/articles.jsonl
    .venv/bin/python bench/scale.py --source /tmp/src --paragraphs 10000 100000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_server import serve  # noqa: E402
from load_chat import percentile  # noqa: E402

from qa_service.config import Settings  # noqa: E402
from qa_service.database import open_database  # noqa: E402
from qa_service.lexical import LexicalIndex  # noqa: E402
from qa_service.models import Article  # noqa: E402
from qa_service.positions import EXTRACTOR_VERSION, PositionsIndex  # noqa: E402
from qa_service.positions.models import Event, Position  # noqa: E402
from qa_service.positions.store import PositionsStore  # noqa: E402
from qa_service.store import ChromaStore, make_client  # noqa: E402

QUESTIONS_FILE = ROOT.parent / "shared" / "eval" / "multihop" / "questions-dev.jsonl"


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def renamed(text: str, old: str, new: str) -> str:
    """Ids are "<article>:p<n>[:w<m>]": swap the article part."""
    return new + text[len(old):] if text.startswith(old) else text


def build(source: Path, target: Path, paragraphs: int, noise: float, seed: int) -> dict[str, object]:
    """Copies of the source index's articles under fresh ids until `paragraphs` paragraphs are held."""
    # Each index its own SQLite state (positions included), whatever QA_DATABASE_URL says: `measure`
    # serves the target with it.
    settings = Settings(index_dir=source, database_url=None)
    src = ChromaStore(make_client(source, None), settings.collection, settings.embedding_model)
    records = src.article_records()
    articles = src.get_articles(sorted(records))
    chunks: dict[str, list[tuple[str, str, dict, list[float]]]] = {}
    total = src.chunks.count()
    for offset in range(0, total, 5000):
        got = src.chunks.get(include=["metadatas", "documents", "embeddings"], limit=5000, offset=offset)
        for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True):
            chunks.setdefault(str(meta["article_id"]), []).append((cid, doc, meta, vec))
    log(f"source: {len(articles)} articles, {sum(len(a.paragraphs) for a in articles)} paragraphs, {total} chunks")

    started = time.perf_counter()
    dst = ChromaStore(make_client(target, None), settings.collection, src.model_name)
    positions_src = PositionsIndex(settings, nlp=None).store  # (imports an older index's positions file)
    positions_dst = PositionsStore(open_database(Settings(index_dir=target, database_url=None)))
    rng = np.random.default_rng(seed)
    held, copy = 0, 0
    while held < paragraphs:
        batch: list[tuple[Article, str, int]] = []
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict] = []
        vecs: list[np.ndarray] = []
        for article in articles:
            if held >= paragraphs:
                break
            old = article.article_id
            new = old if copy == 0 else f"{old}-x{copy}"
            a = article.model_copy(deep=True)
            a.article_id = new
            for p in a.paragraphs:
                p.paragraph_id = renamed(p.paragraph_id, old, new)
            held += len(a.paragraphs)
            own = chunks.get(old, [])
            batch.append((a, records[old].origin + (f"#{copy}" if copy else ""), len(own)))
            for cid, doc, meta, vec in own:
                ids.append(renamed(cid, old, new))
                docs.append(doc)
                metas.append({**meta, "article_id": new, "paragraph_id": renamed(str(meta["paragraph_id"]), old, new)})
                v = np.asarray(vec, dtype=np.float32)
                if copy:
                    v = v + rng.normal(0, noise, v.shape).astype(np.float32)
                vecs.append(v / np.linalg.norm(v))
            copy_positions(positions_src, positions_dst, a, old)
        dst.mark_dirty()
        for lo in range(0, len(ids), dst.max_batch):
            hi = lo + dst.max_batch
            dst.chunks.upsert(ids=ids[lo:hi], documents=docs[lo:hi], metadatas=metas[lo:hi],
                              embeddings=[v.tolist() for v in vecs[lo:hi]])
        dst.put_articles(batch)
        dst.bump_generation()
        log(f"copy {copy}: {held} paragraphs, {dst.chunks.count()} chunks, {time.perf_counter() - started:.0f} s")
        copy += 1
    built = time.perf_counter() - started

    lexical = LexicalIndex(dst, target / f"bm25-{settings.collection}")
    started = time.perf_counter()
    lexical.refresh(wait=True)
    bm25 = time.perf_counter() - started
    return {"paragraphs": held, "chunks": dst.chunks.count(), "build_s": round(built, 1),
            "bm25_build_s": round(bm25, 2)}


def copy_positions(src: PositionsStore, dst: PositionsStore, article: Article, old: str) -> None:
    """The source article's stored entries, under the copy's ids."""
    entries = src.entries(old)
    entries.article_id = article.article_id
    found: list[Position | Event] = [*entries.positions, *entries.events]
    for entry in found:
        entry.article_id = article.article_id
        entry.paragraph_id = renamed(entry.paragraph_id, old, article.article_id)
    dst.replace_article(article, entries, extractor=EXTRACTOR_VERSION)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def level(url: str, path: str, questions: list[str], clients: int, requests: int) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    todo = iter(range(requests))
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        async def worker() -> None:
            nonlocal errors
            for i in todo:
                q = questions[i % len(questions)]
                t = time.perf_counter()
                if path == "/api/chat":
                    r = await client.post(path, json={"message": q})
                else:
                    r = await client.get(path, params={"q": q, "k": 8})
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - t
    return {"clients": clients, "requests": requests, "req_per_s": round(requests / seconds, 1),
            "p50_ms": round(1000 * percentile(latencies, 0.5), 1),
            "p95_ms": round(1000 * percentile(latencies, 0.95), 1), "errors": errors}


def measure(index: Path, questions: list[str], requests: int) -> dict[str, object]:
    with serve(index, {"QA_GENERATOR": "extractive", "QA_DATABASE_URL": ""}) as server:
        out: dict[str, object] = {"startup_s": round(server.startup_s, 1)}

        async def run() -> None:
            for path in ("/api/search", "/api/chat"):
                await level(server.url, path, questions, 1, 8)  # warm-up
                out[path] = [await level(server.url, path, questions, c, requests) for c in (1, 8)]

        asyncio.run(run())
        out["rss_mb"] = rss_mb(server.pid)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="an ingested index to copy (e.g. BBC + MultiHop)")
    ap.add_argument("--paragraphs", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--work", type=Path, default=None,
                    help="where the built indexes go (default: a temp dir); an index built there before is re-used")
    ap.add_argument("--questions", type=Path, default=QUESTIONS_FILE)
    ap.add_argument("--requests", type=int, default=64, help="requests per level")
    ap.add_argument("--noise", type=float, default=0.01, help="per-component std. dev. added to copied vectors")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    results = []
    for n in args.paragraphs:
        target = work / f"p{n}"
        built = target / "built.json"
        if built.exists():  # an index an earlier run built: measure it again
            row: dict[str, object] = json.loads(built.read_text())
        elif target.exists():
            raise SystemExit(f"{target} exists but was not completely built: remove it or pick another --work")
        else:
            log(f"building {target}")
            row = build(args.source, target, n, args.noise, seed=n)
            built.write_text(json.dumps(row))
        row.update(measure(target, questions, args.requests))
        results.append(row)
        log(json.dumps(row))
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = large["/api/chat"][0]["p50_ms"] / small["/api/chat"][0]["p50_ms"]  # type: ignore[index]
        results.append({"chat_p50_ratio_1_client": round(ratio, 2)})
    print(json.dumps(results, indent=2) if args.json else "\n".join(json.dumps(r) for r in results))


if __name__ == "__main__":
    main()
