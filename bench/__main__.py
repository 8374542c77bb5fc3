"""`python -m bench`: measure the targets of newswatch on this machine and write docs/bench.md.

Serves copies of the article-extraction benchmark's pages from local feeds, runs a pass and an
all-304 pass against a fresh database (each in a fresh process, all on one Prefect server), times
bare extraction and an empty flow in the same run, samples peak memory of the pass's process tree,
and runs the lookup-against-archive and write micro-benchmarks. Needs ../shared (exit 2 without).
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from bench.corpus import CorpusMissing, load_benchmark
from bench.extraction import bare_extraction_seconds, quality
from bench.micro import batch_write_vs_archive, lookup_vs_archive, write_throughput
from bench.procs import ChildRun, run_child
from bench.report import BenchResults, PassCPU, PassFigure
from bench.world import BenchWorld

LOGGER = logging.getLogger("bench")

REPO = Path(__file__).resolve().parents[1]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                     epilog="example: python -m bench --quick --out /tmp/bench.md")
    parser.add_argument("--quick", action="store_true", help="smaller run (362/724 pages, archive up to 100k)")
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="the shared corpora folder")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench.md", help="Markdown report to write")
    parser.add_argument("--profile", action="store_true", help="cProfile each pass into the work folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, logs, profiles)")
    parser.add_argument("--only", choices=("quality", "passes", "lookup", "writes"), action="append",
                        help="run only these parts (repeatable)")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"})
    return env


# One process's figure can be off by a tenth (a pass) to a half (a one-second fixed cost) as the
# machine's speed drifts: passes and bare extraction run REPEATS times, and each figure is the best
# of them. The fixed cost's processes (an empty flow, a flow of no-op task runs, all-304 passes)
# take a few seconds each and drift the most: FIXED_REPEATS rounds of one of each, side by side;
# the target's ratio is the median over the rounds of each round's own ratio (the best of four
# processes on each side moved from 1.35 to 1.73 between two runs an hour apart on the same code).
REPEATS = 2
FIXED_REPEATS = 8


def _best(runs: Iterable[list[float]]) -> list[float]:
    """Step by step, the fastest of several processes' figures."""
    return [min(column) for column in zip(*runs)]


def _first_flow_s(run: ChildRun) -> float:
    return run.figures["steps"][0]["seconds"]


def _round_ratios(runs: list[ChildRun], empty: list[ChildRun]) -> list[float]:
    """Round by round, the first flow run of each process against the empty flow run beside it."""
    return [_first_flow_s(r) / _first_flow_s(e) for r, e in zip(runs, empty, strict=True)]


def _one_flow_process(figures: dict) -> float:
    """A child process's seconds, start-up and all, as if it had run only its first step."""
    return figures["process_s"] - sum(step["seconds"] for step in figures["steps"][1:])


def _measure_size(world: BenchWorld, n: int, work: Path, env: dict[str, str], profile: bool,
                  flows: bool) -> tuple[PassFigure, dict[str, list[ChildRun]]]:
    """REPEATS rounds of (half the bare extraction, a pass on a fresh database, the other half), then
    the fixed-cost rounds on the pass's database; the figure keeps the best of each side, the largest peak."""
    config = world.write_watch(work / f"watch-{n}", n)
    rounds = []
    for r in range(REPEATS):
        step = {"kind": "pass", "config": str(config), "db": str(work / f"pass-{n}-{r}.duckdb")}
        # Bare extraction of the same n pages, half just before the pass and half just after:
        # the machine's speed drifts during a run, and both sides of the ratio see the drift alike.
        _say(f"round {r + 1}/{REPEATS}: bare trafilatura.extract over half of {n} served pages")
        bare = bare_extraction_seconds(world, range(0, n, 2), work)
        _say(f"round {r + 1}/{REPEATS}: pass over {n} new pages (fresh database)")
        profiled = {"profile": str(work / f"pass-{n}.prof")} if profile else {}
        web = world.cpu_s
        full = run_child({"steps": [step | profiled]}, work, env, f"pass-{n}-{r}")
        cpu = PassCPU(full.figures["steps"][0]["cpu_s"], full.helpers_cpu_s, full.server_cpu_s, world.cpu_s - web,
                      os.cpu_count() or 1)
        _say(f"round {r + 1}/{REPEATS}: bare extraction, the other half")
        bare += bare_extraction_seconds(world, range(1, n, 2), work)
        rounds.append((full, bare, step, cpu))
    fixed = _fixed_cost_rounds(world, rounds[0][2], n, work, env, flows)
    idle_first = min(_first_flow_s(i) for i in fixed["idle"])
    full, _, _, cpu = min(rounds, key=lambda r: _first_flow_s(r[0]))
    ran = full.figures["steps"][0]
    figure = PassFigure(n, ran["seconds"], full.figures["process_s"], min(r[1] for r in rounds), idle_first,
                        max(r[0].peak_tree_rss_mb for r in rounds), max(r[0].peak_tree_pss_mb for r in rounds),
                        ran["counts"], cpu)
    passes = ", ".join(f"{_first_flow_s(r[0]):.1f}" for r in rounds)
    bares = ", ".join(f"{r[1]:.1f}" for r in rounds)
    _say(f"  {n} pages: pass {ran['seconds']:.1f} s (rounds {passes}), bare {figure.bare_s:.1f} s (rounds {bares}), "
         f"idle {idle_first:.2f} s, peak RSS {figure.peak_rss_mb:.0f} MB, {cpu.cores_busy(ran['seconds']):.1f} cores "
         f"busy, counts {ran['counts']}")
    return figure, fixed


