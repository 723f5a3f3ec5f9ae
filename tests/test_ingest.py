"""Incremental, idempotent ingestion; updates replace; remove; kill -9 recovery; model guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, SAMPLES

from qa_service.config import Settings
from qa_service.errors import IndexMismatchError, NotFoundError
from qa_service.service import build_service


def _article(i: int, extra: str = "") -> str:
    paras = [f"Paragraph {j} of story {i} about harbour number {i * 7 + j} and the mayor's plan {extra}."
             for j in range(1, 6)]
    return f"Story number {i} headline\n\n" + "\n\n".join(paras) + "\n"


def _consistent(service) -> tuple[int, int]:
    """(paragraphs, chunks) and assert there is no duplicate or orphan chunk."""
    records = service.store.article_records()
    raw = service.store.all_chunks(include_documents=False)
    assert len(raw["ids"]) == len(set(raw["ids"]))
    for meta in raw["metadatas"]:
        assert meta["article_id"] in records, f"orphan chunk of {meta['article_id']}"
        assert records[meta["article_id"]].content_hash == meta["content_hash"]
    paragraphs = {m["paragraph_id"] for m in raw["metadatas"]}
    assert sum(r.paragraphs for r in records.values()) == len(paragraphs)
    return len(paragraphs), len(raw["ids"])


def test_reingest_is_idempotent_update_replaces_and_remove_deletes(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"s{i}.txt").write_text(_article(i))
    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=embedder)
    first = service.ingest([corpus])
    assert len(first.added) == 3 and first.paragraphs == 15 and not first.failed
    again = service.ingest([corpus])
    assert len(again.unchanged) == 3 and again.chunks == 0 and not again.added and not again.updated

    (corpus / "s1.txt").write_text("Story number 1 headline\n\nOnly one paragraph now, about a bridge.\n")
    changed = service.ingest([corpus])
    assert len(changed.updated) == 1 and len(changed.unchanged) == 2
    assert _consistent(service) == (11, 11)
    hits = service.search("harbour number 8 mayor", k=20)
    assert all(not h.paragraph_id.startswith(changed.updated[0] + ":p2") for h in hits)

    service.remove(changed.updated[0])
    assert _consistent(service) == (10, 10)
    with pytest.raises(NotFoundError):
        service.remove("no-such-article")


def test_titles_that_collide_get_distinct_stable_ids(tmp_path, fake_embedder):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Same headline\n\nFirst body text here.\n")
    b.write_text("Same headline\n\nA different body text.\n")
    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=fake_embedder)
    ids = service.ingest([a, b]).added
    assert len(set(ids)) == 2 and "same-headline" in ids
    again = service.ingest([b, a])
    assert sorted(again.unchanged) == sorted(ids)


def test_broken_files_are_reported_and_the_rest_is_ingested(tmp_path, fake_embedder):
    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=fake_embedder)
    report = service.ingest([FIXTURES / "broken", SAMPLES / "feed.jsonl"])
    assert len(report.failed) == 5
    assert len(report.added) == 4  # 2 feed articles, the good JSONL line, the repaired Latin-1 article


def test_cli_ingest_exit_status_and_summary(tmp_path):
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx")}
    proc = subprocess.run([sys.executable, "-m", "qa_service.cli", "ingest", "--json", str(FIXTURES / "broken")],
                          env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 1, proc.stderr
    import json

    summary = json.loads(proc.stdout)
    assert summary["failed"] == 5 and summary["added"] == 2
    assert any("binary.txt" in f["where"] for f in summary["failures"])
    # Each article by id and status, in the upload API's shape.
    statuses = [a["status"] for a in summary["articles"]]
    assert statuses.count("added") == 2 and statuses.count("failed") == 5
    assert all(a["article_id"] for a in summary["articles"] if a["status"] == "added")


def test_index_refuses_to_mix_embedding_models(tmp_path, fake_embedder, embedder):
    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=fake_embedder)
    service.ingest([SAMPLES / "feed.jsonl"])
    with pytest.raises(IndexMismatchError, match="re-ingest|Re-ingest"):
        build_service(Settings(index_dir=tmp_path / "idx"), embedder=embedder)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may go unreaped where PID 1 does not reap)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_kill_9_mid_ingest_then_reingest_matches_a_clean_ingest(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(120):
        (corpus / f"s{i:03d}.txt").write_text(_article(i))
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx"), "QA_INGEST_FLUSH_CHUNKS": "40"}
    proc = subprocess.Popen([sys.executable, "-m", "qa_service.cli", "-v", "ingest", str(corpus)], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT)
    commits = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if "committed" in line:
            commits += 1
            if commits == 3:
                children = _children(proc.pid)  # the positions worker and multiprocessing's tracker
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=30)
    assert commits == 3 and proc.returncode == -signal.SIGKILL
    assert children, "the bulk ingest parses in a worker process"
    gone = time.monotonic() + 60  # the worker watches its parent: no orphan left holding a spaCy model
    while any(_running(pid) for pid in children) and time.monotonic() < gone:
        time.sleep(0.2)
    assert not [pid for pid in children if _running(pid)]

    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=embedder)
    report = service.ingest([corpus])
    assert not report.failed
    assert len(report.unchanged) >= 3 * 40 // 5 - 8  # work committed before the kill is kept
    assert _consistent(service) == (600, 600)
