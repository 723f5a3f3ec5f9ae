"""The whole BBC corpus through the real ingest: real loaders, chunker, Chroma, BM25 and the
positions layer on, in worker processes as a bulk ingest runs it.

Real text is what hung ingest before (a date in a verbless sentence of BBC sport made the
positions extractor loop forever), so the corpus itself is the regression test: every
article is indexed and none takes more than ARTICLE_LIMIT_S of positions extraction.

The vectors come from the hashing embedder, with two extraction processes: what real text broke
was the derived layers, not the encoder, and MiniLM over all 2,225 articles cost 410-690 s of CI's
30 minutes (on 2 cores the encoder and the one spaCy worker took a core each). The packaged
MiniLM meets real articles in the sample, seed and evaluation tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED

from qa_service.config import Settings
from qa_service.service import build_service

BBC = SHARED / "corpus" / "bbc"
ARTICLE_LIMIT_S = 20.0  # BBC articles take well under 1 s each; a hang or a quadratic path would not

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1500)
def test_whole_bbc_corpus_is_indexed_with_positions_under_a_per_article_limit(tmp_path: Path,
                                                                               fake_embedder) -> None:
    if not BBC.is_dir():
        pytest.skip(f"the BBC corpus is not at {BBC} (it is read from ../shared, never copied here)")
    from qa_service.positions import PositionsIndex, load_nlp
    from qa_service.positions.workers import ExtractionWorkers

    files = sorted(BBC.glob("*/*.txt"))
    settings = Settings(index_dir=tmp_path / "idx", article_time_limit_s=ARTICLE_LIMIT_S, positions_processes=2)
    positions = PositionsIndex(settings, load_nlp())
    service = build_service(settings, embedder=fake_embedder, positions=positions)
    ingester = service.ingester
    ingester.article_time_limit_s = ARTICLE_LIMIT_S  # as Settings asks, whatever build_service passes on

    # A bulk ingest extracts in worker processes (here two), which time each article.
    factory = ingester.article_workers
    assert factory is not None and ingester.on_article is not None
    started: list[ExtractionWorkers] = []

    def tracked() -> ExtractionWorkers:
        workers = factory()
        assert isinstance(workers, ExtractionWorkers)
        started.append(workers)
        return workers

    ingester.article_workers = tracked
    report = service.ingest([BBC])

    assert not report.failed, report.failed[:10]  # no truly broken file in BBC: sport/199.txt is repaired
    assert len(report.added) == len(files) == 2225
    assert len(started) == 1
    seconds = started[0].seconds
    assert len(seconds) == len(files)
    slowest = max(seconds, key=seconds.__getitem__)
    assert seconds[slowest] < ARTICLE_LIMIT_S, (slowest, seconds[slowest])
    stored = positions.store.article_hashes()
    assert set(stored) == set(report.added)  # every article has its (possibly empty) entries
    assert len(positions.positions()) > 1000 and len(positions.timeline()) > 1000
