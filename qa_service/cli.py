"""The `qa` command: a thin layer over QAService. Errors become exit codes here only."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qa_service.config import Settings
from qa_service.errors import DependencyUnavailable, NotFoundError, QAError

app = typer.Typer(help="Question answering over news articles, with verified paragraph citations.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")
EXIT_UNAVAILABLE = 75  # sysexits EX_TEMPFAIL: a dependency is down, the same command may work later


def get_settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def get_service(settings: Settings | None = None) -> Any:
    from qa_service.service import build_service

    return build_service(settings or get_settings())


def run(fn: Callable[[], T]) -> T:
    """Turn the project's errors into clean exits (2: bad input/state, 75: try again later, 1: other failures)."""
    try:
        return fn()
    except DependencyUnavailable as exc:
        err.print(f"[red]unavailable:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)  # one line, any width
        raise typer.Exit(EXIT_UNAVAILABLE) from None
    except NotFoundError as exc:
        err.print(f"[red]not found:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except QAError as exc:  # (messages repeat user input: printed as text, not markup)
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked recursively).")],
           as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False) -> None:
    """Ingest articles (.txt, .md, .html, .jsonl). Unchanged files cost no embedding work."""
    service = run(get_service)
    report = run(lambda: service.ingest(paths, progress=not as_json and sys.stderr.isatty()))
    summary = {"added": len(report.added), "updated": len(report.updated), "unchanged": len(report.unchanged),
               "failed": len(report.failed), "paragraphs": report.paragraphs, "chunks": report.chunks,
               "seconds": report.seconds, "failures": [{"where": w, "reason": r} for w, r in report.failed],
               "articles": report.outcomes()}  # each article's id and status, as the upload API lists them
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        for where, reason in report.failed:
            err.print(f"[yellow]skipped[/yellow] {where}: {reason}")
        console.print(
            f"added {summary['added']}, updated {summary['updated']}, unchanged {summary['unchanged']}, "
            f"failed {summary['failed']}; {report.paragraphs} paragraphs, {report.chunks} chunks embedded "
            f"in {report.seconds:.1f} s"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def remove(article_id: str) -> None:
    """Delete one article and all its paragraphs from the index."""
    service = run(get_service)
    run(lambda: service.remove(article_id))
    console.print(f"removed {article_id}")


@app.command()
def search(query: str,
           k: Annotated[int, typer.Option("-k", help="How many paragraphs.")] = 5,
           source: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
           date_from: Annotated[str | None, typer.Option("--from", help="Published on/after YYYY-MM-DD.")] = None,
           date_to: Annotated[str | None, typer.Option("--to", help="Published on/before YYYY-MM-DD.")] = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Ranked paragraphs for a query (hybrid dense + BM25)."""
    from qa_service.service_types import SearchFilters

    service = run(get_service)
    results = run(lambda: service.search(query, k=k, filters=SearchFilters(source=source, date_from=date_from,
                                                                          date_to=date_to)))
    if as_json:
        print(json.dumps({"results": [r.model_dump() for r in results]}, ensure_ascii=False))
        return
    table = Table(show_lines=True)
    for col in ("#", "score", "paragraph", "text"):
        table.add_column(col)
    for i, r in enumerate(results, 1):
        table.add_row(str(i), f"{r.score:.4f}", f"{r.title}\n{r.paragraph_id}", r.text)
    console.print(table)


def print_answer(answer: Any) -> None:
    console.print(answer.answer, highlight=False)
    for c in answer.citations:
        console.print(f"  [bold][{c.marker}][/bold] {c.title} ({c.source or 'unknown source'}, "
                      f"{c.published or 'undated'}) {c.paragraph_id}", highlight=False)
        console.print(f"      \u201c{c.quote}\u201d", style="italic", highlight=False)


@app.command()
def ask(question: str,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer object as JSON.")] = False,
        generator: Annotated[str | None, typer.Option(help="extractive | openai/MODEL | ollama/MODEL")] = None
        ) -> None:
    """Answer one question with verified citations (or say the articles don't cover it)."""
    service = run(lambda: get_service(get_settings(generator=generator)))
    answer = run(lambda: service.ask(question))
    if as_json:
        print(answer.model_dump_json())
    else:
        print_answer(answer)


@app.command()
def chat(generator: Annotated[str | None, typer.Option()] = None) -> None:
    """Interactive conversation in the terminal; follow-up questions use the history."""
    service = run(lambda: get_service(get_settings(generator=generator)))
    console.print("Ask about the articles. Empty line or Ctrl-D to quit.")
    cid = None
    while True:
        try:
            question = console.input("[bold green]? [/bold green]")
        except (EOFError, KeyboardInterrupt):
            break
        if not question.strip():
            break
        try:
            answer = service.ask(question, conversation_id=cid)
        except QAError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            continue
        cid = answer.conversation_id
        if answer.standalone_question.strip() != question.strip():  # how the follow-up was understood
            console.print(f"[dim](understood as: {escape(answer.standalone_question)})[/dim]")
        print_answer(answer)


@app.command()
def stats() -> None:
    """What the index holds."""
    from qa_service.service import index_stats

    print(json.dumps(run(lambda: index_stats(get_settings()))))


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
          ingest_samples: Annotated[bool, typer.Option(help="Ingest the bundled sample articles if the index lacks them.")] = False,
          ) -> None:
    """Run the web service (chat page, JSON/SSE/OpenAI-compatible API, Slack events)."""
    import uvicorn

    from qa_service.api.app import create_app

    settings = get_settings(host=host, port=port)
    logging.getLogger("qa_service").setLevel(logging.INFO)  # start-up notes (e.g. Slack on/off)
    # The app builds the service in its lifespan; with Chroma down it starts not ready and
    # builds (and ingests the samples) once Chroma answers.
    build = (lambda s: add_samples(s, get_service(s))) if ingest_samples else None
    uvicorn.run(create_app(settings, build=build), host=settings.host, port=settings.port, log_level="info")


def add_samples(settings: Settings, service: Any) -> Any:
    """Ingest the bundled sample corpus unless the index already holds articles; the service back."""
    if not service.article_records():
        report = service.ingest([settings.sample_dir], progress=sys.stderr.isatty())
        err.print(f"ingested {len(report.added)} sample articles ({report.paragraphs} paragraphs)")
    return service


def ensure_samples(settings: Settings, service: Any | None = None) -> None:
    """Ingest the bundled sample corpus unless the index already holds articles."""
    service = service or run(lambda: get_service(settings))
    run(lambda: add_samples(settings, service))


@app.command("init-samples")
def init_samples() -> None:
    """Ingest the bundled sample articles if the index lacks them (used by `make run`)."""
    ensure_samples(get_settings())


@app.command("eval")
def eval_(dataset: Annotated[Path, typer.Argument(help="Gold questions, JSONL (see docs/evaluation.md).",
                                                  exists=True, dir_okay=False, readable=True)],
          more_articles: Annotated[list[Path] | None, typer.Argument(
              help="Further --articles paths: `--articles A B C` reads as --articles A, B, C.", exists=True)] = None,
          articles: Annotated[list[Path] | None, typer.Option(
              help="Build a temporary index from these paths (repeat, or list several).", exists=True)] = None,
          k: Annotated[int, typer.Option(help="Cutoff of recall@k and hit@k.")] = 10,
          generator: Annotated[str | None, typer.Option(help="Override the configured generator.")] = None,
          out: Annotated[Path | None, typer.Option(help="Write summary, results.jsonl and the report here.")] = None,
          compare: Annotated[bool, typer.Option(help="Also score BM25-only, dense-only and hybrid.")] = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False) -> None:
    """Score retrieval, citations and answers on a gold question set."""
    from qa_service.evaluation import EvalOptions, run_evaluation
    from qa_service.evaluation.report import render_markdown
    from qa_service.service import build_service

    if more_articles and not articles:
        raise typer.BadParameter("extra paths are only accepted after --articles")
    options = EvalOptions(dataset=dataset, articles=[*(articles or []), *(more_articles or [])], k=k, generator=generator, out=out,
                          compare=compare, progress=sys.stderr.isatty())
    outcome = run(lambda: run_evaluation(options, get_settings(), build_service))
    for bad in outcome.summary["invalid_lines"]:
        err.print(f"[yellow]{dataset}:{bad['line']}[/yellow] skipped: {bad['error']}")
    run_info = outcome.summary.get("run", {})
    if run_info.get("ingest_failures"):
        err.print(f"[yellow]{run_info['ingest_failures']} of the --articles files could not be ingested[/yellow]")
    if options.articles and not run_info.get("ingested_paragraphs"):
        # Scores over an empty index are all zero and say nothing: not a successful run.
        err.print("[red]error:[/red] no paragraph was ingested from --articles; nothing was evaluated")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(outcome.summary, ensure_ascii=False))
    else:
        console.print(render_markdown(outcome.summary).split("## Plots")[0], highlight=False)
    if out:
        err.print(f"wrote {len(outcome.written)} files to {out}")


# `qa positions` and `qa timeline` (structured positions/events layer).
from qa_service.positions.cli import register as _register_positions  # noqa: E402

_register_positions(app)


if __name__ == "__main__":
    app()
