"""The monitor flow: one pass over a watch's sources.

poll every source (a task per source; the feeds parse in the extraction workers) -> drop links
already stored -> fetch, extract (in a process pool), decide and store the pages (a task per
`TASK_BATCHES` batches of `BATCH_SIZE` pages, one transaction per batch) -> record the run.
Fetching the next pages overlaps deciding these, across task boundaries too. The feeds' conditional
GETs start as soon as their ETags are read (from the CLI, while Prefect is still starting the flow
run); each poll task takes its feed's answer.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote

from dedup import Decider
from extractors import (
    ExtractionPool,
    Fetcher,
    PollResult,
    Source,
    SourceState,
    discard_requests,
    poll_source,
    prepare_tls_context,
    start_feed_requests,
)
from flows import pipeline
from flows.config import WatchConfig, load_config
from flows.plain_flow import plain_flow
from flows.progress import PassProgress
from warehouse.passlock import exclusive_pass
from warehouse.store import Warehouse

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# During a pass: a young-generation collection every 10,000 allocations instead of 700, and older ones
# rarely (a pass allocates feeds' entries, requests and decisions by the hundred thousand, few of them in cycles).
PASS_GC_THRESHOLDS = (10_000, 50, 50)

BATCH_SIZE = 128  # pages decided and written in one transaction
TAIL_BATCHES = (64, 32, 32)  # the last BATCH_SIZE pages: nothing overlaps deciding the last batch, so keep it small
LOOKAHEAD = 2  # batches fetched and extracted ahead of the one being decided
TASK_BATCHES = 2  # batches per Prefect task run: each task run costs the API and the pass ~50 ms


@contextlib.contextmanager
def collector_spares_what_was_there() -> Iterator[None]:
    """Keep the cyclic garbage collector off what was alive before the pass, and collect less often.

    What the imports made (Prefect, pydantic's models: some 140,000 objects) outlives the pass, yet
    every full collection walks it again: two of those took 0.19 s of a 1,000-page pass, and the
    pass's collections 0.37 s in all (0.09 s so). The collector's settings are back as they were after.
    The CLI holds it around the whole flow run; a flow run Prefect starts (`newswatch serve`), around the pass.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*PASS_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


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
async def poll_source_task(fetcher: Fetcher, source: Source, state: SourceState,
                           started: asyncio.Future | None = None, pool: ExtractionPool | None = None) -> PollResult:
    """Poll one feed (conditional GET, or the one `started` for it; parsed in `pool`'s workers when
    given); a failure is a recorded status, not an exception."""
    return await poll_source(fetcher, source, state, started, pool.parse_feed if pool is not None else None)


@dataclass
class EarlyPolls:
    """A pass's Fetcher and its feeds' conditional GETs, started before the poll tasks that take them.

    Prefect spends a few milliseconds of the event loop setting up each task run; requests already in
    flight wait for their answers meanwhile instead of after.
    """

    fetcher: Fetcher
    requests: dict[str, asyncio.Task]  # by feed URL

    @classmethod
    def start(cls, fetcher: Fetcher, sources: Sequence[Source], states: dict[str, SourceState],
              now: datetime | None = None) -> EarlyPolls:
        requests = start_feed_requests(fetcher, sources, states, now)
        for request in requests.values():
            request.add_done_callback(_prepare_workers_for_news)
        return cls(fetcher, requests)

    def take(self, url: str) -> asyncio.Task | None:
        return self.requests.get(url)

    def discard(self) -> None:
        """Cancel every request still in flight, once the poll tasks are over: one no poll took (a
        source that left back-off meanwhile is polled afresh), or one a failed pass left behind."""
        discard_requests(self.requests.values())


def _prepare_workers_for_news(request: asyncio.Task) -> None:
    """A feed answered with a body: its entries are parsed, and their pages extracted, in worker
    processes. Start their fork server now (its imports, about half a second of CPU, overlap the
    rest of the polls and Prefect's start of the flow run); a pass where every feed answers 304 never does."""
    if not request.cancelled() and request.exception() is None and request.result().status != 304:
        ExtractionPool.prepare()


@dataclass
class PageStage:
    """The page work of one pass, shared by its task runs: batches, fetches in flight, totals."""

    watch: WatchConfig
    warehouse: Warehouse
    run_id: int
    fetcher: Fetcher
    pool: ExtractionPool
    decider: Decider
    batches: Sequence[list[pipeline.Candidate]]
    counts: pipeline.PassCounts
    progress: PassProgress
    claimed: dict = field(default_factory=dict)
    ahead: collections.deque = field(default_factory=collections.deque)
    scheduled: int = 0  # batches whose fetch has started

    def fetch_through(self, last: int) -> None:
        """Start fetching and extracting every batch up to index `last` not started yet."""
        while self.scheduled <= min(last, len(self.batches) - 1):
            batch = self.batches[self.scheduled]
            self.ahead.append(asyncio.ensure_future(pipeline.fetch_and_extract(self.fetcher, self.pool, batch)))
            self.scheduled += 1


@task(name="pages", cache_policy=NO_CACHE, task_run_name="pages {first}-{last}")
async def pages_task(stage: PageStage, start: int, stop: int, first: int, last: int) -> None:
    """Fetch, extract, decide and store batches start..stop-1 (pages first..last of the pass)."""
    for index in range(start, stop):
        # LOOKAHEAD batches ahead are fetched and extracted while this one is decided, so the
        # extraction workers never wait for a batch (or task) boundary.
        stage.fetch_through(index + LOOKAHEAD - 1)
        stage.warehouse.prepare_session()  # the batch's DuckDB starts while its pages arrive
        fetched = await stage.ahead.popleft()
        stage.fetch_through(index + LOOKAHEAD)
        batch_counts = await asyncio.to_thread(pipeline.decide_and_store, stage.watch, stage.warehouse,
                                               stage.decider, stage.run_id, fetched, stage.claimed)
        stage.counts.add(batch_counts)
        stage.progress.advance(len(fetched))
        stage.warehouse.prepare_session()  # for the next batch, or the pass's last session


@dataclass(frozen=True)
class PassStart:
    """What a pass records and reads in its first session, before it touches the network."""

    warehouse: Warehouse
    run_id: int
    sources: list[Source]
    states: dict[str, SourceState]


def begin_pass(watch: WatchConfig, db_path: Path) -> PassStart:
    """Open the file once: record the run's start, store new seeds, read what we know of each source."""
    prepare_tls_context(f.url for f in watch.feeds)  # for https feeds, loads on another core while the file opens
    warehouse = Warehouse(db_path, migrate_now=False)
    with warehouse.session(keep_duckdb=True):  # its DuckDB serves the pass's next session
        run_id = warehouse.start_run(watch.name)
        try:
            pipeline.store_seeds(watch, warehouse)
            sources = [Source(url=f.url, name=f.name) for f in watch.feeds]
            states = warehouse.source_states(watch.name, [s.url for s in sources])
        except BaseException:
            warehouse.finish_run(run_id, pipeline.PassCounts().run_counts(), status="failed")
            raise
    return PassStart(warehouse, run_id, sources, states)


@dataclass
class _Handoff:
    """A pass the CLI runs around its flow run: begun while Prefect starts the flow run, ended while
    Prefect ends it. The flow takes `begun` and may hand its closing session over as `ended`."""

    begun: Future[PassStart] = field(default_factory=Future)
    began_at: float = field(default_factory=time.monotonic)  # the pass's start, as its user counts it
    early: asyncio.Future[EarlyPolls] | None = None  # the feeds' requests, started once `begun` is done
    ended: Future[None] | None = None
    flow_run_id: UUID | None = None  # the flow run that took the pass: marked failed if its ending fails


_HANDOFFS: dict[tuple[str, str], _Handoff] = {}  # passes begun before their flow run started
_HANDOFFS_LOCK = threading.Lock()


@contextlib.contextmanager
def around_flow_run(watch: WatchConfig, db_path: Path) -> Iterator[_Handoff]:
    """Run the pass's first and last database sessions beside Prefect's start and end of its flow run.

    Starting and ending a flow run is mostly waiting on Prefect's API; a session is mostly waiting on
    the disk. `begin_pass` runs on a thread while the flow run starts, and the flow takes its result
    (and, run through `polls_beside_start`, the feeds' requests started as soon as it is known).
    The flow hands its closing session (the polls' ETags, the run's end) to a thread as it returns,
    and this waits for it once the flow run has ended: the pass is over when this returns, and an
    ending that failed raises here, its flow run marked failed in Prefect.

    The caller must hold the pass lock. A flow run that never takes the pass (Prefect refused to
    start it) leaves a run record that this marks failed.
    """
    key = _handoff_key(str(watch.path), db_path)
    handoff = _Handoff()
    thread = threading.Thread(target=_run_into, args=(handoff.begun, begin_pass, watch, db_path),
                              name="newswatch-begin", daemon=True)
    with _HANDOFFS_LOCK:
        _HANDOFFS[key] = handoff
    # Running, so that no cancellation of a wait on it (Ctrl-C while the flow waits) can cancel it
    # under the thread: the thread always settles it, and a run it recorded is always ended.
    handoff.begun.set_running_or_notify_cancel()
    thread.start()
    try:
        yield handoff
    finally:
        with _HANDOFFS_LOCK:
            untaken = _HANDOFFS.get(key) is handoff
            if untaken:
                del _HANDOFFS[key]
        if untaken:
            thread.join()
            if handoff.begun.exception() is None:
                start = handoff.begun.result()
                start.warehouse.finish_run(start.run_id, pipeline.PassCounts().run_counts(), status="failed")
        elif handoff.ended is not None and handoff.ended.exception() is not None:
            _mark_flow_run_failed(handoff.flow_run_id, handoff.ended.exception())
            raise handoff.ended.exception()


async def polls_beside_start(handoff: _Handoff, watch: WatchConfig, flow_run: Awaitable[T]) -> T:
    """Await `flow_run`, the monitor flow's call taking `handoff`, while the feeds are polled.

    Once the pass's first session has read what is known of each feed (ETags), every feed's
    conditional GET starts on this loop, while Prefect is still starting the flow run; each poll
    task of the flow takes its feed's answer. They share one Fetcher, closed here after the flow run.
    """
    async with Fetcher(pipeline.fetch_settings(watch)) as fetcher:
        handoff.early = asyncio.ensure_future(_start_early(handoff.begun, fetcher))
        try:
            return await flow_run
        finally:
            early, handoff.early = handoff.early, None
            try:  # done, unless the flow run ended before the first session did (Prefect refused it)
                polls = await early
            except Exception:  # the first session failed: the flow reports it, or Prefect's refusal is the error
                pass
            else:
                polls.discard()


async def _start_early(begun: Future[PassStart], fetcher: Fetcher) -> EarlyPolls:
    start = await asyncio.wrap_future(begun)
    return EarlyPolls.start(fetcher, start.sources, start.states)


def _handoff_key(config_path: str, db_path: Path) -> tuple[str, str]:
    """The pass a flow run takes: its parameters, as `run_monitor_pass` passes them."""
    return config_path, str(db_path)


def _run_into(future: Future, fn, *args) -> None:
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # re-raised by whoever waits on the future
        future.set_exception(exc)


def _mark_flow_run_failed(flow_run_id, exc: BaseException) -> None:
    """The flow run ended Completed, then its pass's closing session failed: say so in Prefect too."""
    from prefect import get_client
    from prefect.states import Failed

    try:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run_id, Failed(message=f"the pass's last database session failed: {exc}"),
                                      force=True)
    except Exception:  # the pass's own error, raised next, is the one to report
        LOGGER.warning("could not mark flow run %s failed in Prefect", flow_run_id, exc_info=True)


