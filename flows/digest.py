"""The digest flow and `newswatch digest`: what is new since the last digest, printed or delivered once.

Flow: load the watch config -> build each destination's digest from the warehouse, deliver it with
apprise and record the outcome in the ledger (alerts.send_digests) -> publish every digest as a
Prefect markdown artifact, so the Prefect UI shows them. Without --send the CLI only reads the
warehouse and prints; with --send it runs this flow (behind the `digest` deployment in prefect.yaml).
"""
from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from alerts import (
    FORMATS, DestinationError, Digest, DigestRun, DigestSettings, parse_destinations, parse_since, preview_digest, render,
    SinceError, send_digests, subject,
)
from flows.config import ConfigError, WatchConfig, load_config
from warehouse.connection import open_reader
from warehouse.errors import WarehouseError, WarehouseNotFound

LOGGER = logging.getLogger(__name__)


def digest_settings(watch: WatchConfig) -> DigestSettings:
    """The alerts room's view of a watch config: plain values, no config types."""
    return DigestSettings(watch=watch.name, notify=watch.digest.notify, title=watch.digest.title,
                          max_updates=watch.digest.max_updates)


def artifact_key(watch: str) -> str:
    """A Prefect artifact key for the watch's digests (lowercase letters, digits, dashes)."""
    return "digest-" + (re.sub(r"[^a-z0-9]+", "-", watch.lower()).strip("-") or "watch")


@dataclass(frozen=True)
class DigestFlowResult:
    """What one digest flow run did."""

    digests: tuple[Digest, ...]  # the digests sent, or the preview when nothing was sent
    run: DigestRun | None  # None when not sending


def _publish(digest: Digest, note: str = "") -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=(note + "\n\n" if note else "") + render(digest, "markdown"),
                             key=artifact_key(digest.watch), description=subject(digest))


def digest_flow_body(config_path: str, db_path: str, send: bool = True, since: Optional[str] = None) -> DigestFlowResult:
    """Deliver each channel of the watch the digest it is owed and record it; publish the digests as artifacts."""
    from prefect import get_run_logger

    logger = get_run_logger()
    watch = load_config(config_path)
    settings = digest_settings(watch)
    since_at = parse_since(since) if since else None
    run = None
    if send and settings.notify:
        run = send_digests(db_path, settings, since=since_at)
        for delivery in run.deliveries:
            logger.info("digest %s to %s: %s%s", delivery.digest_id, delivery.destination, delivery.status,
                        f" ({delivery.error})" if delivery.error else "")
        for sent in run.digests:
            _publish(sent)
        if run.digests:
            return DigestFlowResult(digests=run.digests, run=run)
    # Nothing was sent (no channels, or every channel up to date): the artifact still shows the period.
    reader = open_reader(Path(db_path))
    try:
        preview = preview_digest(reader, settings, since=since_at)
    finally:
        reader.close()
    _publish(preview, note="" if run is None else "*Nothing new to send: every channel is up to date.*")
    return DigestFlowResult(digests=(preview,), run=run)


def __getattr__(name: str):
    # The flow object is built on first use (PEP 562): importing prefect takes seconds, and the CLI
    # imports this module for every command. `flows/digest.py:digest` resolves through here.
    if name == "digest":
        from prefect import flow

        built = flow(name="digest", log_prints=False)(digest_flow_body)
        globals()["digest"] = built
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- the CLI command ---------------------------------------------------------------------------

_HELP = """Print the digest of what is new, or deliver it to the watch's channels with --send.

By default the digest covers what the channels of `[digest] notify` have not received yet
(everything, the first time); --since covers what was found since then instead. With --send it
runs the `digest` Prefect flow: each channel gets its digest once, a failed channel is retried
next time, and each delivery is recorded in the warehouse's `digest_delivery` table.

Examples:

\b
  newswatch digest                         # Markdown of what is new
  newswatch digest --since 7d --format html --output digest.html
  newswatch digest --format atom --output updates.atom
  newswatch digest --send                  # deliver once to each channel
"""


def _run_flow(config_path: Path, db_path: Path, since: str | None) -> DigestFlowResult:
    """Run the digest flow against the configured Prefect API, or a private local server."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.prefect_api import local_prefect_api

    with local_prefect_api() as api_url, temporary_settings(updates={PREFECT_API_URL: api_url}):
        from flows.digest import digest

        state = digest(str(config_path), str(db_path), send=True, since=since, return_state=True)
        return state.result()


def _print_run(result: DigestFlowResult) -> None:
    run = result.run
    assert run is not None
    for delivery in run.deliveries:
        count = len(delivery.article_ids)
        if delivery.status == "sent":
            print(f"sent {count} update{'s' if count != 1 else ''} to {delivery.destination}")
        else:
            print(f"FAILED to send {count} update{'s' if count != 1 else ''} to {delivery.destination}: "
                  f"{delivery.error} (retried next time)")
    for display in run.up_to_date:
        print(f"nothing new for {display}")


def digest_command(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Watch config (TOML). Default: $NEWSWATCH_CONFIG or watches/bachelet-xinjiang/watch.toml.", show_default=False)] = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="DuckDB file. Default: $NEWSWATCH_DB or data/newswatch.duckdb.", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Cover what was found since WHEN: an ISO date/time (2022-08-31, 2022-08-31T12:00Z) or 24h, 7d, 2w, 30m.", metavar="WHEN")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="markdown, html, text, json or atom.")] = "markdown",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the digest to FILE instead of stdout.", metavar="FILE")] = None,
    send: Annotated[bool, typer.Option("--send", help="Deliver to the watch's [digest] notify channels and record it.")] = False,
) -> None:
    # Imported here: flows.cli imports this module to register the command.
    from flows.cli import fail as _fail, resolve_config, resolve_db

    config_path, db_path = resolve_config(config), resolve_db(db)
    if fmt not in FORMATS:
        raise _fail(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    try:
        watch = load_config(config_path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    settings = digest_settings(watch)
    try:
        parse_destinations(settings.notify)  # a bad channel URL is a config error: say so before any work
    except DestinationError as exc:
        raise _fail(f"{config_path}: {exc}") from None
    try:
        since_at = parse_since(since) if since else None
    except SinceError as exc:
        raise _fail(str(exc)) from None
    if not db_path.exists():
        raise _fail(f"no warehouse at {db_path}: run `newswatch run` first or pass --db")

    if send:
        if not settings.notify:
            raise _fail(f"{config_path}: [digest] notify lists no channels; nothing to send to")
        try:
            result = _run_flow(config_path, db_path, since)
        except WarehouseError as exc:
            raise _fail(str(exc), code=1) from None
        _print_run(result)
        if output is not None and result.run and result.run.digests:
            output.write_text(render(result.run.digests[0], fmt), encoding="utf-8")
        if result.run and result.run.failed:
            raise typer.Exit(1)
        return

    try:
        reader = open_reader(db_path)
    except WarehouseNotFound as exc:
        raise _fail(str(exc)) from None
    except WarehouseError as exc:
        raise _fail(str(exc), code=1) from None
    try:
        preview = preview_digest(reader, settings, since=since_at)
    finally:
        reader.close()
    text = render(preview, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output} ({preview.counts.updates} update{'s' if preview.counts.updates != 1 else ''})",
              file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add the `digest` command to the root CLI."""
    app.command("digest", help=_HELP)(digest_command)


if __name__ == "__main__":
    from flows.config import DEFAULT_CONFIG, DEFAULT_DB

    __getattr__("digest")(str(DEFAULT_CONFIG), str(DEFAULT_DB))
