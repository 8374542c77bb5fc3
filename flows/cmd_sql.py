"""CLI commands over the warehouse: `newswatch sql`, `newswatch search`, `newswatch export`.

Parsing arguments and formatting output only; the work is done by warehouse/.
"""
from __future__ import annotations

import base64
import csv
import json
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from warehouse.connection import open_reader
from warehouse.errors import QueryError, ReadOnlyViolation, WarehouseBusyError, WarehouseError, WarehouseNotFound
from warehouse.export import export_views
from warehouse.readonly import run_readonly_sql
from warehouse.search import search as search_articles

LOGGER = logging.getLogger(__name__)

DEFAULT_DB = Path("data/newswatch.duckdb")
_CELL_CHARS = 60  # long text cells are cut so a table row fits a terminal line


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    markdown = "markdown"


class ExportFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="The warehouse file. Default: $NEWSWATCH_DB, else data/newswatch.duckdb."),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


def resolve_db(flag: Path | None) -> Path:
    """The warehouse path: the flag, else $NEWSWATCH_DB, else data/newswatch.duckdb."""
    if flag is not None:
        return flag
    from_env = os.environ.get("NEWSWATCH_DB")
    return Path(from_env) if from_env else DEFAULT_DB


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"newswatch: {message}", err=True)
    return typer.Exit(code)


def _exit_for(exc: WarehouseError) -> typer.Exit:
    if isinstance(exc, (WarehouseNotFound, ReadOnlyViolation, QueryError)):
        return _fail(str(exc), 2)  # the user's mistake: usage
    if isinstance(exc, WarehouseBusyError):
        return _fail(str(exc), 1)
    return _fail(str(exc), 1)


# -- value formatting ------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A JSON-ready form of a DuckDB value: dates as ISO strings, decimals as numbers."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def text_value(value: Any) -> str:
    """A one-cell text form of a value (CSV, tables): empty for NULL, JSON for lists and structs."""
    if value is None:
        return ""
    converted = json_value(value)
    if isinstance(converted, (list, dict)):
        return json.dumps(converted, ensure_ascii=False)
    if isinstance(converted, bool):
        return "true" if converted else "false"
    return str(converted)


