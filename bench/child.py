"""The measured process: `python -m bench.child SPEC.json OUT.json` runs timed steps and writes their figures.

A pass runs in a fresh process, as `newswatch run` would, so its peak memory (with its extraction
workers) and its start-up are its own. PREFECT_API_URL names the bench's one Prefect server.
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402 - the clock starts before any import
import cProfile  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

LOGGER = logging.getLogger(__name__)


def _empty_flow_runner():
    from prefect import flow

    @flow(name="bench-empty")
    async def empty() -> None:
        """A flow that does nothing: the floor of what any flow run costs."""

    return lambda: asyncio.run(empty())


def _task_flow_runner(count: int):
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(name="bench-noop", cache_policy=NO_CACHE)
    async def noop(i: int) -> int:
        return i

    @flow(name="bench-tasks")
    async def tasks() -> None:
        """An empty flow with `count` task runs side by side, as a pass polls its sources."""
        await asyncio.gather(*(noop(i) for i in range(count)))

    return lambda: asyncio.run(tasks())


def _poll_flow_runner(step: dict):
    """A flow that polls the watch's feeds as a pass does (a `poll-source` task run each, the requests
    started as the flow run starts), and nothing else: no database. The feeds' ETags are read before
    the clock starts, so every feed answers 304."""
    from prefect import flow

    from extractors import Fetcher, Source, prepare_tls_context
    from flows import pipeline
    from flows.config import load_config
    from flows.monitor import EarlyPolls, poll_source_task
    from warehouse.store import Warehouse

    watch = load_config(step["config"])
    sources = [Source(url=f.url, name=f.name) for f in watch.feeds]
    states = Warehouse(Path(step["db"]), migrate_now=False).source_states(watch.name, [s.url for s in sources])
    started: list[EarlyPolls] = []

    @flow(name="bench-polls")
    async def polls() -> None:
        """The pass's polls alone: what an all-304 pass costs without its database work."""
        early = started[0]
        await asyncio.gather(*(poll_source_task(early.fetcher, s, states[s.url], early.take(s.url)) for s in sources))

    async def run() -> None:
        prepare_tls_context(s.url for s in sources)  # as a pass does: for https feeds, on another thread
        async with Fetcher(pipeline.fetch_settings(watch)) as fetcher:
            started[:] = [EarlyPolls.start(fetcher, sources, states)]  # as `polls_beside_start` does
            try:
                await polls()
            finally:
                started[0].discard()

    return lambda: asyncio.run(run())


def _runner(step: dict):
    if step["kind"] == "empty_flow":
        return _empty_flow_runner()
    if step["kind"] == "task_flow":
        return _task_flow_runner(step["tasks"])
    if step["kind"] == "poll_flow":
        return _poll_flow_runner(step)
    return _pass_runner(step)


def _pass_runner(step: dict):
    from flows.config import load_config
    from flows.runner import run_monitor_pass

    watch = load_config(step["config"])
    return lambda: run_monitor_pass(watch, Path(step["db"]))


def run_steps(spec: dict) -> dict:
    """Run each step of the spec in order; return their timings and what each pass did."""
    figures: dict = {"steps": []}
    if any(step["kind"] == "pass" for step in spec["steps"]):  # as `newswatch run` does, before Prefect's import
        from flows.runner import start_workers_ahead

        start_workers_ahead()
    began = time.perf_counter()
    import prefect  # noqa: F401 - timed: Prefect's import is part of every process's start-up

    figures["import_prefect_s"] = time.perf_counter() - began
    began = time.perf_counter()
    import flows.monitor  # noqa: F401
    import flows.runner  # noqa: F401

    figures["import_flows_s"] = time.perf_counter() - began
    for step in spec["steps"]:
        runner = _runner(step)
        profiler = cProfile.Profile() if step.get("profile") else None
        began, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        result = runner()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(step["profile"])
        seconds = time.perf_counter() - began
        # This process's CPU, every thread of it (the event loop, the deciding thread, DuckDB's threads).
        out = {"kind": step["kind"], "seconds": seconds, "cpu_s": time.process_time() - cpu}
        if step["kind"] == "pass":
            out["counts"] = asdict(result.counts)
            out["flow_seconds"] = result.seconds
            out["task_runs"] = result.task_runs
        figures["steps"].append(out)
    figures["process_s"] = time.perf_counter() - STARTED
    figures["maxrss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["maxrss_largest_child_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    logging.basicConfig(level=logging.WARNING)
    figures = run_steps(spec)
    Path(argv[1]).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