def _take_handoff(config_path: str, db_path: Path) -> _Handoff | None:
    with _HANDOFFS_LOCK:
        return _HANDOFFS.pop(_handoff_key(config_path, db_path), None)


@plain_flow(name="monitor", log_prints=False)
async def monitor(config_path: str, db_path: str, show_progress: bool = False) -> PassSummary:
    """One monitor pass of the watch at `config_path`, stored in the DuckDB file at `db_path`."""
    started = time.monotonic()
    watch = load_config(config_path)
    with exclusive_pass(Path(db_path)):
        handoff = _take_handoff(config_path, Path(db_path))
        if handoff is None:  # a flow run started by Prefect itself (`newswatch serve`), not by the CLI
            with collector_spares_what_was_there():
                return await _monitor_pass(watch, begin_pass(watch, Path(db_path)), show_progress, started, None, None)
        handoff.flow_run_id = FlowRunContext.get().flow_run.id
        start = await asyncio.wrap_future(handoff.begun)  # begun, and its feeds asked, while Prefect started
        return await _monitor_pass(watch, start, show_progress, handoff.began_at, handoff, handoff.early)


async def _monitor_pass(watch, start: PassStart, show_progress: bool, started: float, handoff: _Handoff | None,
                        started_polls: asyncio.Future[EarlyPolls] | None) -> PassSummary:
    warehouse, run_id, sources, states = start.warehouse, start.run_id, start.sources, start.states
    counts = pipeline.PassCounts()
    task_runs = 0
    progress = PassProgress(enabled=show_progress)
    try:
        now = datetime.now(timezone.utc)
        deferred = [s for s in sources if pipeline.is_deferred(states.get(s.url), now)]
        sources = [s for s in sources if s not in deferred]
        counts.sources_deferred = len(deferred)
        with progress:
            async with contextlib.AsyncExitStack() as stack:
                early = await asyncio.shield(started_polls) if started_polls is not None else None
                if early is None:
                    fetcher = await stack.enter_async_context(Fetcher(pipeline.fetch_settings(watch)))
                    early = EarlyPolls.start(fetcher, sources, states, now)  # in flight while Prefect sets up the tasks
                    stack.callback(early.discard)
                fetcher = early.fetcher
                # Feeds parse, and pages are extracted, in its workers; an all-304 pass starts none.
                pool = stack.enter_context(ExtractionPool())
                progress.start("polling sources", len(sources))
                polls = await asyncio.gather(*(
                    _polled(poll_source_task(fetcher, s, states.get(s.url) or SourceState(), early.take(s.url), pool),
                            progress)
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
                prepare_tls_context(c.url for c in candidates)  # https pages of plain-http feeds
                if candidates:
                    task_runs += await _process(watch, warehouse, run_id, fetcher, pool, candidates, counts, progress)
    except BaseException:
        warehouse.finish_run(run_id, counts.run_counts(), status="failed")
        raise
    if handoff is None:
        end_pass(warehouse, watch.name, run_id, polls, counts)
    else:  # the CLI waits for it while Prefect ends the flow run (`around_flow_run`)
        handoff.ended = Future()
        threading.Thread(target=_run_into, args=(handoff.ended, end_pass, warehouse, watch.name, run_id, polls, counts),
                         name="newswatch-end", daemon=True).start()
    reports = tuple(SourceReport(p.source.name, p.source.url, p.status, len(p.entries), p.error) for p in polls)
    reports += tuple(SourceReport(s.name, s.url, "deferred", 0, _deferred_note(states[s.url])) for s in deferred)
    return PassSummary(watch.name, str(warehouse.path), run_id, counts, reports, time.monotonic() - started, task_runs)


def end_pass(warehouse: Warehouse, watch: str, run_id: int, polls: Sequence[PollResult],
             counts: pipeline.PassCounts) -> None:
    """The pass's last session: keep the feeds' new ETags, record the run's end.

    Only now, with every entry's article stored: a pass killed earlier leaves the old ETags, so the
    next pass reads the feeds again and finishes the work. Its few writes stay in DuckDB's log for
    the next pass's first session to fold into the file, beside Prefect's start of that flow run.
    """
    try:
        with warehouse.session(leave_log=True):
            warehouse.record_polls(watch, polls, datetime.now(timezone.utc))
            warehouse.finish_run(run_id, counts.run_counts(), status="completed")
    except BaseException:
        warehouse.finish_run(run_id, counts.run_counts(), status="failed")
        raise


def _deferred_note(state: SourceState) -> str:
    return (f"backing off after {state.consecutive_failures} failures in a row; "
            f"next poll after {state.retry_after:%Y-%m-%d %H:%M} UTC")


async def _polled(coro, progress: PassProgress):
    result = await coro
    progress.advance()
    return result


def split_batches(candidates: Sequence[pipeline.Candidate]) -> list[list[pipeline.Candidate]]:
    """Batches of BATCH_SIZE pages, the last BATCH_SIZE pages cut into TAIL_BATCHES.

    A pass ends with its last batch's decision, which no extraction overlaps, so that batch is kept
    small. A short remainder before the tail joins its first batch rather than standing alone.
    """
    head = max(0, len(candidates) - BATCH_SIZE)
    sizes = [BATCH_SIZE] * (head // BATCH_SIZE)
    tail = list(TAIL_BATCHES)
    rest = head % BATCH_SIZE
    if rest >= TAIL_BATCHES[-1]:
        sizes.append(rest)
    else:
        tail[0] += rest
    batches, at = [], 0
    for size in sizes + tail:
        if at < len(candidates):
            batches.append(list(candidates[at:at + size]))
            at += size
    return batches


async def _process(watch, warehouse, run_id, fetcher, pool, candidates, counts, progress) -> int:
    """Fetch, extract, decide and store the candidates in page tasks; return the task runs made."""
    batches = split_batches(candidates)
    progress.start("fetching and deciding pages", len(candidates))
    stage = PageStage(watch, warehouse, run_id, fetcher, pool, pipeline.build_decider(watch, warehouse),
                      batches, counts, progress)
    runs = 0
    try:
        ends = list(itertools.accumulate(len(b) for b in batches))
        for start in range(0, len(batches), TASK_BATCHES):
            stop = min(start + TASK_BATCHES, len(batches))
            first, last = ends[start] - len(batches[start]) + 1, ends[stop - 1]
            # quote: Prefect would otherwise walk every candidate of the stage to resolve futures.
            await pages_task(quote(stage), start, stop, first, last)
            runs += 1
    finally:
        for pending in stage.ahead:  # a failed task leaves fetches in flight: do not leak them
            pending.cancel()
    return runs