def _fixed_cost_rounds(world: BenchWorld, idle_step: dict, n: int, work: Path, env: dict[str, str],
                       flows: bool) -> dict[str, list[ChildRun]]:
    """FIXED_REPEATS rounds of four fresh processes: empty flow runs, flows of one no-op task run per
    source, flows of the pass's polls alone (no database), all-304 passes. Side by side, all four meet
    the server (its records, its load) alike.
    Without `flows`, REPEATS processes of all-304 passes only (the idle pass a marginal cost subtracts)."""
    runs: dict[str, list[ChildRun]] = {"empty": [], "tasks": [], "polls": [], "idle": []}
    if not flows:
        _say(f"all-304 passes after {n} pages, in {REPEATS} processes")
        runs["idle"] = [run_child({"steps": [idle_step, idle_step]}, work, env, f"idle-{n}-{i}") for i in range(REPEATS)]
        return runs
    _say(f"fixed cost after {n} pages: {FIXED_REPEATS} rounds of an empty-flow process, a no-op-task-flow "
         "process, a polls-only-flow process and an all-304-pass process")
    for i in range(FIXED_REPEATS):
        runs["empty"].append(run_child({"steps": [{"kind": "empty_flow"}] * 3}, work, env, f"empty-{n}-{i}"))
        runs["tasks"].append(run_child({"steps": [{"kind": "task_flow", "tasks": world.sites}] * 2}, work, env,
                                       f"tasks-{n}-{i}"))
        runs["polls"].append(run_child({"steps": [{**idle_step, "kind": "poll_flow"}] * 2}, work, env,
                                       f"polls-{n}-{i}"))
        runs["idle"].append(run_child({"steps": [idle_step, idle_step]}, work, env, f"idle-{n}-{i}"))
    return runs


def measure_passes(results: BenchResults, pages, sizes: list[int], work: Path, profile: bool) -> None:
    """Passes at each size, the all-304 pass, the empty flow and the server start-up, on one server."""
    from flows.prefect_api import local_prefect_api

    home = work / "prefect-home"
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.pop("PREFECT_API_URL", None)
    with BenchWorld(pages) as world:
        _say("starting the local Prefect server")
        began = time.perf_counter()
        with local_prefect_api():
            results.server_start_s = time.perf_counter() - began
            env = _child_env(home)
            for n in sorted(sizes):
                figure, fixed = _measure_size(world, n, work, env, profile, flows=n == min(sizes))
                results.passes.append(figure)
                if n == min(sizes):
                    empty, tasks, polls, idle = fixed["empty"], fixed["tasks"], fixed["polls"], fixed["idle"]
                    results.empty_flow_s = _best([s["seconds"] for s in e.figures["steps"]] for e in empty)
                    results.import_prefect_s = min(e.figures["import_prefect_s"] for e in empty)
                    results.import_flows_s = min(e.figures["import_flows_s"] for e in empty)
                    results.empty_process_s = min(_one_flow_process(e.figures) for e in empty)
                    results.task_flow_s = _best([s["seconds"] for s in t.figures["steps"]] for t in tasks)
                    results.task_flow_tasks = world.sites
                    results.poll_flow_s = _best([s["seconds"] for s in p.figures["steps"]] for p in polls)
                    results.fixed_repeats = FIXED_REPEATS
                    results.idle_pass_s = _best([s["seconds"] for s in i.figures["steps"]] for i in idle)
                    results.round_ratios = {name: _round_ratios(runs, empty) for name, runs in
                                            (("idle", idle), ("polls", polls), ("tasks", tasks))}
                    results.idle_process_s = min(_one_flow_process(i.figures) for i in idle)
        results.notes.append(f"served requests: {world.requests}")


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        pages = load_benchmark(args.shared)
    except CorpusMissing as exc:
        print(f"bench: {exc} (looked in {args.shared}); the bench cannot run without it", file=sys.stderr)
        return 2
    parts = set(args.only or ("quality", "passes", "lookup", "writes"))
    sizes = [362, 724] if args.quick else [1000, 2000]
    archive = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    results = BenchResults(machine=f"{platform.node() or 'this machine'}: {os.cpu_count()} cores, "
                                   f"Python {platform.python_version()}, load average at start "
                                   f"{os.getloadavg()[0]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    try:
        if "quality" in parts:
            _say("extraction quality on the 181 benchmark pages")
            results.quality = quality(pages, work)
        if "passes" in parts:
            measure_passes(results, pages, sizes, work, args.profile)
        if "lookup" in parts:
            _say(f"LSH lookup against {', '.join(f'{n:,}' for n in archive)} stored signatures")
            results.lookups = lookup_vs_archive(work / "lookup.duckdb", archive)
        if "writes" in parts:
            _say("write throughput")
            texts = [p.truth for p in pages]
            rows = 640 if args.quick else 2000
            results.writes = [write_throughput(work / f"writes-{b}.duckdb", texts, b, rows) for b in (64, 500)]
            grown = [10_000, 30_000] if args.quick else [10_000, 100_000]
            _say(f"a pass's batch written into an archive of {' and '.join(f'{n:,}' for n in grown)} articles")
            results.batch_writes = batch_write_vs_archive(work, texts, grown)
        results.notes.append(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine "
                             "slows every figure; ratios are taken within one run)")
        report = results.markdown()
        print(report)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report, encoding="utf-8")
            _say(f"wrote {args.out}")
    finally:
        if args.keep:
            _say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
