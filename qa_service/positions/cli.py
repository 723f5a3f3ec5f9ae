"""`qa positions` and `qa timeline`: rich tables (or JSON) over the stored entries.

Registered on the main Typer app by qa_service/cli.py: `register(app)`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from qa_service.config import Settings

if TYPE_CHECKING:
    from qa_service.positions.index import PositionsIndex


def _index() -> PositionsIndex:
    from qa_service.positions.index import PositionsIndex  # imported late: spaCy slows `qa --help`

    return PositionsIndex(Settings(), nlp=None)  # queries need no spaCy pipeline


def positions(
    actor: Annotated[str | None, typer.Argument(help="actor name, surname, alias or affiliation")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="topic or word in the stance")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Who holds which stance, each with its verbatim quote and paragraph."""
    found = _index().positions(actor=actor, topic=topic)
    if as_json:
        typer.echo(json.dumps({"positions": [p.model_dump() for p in found]}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Positions ({len(found)})", show_lines=True)
    for col in ("actor", "verb", "stance", "topic", "paragraph"):
        table.add_column(col, overflow="fold")
    for p in found:
        actor_cell = escape(p.actor) + (f"\n[dim]{escape(p.role)}[/dim]" if p.role else "")
        kind = "quoted" if p.direct else "reported"
        table.add_row(actor_cell, f"{p.verb}\n[dim]{kind}[/dim]", f"“{escape(p.stance)}”",
                      p.topic or "", f"{p.paragraph_id}\n[dim]{p.published or ''} {p.start}:{p.end}[/dim]")
    Console().print(table)
    if not found:
        raise typer.Exit(code=1)


def timeline(
    actor: Annotated[str | None, typer.Option("--actor", "-a", help="only events with this actor")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="only events about this")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Dated events in order, each with the sentence that states it and its paragraph.

    Dates whose year no one states ("December 3" in an undated article) come last, as
    "--12-03", marked "year unknown".
    """
    found = _index().store.timeline(actor=actor, topic=topic, include_yearless=True)
    if as_json:
        typer.echo(json.dumps({"events": [e.model_dump() for e in found]}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Timeline ({len(found)})", show_lines=True)
    for col in ("date", "what happened", "who / where", "paragraph"):
        table.add_column(col, overflow="fold")
    for e in found:
        who = escape(", ".join(e.actors)) + (f"\n@ {escape(e.place)}" if e.place else "")
        precision = e.precision if not e.date.startswith("--") else f"{e.precision}, year unknown"
        when = f"{e.date}\n[dim]{precision}: “{escape(e.date_text)}”[/dim]"
        table.add_row(when, escape(e.description), who,
                      f"{e.paragraph_id}\n[dim]{e.start}:{e.end}[/dim]")
    Console().print(table)
    if not found:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("positions")(positions)
    app.command("timeline")(timeline)
