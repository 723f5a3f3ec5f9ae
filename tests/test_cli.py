"""The `qa` CLI's read-only commands start without what they do not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

QA = Path(sys.executable).parent / "qa"
ROOT = Path(__file__).resolve().parent.parent


def test_qa_stats_reads_the_index_without_loading_a_model(sample_service) -> None:
    """`qa stats` took 11-13 s on a small index, nearly all of it loading the embedding model and
    spaCy; it reads Chroma alone now and says what the service says."""
    index = sample_service.settings.index_dir
    probe = ("import json, sys; from qa_service.cli import app; from qa_service.config import Settings; "
             "from qa_service.service import index_stats; "
             f"s = index_stats(Settings(index_dir={str(index)!r})); "
             "print(json.dumps([s, sorted(m for m in ('sentence_transformers', 'spacy', 'torch') if m in sys.modules)]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stats, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []  # no model library imported, for `qa --help` either (the CLI module is imported)
    assert stats == sample_service.stats() and stats["articles"] > 0
    cli = subprocess.run([str(QA), "stats"], cwd=ROOT, env={**env, "QA_INDEX_DIR": str(index)},
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0 and json.loads(cli.stdout) == stats, cli.stderr
