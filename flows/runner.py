"""Run one monitor pass from the CLI: a Prefect API, the flow run, its records flushed, a summary."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from uuid import UUID

from flows.config import WatchConfig
from flows.prefect_api import local_prefect_api, started_here
from warehouse.passlock import exclusive_pass

LOGGER = logging.getLogger(__name__)


def _quiet_prefect(verbose: bool) -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")


def start_workers_ahead() -> None:
    """Start the extraction workers' fork server now, in a process that has yet to import Prefect.

    Importing Prefect keeps one core busy for most of a second and leaves the other idle; the fork
    server imports trafilatura and feedparser (about 0.2 s of CPU) on that one meanwhile, so a pass
    that finds news parses its feeds and extracts its pages without waiting for it (a 20-page pass:
    0.99 -> 0.82 s). A pass whose feeds all answer 304 leaves it unused; its flow run is no slower.
    """
    from extractors import ExtractionPool

    ExtractionPool.prepare()


def run_monitor_pass(watch: WatchConfig, db_path: Path, *, verbose: bool = False, progress: bool = False):
    """Run the monitor flow once and return its PassSummary."""
    _quiet_prefect(verbose)
    # Taken before Prefect starts, so a second pass says so at once, in one line, with no flow run.
    with exclusive_pass(db_path), local_prefect_api() as api_url:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        same = PREFECT_API_URL.value() == api_url  # already in force: skip the settings rebuild (~0.1 s)
        with contextlib.nullcontext() if same else temporary_settings(updates={PREFECT_API_URL: api_url}):
            from flows.monitor import around_flow_run, collector_spares_what_was_there, monitor, polls_beside_start

            # The pass's first and last database sessions run while Prefect starts and ends the flow
            # run (`around_flow_run`), its feeds' requests while Prefect starts it (`polls_beside_start`);
            # the pass is over, or has raised, when the block ends.
            with around_flow_run(watch, db_path) as handoff, collector_spares_what_was_there():
                # The flow's return value itself, not its state: `State.result()` costs 4-12 ms after the
                # flow run (Prefect's sync bridge); a failed flow run raises its error here either way.
                run = monitor(str(watch.path), str(db_path), show_progress=progress)
                summary = asyncio.run(polls_beside_start(handoff, watch, run))
            # A server that stops with this pass must first hold every record. One that outlives it
            # (`newswatch serve`, PREFECT_API_URL) takes them as they come; Prefect sends what this
            # process still holds when it exits (draining here would stop its senders for the next pass).
            if started_here(api_url):
                _flush_records(handoff.flow_run_id, expected_tasks=summary.task_runs)
    return summary


def _flush_records(flow_run_id: UUID | None, expected_tasks: int, timeout: float = 15.0) -> None:
    """Wait until the API holds every task run of this flow run, so stopping the server loses none."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=timeout)
    APILogWorker.drain_all(timeout=timeout)
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            done = [r for r in runs if r.state is not None and r.state.is_final()]
            if len(done) >= expected_tasks:
                return
            time.sleep(0.2)
    LOGGER.warning("the Prefect API recorded fewer task runs than ran (expected %d)", expected_tasks)
