"""The monitor flow: one pass over a watch's sources.

poll every source (a task per source) -> drop links already stored -> fetch and extract pages
(a task per batch, extraction in a process pool) -> decide and store each batch (a task per
batch, one transaction) -> record the run. Fetching the next batch overlaps deciding this one.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from extractors import ExtractionPool, Fetcher, PollResult, Source, SourceState, poll_source
from flows import pipeline
from flows.config import load_config
from flows.progress import PassProgress
from warehouse.passlock import exclusive_pass
from warehouse.store import Warehouse

LOGGER = logging.getLogger(__name__)

BATCH_SIZE = 64
LOOKAHEAD = 2  # batches fetched and extracted ahead of the one being decided


@dataclass(frozen=True)
class SourceReport:
    name: str
    url: str
    status: str
    entries: int
    error: str | None


@dataclass(frozen=True)
class PassSummary:
    """What one pass did, for the CLI's summary."""

    watch: str
    db_path: str
    run_id: int
    counts: pipeline.PassCounts
    sources: tuple[SourceReport, ...]
    seconds: float
    task_runs: int = 0


@task(name="poll-source", cache_policy=NO_CACHE, task_run_name="poll {source.url}")
async def poll_source_task(fetcher: Fetcher, source: Source, state: SourceState) -> PollResult:
    """Poll one feed (conditional GET); a failure is a recorded status, not an exception."""
    return await poll_source(fetcher, source, state)


@task(name="fetch-pages", cache_policy=NO_CACHE, task_run_name="fetch {index}")
async def fetch_pages_task(fetcher: Fetcher, pool: ExtractionPool, batch: list, index: int) -> list:
    return await pipeline.fetch_and_extract(fetcher, pool, batch)


@task(name="decide-and-store", cache_policy=NO_CACHE, task_run_name="decide {index}")
def decide_and_store_task(watch, warehouse: Warehouse, decider, run_id: int, fetched: list,
                          claimed: dict, index: int) -> pipeline.PassCounts:
    return pipeline.decide_and_store(watch, warehouse, decider, run_id, fetched, claimed)


@flow(name="monitor", log_prints=False)
async def monitor(config_path: str, db_path: str, show_progress: bool = False) -> PassSummary:
    """One monitor pass of the watch at `config_path`, stored in the DuckDB file at `db_path`."""
    started = time.monotonic()
    watch = load_config(config_path)
    with exclusive_pass(Path(db_path)):
        return await _monitor_pass(watch, Path(db_path), show_progress, started)


async def _monitor_pass(watch, db_path: Path, show_progress: bool, started: float) -> PassSummary:
    warehouse = Warehouse(db_path, migrate_now=False)
    counts = pipeline.PassCounts()
    task_runs = 0
    progress = PassProgress(enabled=show_progress)
    with warehouse.session():  # one open of the file for every step before the network
        run_id = warehouse.start_run(watch.name)
        try:
            pipeline.store_seeds(watch, warehouse)
            sources = [Source(url=f.url, name=f.name) for f in watch.feeds]
            states = warehouse.source_states(watch.name, [s.url for s in sources])
        except BaseException:
            warehouse.finish_run(run_id, counts.run_counts(), status="failed")
            raise
    try:
        now = datetime.now(timezone.utc)
        deferred = [s for s in sources if pipeline.is_deferred(states.get(s.url), now)]
        sources = [s for s in sources if s not in deferred]
        counts.sources_deferred = len(deferred)
        with progress:
            async with Fetcher(pipeline.fetch_settings(watch)) as fetcher:
                progress.start("polling sources", len(sources))
                polls = await asyncio.gather(*(
                    _polled(poll_source_task(fetcher, s, states.get(s.url) or SourceState()), progress)
                    for s in sources))
                task_runs += len(sources)
                polls = pipeline.with_backoff(polls, states, datetime.now(timezone.utc))
                for poll in polls:
                    counts.sources_ok += poll.status == "ok"
                    counts.sources_not_modified += poll.status == "not_modified"
                    counts.sources_failed += poll.status == "error"
                entries = [e for p in polls for e in p.entries]
                counts.entries = len(entries)
                candidates = pipeline.fresh_candidates(watch, entries, warehouse)
                if candidates:
                    task_runs += await _process(watch, warehouse, run_id, fetcher, candidates, counts, progress)
        # Only now, with every entry's article stored, keep the feeds' new ETags: a pass killed
        # earlier leaves the old ones, so the next pass reads the feeds again and finishes the work.
        with warehouse.session():
            warehouse.record_polls(watch.name, polls, datetime.now(timezone.utc))
            warehouse.finish_run(run_id, counts.run_counts(), status="completed")
    except BaseException:
        warehouse.finish_run(run_id, counts.run_counts(), status="failed")
        raise
    reports = tuple(SourceReport(p.source.name, p.source.url, p.status, len(p.entries), p.error) for p in polls)
    reports += tuple(SourceReport(s.name, s.url, "deferred", 0, _deferred_note(states[s.url])) for s in deferred)
    return PassSummary(watch.name, str(db_path), run_id, counts, reports, time.monotonic() - started, task_runs)


def _deferred_note(state: SourceState) -> str:
    return (f"backing off after {state.consecutive_failures} failures in a row; "
            f"next poll after {state.retry_after:%Y-%m-%d %H:%M} UTC")


async def _polled(coro, progress: PassProgress):
    result = await coro
    progress.advance()
    return result


async def _process(watch, warehouse, run_id, fetcher, candidates, counts, progress) -> int:
    """Fetch batches ahead while the previous batch is decided and written; return task runs made."""
    batches = [candidates[i:i + BATCH_SIZE] for i in range(0, len(candidates), BATCH_SIZE)]
    decider = pipeline.build_decider(watch, warehouse)
    claimed: dict = {}
    progress.start("fetching and deciding pages", len(candidates))
    with ExtractionPool() as pool:
        # Two batches in flight ahead of the one being decided, so the extraction workers never
        # wait for a batch boundary (their queue always holds the next pages).
        ahead = collections.deque(asyncio.ensure_future(fetch_pages_task(fetcher, pool, batches[i], i))
                                  for i in range(min(LOOKAHEAD, len(batches))))
        for index in range(len(batches)):
            fetched = await ahead.popleft()
            following = index + LOOKAHEAD
            if following < len(batches):
                ahead.append(asyncio.ensure_future(fetch_pages_task(fetcher, pool, batches[following], following)))
            batch_counts = await asyncio.to_thread(
                decide_and_store_task, watch, warehouse, decider, run_id, fetched, claimed, index)
            counts.add(batch_counts)
            progress.advance(len(fetched))
    return 2 * len(batches)
