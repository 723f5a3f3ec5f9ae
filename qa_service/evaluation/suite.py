"""One evaluation run end to end: index choice, answering run, optional comparison, outputs."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from qa_service.config import Settings
from qa_service.evaluation import metrics as m
from qa_service.evaluation.dataset import Dataset, load_dataset
from qa_service.evaluation.report import write_report
from qa_service.evaluation.runner import QuestionResult, SearchesAndAsks, run_dataset, run_retrieval_only
from qa_service.evaluation.summary import summarize, summarize_retrieval

# Retriever settings compared side by side by --compare (query-time settings only: all
# variants share one index, so index-time options such as header_in_index are not varied).
COMPARE_VARIANTS: dict[str, dict[str, Any]] = {
    "bm25": {"retrieval_mode": "bm25"},
    "dense": {"retrieval_mode": "dense"},
    "hybrid": {"retrieval_mode": "hybrid"},
    "hybrid-no-news-signals": {"retrieval_mode": "hybrid", "use_news_signals": False},
}


def compare_variants(settings: Settings) -> dict[str, dict[str, Any]]:
    """The variants scored side by side (settings given for the run are the base of each)."""
    return dict(COMPARE_VARIANTS)


class EvalOptions(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    dataset: Path
    articles: list[Path] = Field(default_factory=list)
    k: int = 10
    generator: str | None = None
    out: Path | None = None
    compare: bool = False
    progress: bool = True


class EvalOutcome(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    summary: dict[str, Any]
    results: list[QuestionResult]
    compare: dict[str, list[QuestionResult]] = Field(default_factory=dict)
    written: list[Path] = Field(default_factory=list)


ServiceFactory = Callable[[Settings], SearchesAndAsks]


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    # stderr, so that --json output on stdout stays machine-readable.
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
    with progress:
        yield progress


def _settings_for_run(base: Settings, options: EvalOptions, scratch: Path) -> Settings:
    # Conversations go to a scratch database, never the user's.
    update: dict[str, Any] = {"database_url": f"sqlite:///{(scratch / 'eval-state.sqlite3').resolve()}"}
    if options.articles:
        update.update(index_dir=scratch / "index", chroma_url=None)
    if options.generator:
        update["generator"] = options.generator
    return base.model_copy(update=update)


def _compare(
    settings: Settings,
    build: ServiceFactory,
    dataset: Dataset,
    k: int,
    variants: dict[str, dict[str, Any]],
    progress: Progress,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[QuestionResult]]]:
    blocks: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[QuestionResult]] = {}
    for name, overrides in variants.items():
        service = build(settings.model_copy(update=overrides))
        task = progress.add_task(f"compare {name}", total=len(dataset.questions))
        results = run_retrieval_only(
            service, dataset.questions, k, on_done=partial(_advance, progress, task)
        )
        block = summarize_retrieval(results, k)
        block["settings"] = overrides
        block["search_latency_median_s"] = m.percentile([r.latency_s or 0.0 for r in results], 50)
        blocks[name], runs[name] = block, results
        _close(service)
    return blocks, runs


def _close(service: object) -> None:
    close = getattr(service, "close", None)
    if callable(close):
        close()


def run_evaluation(
    options: EvalOptions,
    settings: Settings,
    build: ServiceFactory,
    variants: dict[str, dict[str, Any]] | None = None,
) -> EvalOutcome:
    dataset = load_dataset(options.dataset)
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp, _progress(options.progress) as progress:
        run_settings = _settings_for_run(settings, options, Path(tmp))
        service = build(run_settings)
        ingest_report = None
        if options.articles:
            progress.console.print(f"building a temporary index from {len(options.articles)} path(s)")
            ingest_report = service.ingest(list(options.articles))  # type: ignore[attr-defined]
        task = progress.add_task("questions", total=len(dataset.questions))
        results = run_dataset(
            service, dataset.questions, options.k, on_done=partial(_advance, progress, task)
        )
        _close(service)
        summary = summarize(results, options.k)
        summary["run"] = _describe_run(options, run_settings, ingest_report)
        # The threshold in force: the override, else the fitted one the service reports.
        threshold = getattr(service, "abstain_threshold", run_settings.abstain_threshold)
        summary["run"]["abstain_threshold"] = threshold
        summary["invalid_lines"] = [line.model_dump() for line in dataset.invalid]
        compare_runs: dict[str, list[QuestionResult]] = {}
        if options.compare:
            summary["compare"], compare_runs = _compare(
                run_settings, build, dataset, options.k, variants or compare_variants(run_settings), progress
            )
        written: list[Path] = []
        if options.out:
            written = write_report(
                options.out, summary, results, threshold, compare_runs or None
            )
    return EvalOutcome(summary=summary, results=results, compare=compare_runs, written=written)


def _describe_run(options: EvalOptions, settings: Settings, ingest_report: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "dataset": str(options.dataset),
        "index": "temporary (from --articles)"
        if options.articles
        else str(settings.chroma_url or settings.index_dir),
        "articles": [str(p) for p in options.articles],
        "generator": settings.generator,
        "retrieval_mode": settings.retrieval_mode,
        "header_in_index": settings.header_in_index,
        "embedding_model": settings.embedding_model,
        "abstain_threshold": settings.abstain_threshold,
        "top_k": settings.top_k,
    }
    if ingest_report is not None:
        run["ingested_articles"] = (
            len(ingest_report.added) + len(ingest_report.updated) + len(ingest_report.unchanged)
        )
        run["ingested_paragraphs"] = ingest_report.paragraphs
        run["ingest_failures"] = len(ingest_report.failed)
        run["ingest_seconds"] = round(ingest_report.seconds, 2)
    return run


def _advance(progress: Any, task: Any, *_: Any) -> None:
    progress.advance(task)
