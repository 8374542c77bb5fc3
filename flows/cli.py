"""The `newswatch` command: parses arguments, calls the flows, formats what they return.

Every command resolves its config and database the same way: the flag, else the environment
(NEWSWATCH_CONFIG, NEWSWATCH_DB), else the defaults. Errors a user can fix exit 2 with one line;
internal failures exit 1.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from flows.config import DEFAULT_CONFIG, DEFAULT_DB, ConfigError, load_config

LOGGER = logging.getLogger(__name__)

app = typer.Typer(
    name="newswatch",
    help="Media monitoring: poll a watch's sources, keep what is news, store it in DuckDB.",
    epilog=("Examples: newswatch run; newswatch sources; newswatch digest --since 7d; "
            "newswatch sql \"select title, url from updates limit 5\"; newswatch explain URL; newswatch demo. "
            "Each command has --help."),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="Watch config (TOML). Default: $NEWSWATCH_CONFIG or " + str(DEFAULT_CONFIG),
                 show_default=False),
]
DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="DuckDB file. Default: $NEWSWATCH_DB or " + str(DEFAULT_DB), show_default=False),
]


def resolve_config(path: Path | None) -> Path:
    return path or Path(os.environ.get("NEWSWATCH_CONFIG") or DEFAULT_CONFIG)


def resolve_db(path: Path | None) -> Path:
    return path or Path(os.environ.get("NEWSWATCH_DB") or DEFAULT_DB)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"newswatch: {message}", markup=False)
    return typer.Exit(code)


@app.command()
def run(
    config: ConfigOption = None,
    db: DbOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines.")] = False,
) -> None:
    """One monitor pass: poll the sources, fetch new reports, decide, store.

    Runs as a Prefect flow run (a local Prefect server is started for it unless
    PREFECT_API_URL points at one). Exits 0 when the pass completed, even if some
    sources failed; 2 for a bad config; 1 for an internal failure.

    Example:  newswatch run --config watches/bachelet-xinjiang/watch.toml --db data/newswatch.duckdb
    """
    config_path, db_path = resolve_config(config), resolve_db(db)
    try:
        watch = load_config(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    from flows.runner import run_monitor_pass, start_workers_ahead

    from warehouse.errors import WarehouseBusyError

    start_workers_ahead()  # beside Prefect's import, which run_monitor_pass starts with

    try:
        summary = run_monitor_pass(watch, db_path, verbose=verbose, progress=sys.stdout.isatty())
    except WarehouseBusyError as exc:
        raise fail(str(exc), code=1) from None
    except Exception as exc:  # the one place an unexpected failure becomes a message and exit 1
        LOGGER.debug("monitor pass failed", exc_info=True)
        raise fail(f"the pass failed: {type(exc).__name__}: {exc}", code=1) from None
    from flows.report import print_summary

    print_summary(out, summary)


@app.command()
def sources(config: ConfigOption = None, db: DbOption = None) -> None:
    """Show every configured source with its last status, errors and counts.

    Example:  newswatch sources --db data/newswatch.duckdb
    """
    config_path, db_path = resolve_config(config), resolve_db(db)
    try:
        watch = load_config(config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    from flows.report import print_sources

    print_sources(out, watch, db_path)


@app.command()
def explain(
    url: Annotated[str, typer.Argument(help="The article's URL (any URL it was seen under) or its id.")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Print the decision for one article and the evidence behind it.

    Example:  newswatch explain https://example.org/2022/09/01/un-report-xinjiang
    """
    from flows.report import print_explanation

    watch_name = None
    config_path = resolve_config(config)
    if config_path.exists():
        try:
            watch_name = load_config(config_path).name
        except ConfigError as exc:
            raise fail(str(exc)) from None
    if not print_explanation(out, resolve_db(db), url, watch_name):
        raise fail(f"no article is known under {url}")


@app.command()
def serve(
    config: ConfigOption = None,
    db: DbOption = None,
    prefect_file: Annotated[Path, typer.Option("--prefect-file", help="Deployments file.")] = Path("prefect.yaml"),
) -> None:
    """Serve the monitor and digest schedules of prefect.yaml from this one process.

    Example:  newswatch serve            # Ctrl-C stops it
    """
    from flows.serving import serve_deployments

    try:
        serve_deployments(prefect_file, resolve_config(config), resolve_db(db), out)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None


@app.command()
def demo(
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Keep the demo database at this path.")] = None,
) -> None:
    """Run the whole pipeline offline on a small fixture world: two passes, then what was found and why.

    Example:  newswatch demo
    """
    from flows.demo import run_demo

    run_demo(out, keep)


def _register_commands() -> None:
    """Commands that live in their own modules: sql, search, export and digest."""
    from flows import cmd_sql, digest

    cmd_sql.register(app)
    digest.register(app)


_register_commands()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