def _short(text: str, limit: int = _CELL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_widths(needed: Sequence[int], terminal: int, floor: int = 8) -> list[int]:
    """Column widths that fit `terminal` characters: the widest columns give way first, none below `floor`."""
    widths = [max(1, min(n, _CELL_CHARS)) for n in needed]
    room = terminal - (3 * len(widths) + 1)  # borders and padding of a rich table
    while sum(widths) > room:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= floor:
            break  # too many columns for the terminal: let the lines run long rather than hide columns
        widths[widest] -= 1
    return widths


def write_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: OutputFormat, out=None) -> None:
    """Write a result set to `out` (stdout) in the chosen format."""
    out = out or sys.stdout
    if fmt is OutputFormat.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([text_value(v) for v in row] for row in rows)
    elif fmt is OutputFormat.json:
        records = [{c: json_value(v) for c, v in zip(columns, row)} for row in rows]
        out.write(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
    elif fmt is OutputFormat.ndjson:
        for row in rows:
            out.write(json.dumps({c: json_value(v) for c, v in zip(columns, row)}, ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.markdown:
        def cell(v: Any) -> str:
            return _short(text_value(v), 200).replace("|", "\\|")

        out.write("| " + " | ".join(cell(c) for c in columns) + " |\n")
        out.write("|" + "|".join("---" for _ in columns) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(cell(v) for v in row) + " |\n")
    else:
        texts = [[" ".join(text_value(v).split()) for v in row] for row in rows]
        widths = fit_widths(
            [max([len(name)] + [len(row[i]) for row in texts]) for i, name in enumerate(columns)],
            shutil.get_terminal_size((100, 24)).columns,
        )
        table = Table(show_lines=False, header_style="bold")
        for name, width in zip(columns, widths):
            table.add_column(_short(name, width), no_wrap=True, width=width)
        for row in texts:
            table.add_row(*(_short(cell, width) for cell, width in zip(row, widths)))
        # Wide enough for the widths chosen above, so rich never squeezes a column to nothing.
        console = Console(file=out, width=sum(widths) + 3 * len(widths) + 1, soft_wrap=False)
        console.print(table)
        console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", style="dim")


# -- commands ------------------------------------------------------------------------------


def _split_sql_args(args: Sequence[str]) -> tuple[str, dict[str, str]]:
    """QUERY and the -p/--param NAME VALUE pairs from the command's free arguments."""
    params: dict[str, str] = {}
    positional: list[str] = []
    tokens = list(args)
    while tokens:
        token = tokens.pop(0)
        if token in ("-p", "--param"):
            if len(tokens) < 2:
                raise _fail(f"{token} needs a NAME and a VALUE, e.g. -p status new", 2)
            name, value = tokens.pop(0), tokens.pop(0)
            params[name.lstrip("$")] = value
        else:
            positional.append(token)
    if len(positional) > 1:
        raise _fail(f"expected one QUERY, got {len(positional)}: quote the SQL as one argument", 2)
    return (positional[0] if positional else "-"), params


_SQL_HELP = """Run read-only SQL on the warehouse; writes are refused (exit 2).

Usage: newswatch sql [QUERY | -] [-p NAME VALUE]... [--db PATH] [--format FORMAT]

QUERY is the SQL to run; `-` (or nothing) reads it from stdin. -p/--param NAME VALUE binds $NAME in the query (repeatable). The public views are articles, updates, sources and runs.

Example: newswatch sql "SELECT title, published_at FROM updates LIMIT 5" --format json

Example: newswatch sql "SELECT id, title FROM articles WHERE status = $s" -p s duplicate
"""


def sql_command(ctx: typer.Context, db: DbOption = None, fmt: FormatOption = OutputFormat.table) -> None:
    query, params = _split_sql_args(ctx.args)
    sql = sys.stdin.read() if query == "-" else query
    try:
        columns, rows = run_readonly_sql(resolve_db(db), sql, params)
    except WarehouseError as exc:
        raise _exit_for(exc) from None
    write_rows(columns, rows, fmt)


def search_command(
    query: Annotated[str, typer.Argument(help="Words to look for in titles and texts.")],
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many articles.")] = 10,
    status: Annotated[str | None, typer.Option("--status", help="Only articles with this status, e.g. new.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Full-text search of the stored articles, best match first (BM25), with a snippet.

    Example: newswatch search "Bachelet Xinjiang visit" --status new --limit 5
    """
    try:
        con = open_reader(resolve_db(db))
        try:
            hits = search_articles(con, query, limit=limit, status=status)
        finally:
            con.close()
    except WarehouseError as exc:
        raise _exit_for(exc) from None
    columns = ["id", "score", "status", "title", "url", "published_at", "snippet"]
    rows = [(h.id, round(h.score, 3), h.status, h.title, h.url, h.published_at, h.snippet) for h in hits]
    if not rows and fmt is OutputFormat.table:
        typer.echo("no articles match", err=True)
        return
    write_rows(columns, rows, fmt)


def export_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write one file per public view into.")],
    db: DbOption = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")] = ExportFormat.parquet,
) -> None:
    """Export the public views (articles, updates, sources, runs, …) to Parquet or CSV files.

    Example: newswatch export exports/ --format csv
    """
    try:
        written = export_views(resolve_db(db), directory, fmt.value)
    except WarehouseError as exc:
        raise _exit_for(exc) from None
    for path in written:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add the sql, search and export commands to the root CLI."""
    app.command(
        "sql",
        help=_SQL_HELP,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(sql_command)
    app.command("search")(search_command)
    app.command("export")(export_command)
