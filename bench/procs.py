"""Run a measured child process and sample the memory and CPU of its whole process tree while it runs.

ru_maxrss of children is the peak of the largest one, not of the tree; a pass is a main process
plus its extraction workers, so the tree's resident memory is summed from /proc every few ms. The
workers are the fork server's children, not the pass's, so no rusage counts them either: their CPU
is read from /proc too, the last value seen before each exits.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LOGGER = logging.getLogger(__name__)

SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class ChildRun:
    """What a measured child reported, and the peak memory of its process tree."""

    figures: dict
    wall_s: float
    peak_tree_rss_mb: float
    peak_tree_pss_mb: float
    helpers_cpu_s: float = 0.0  # the child's descendants (a pass's fork server and extraction workers)
    server_cpu_s: float = 0.0  # the bench's other processes (the Prefect server), until it is quiet again


def descendants(pid: int) -> list[int]:
    """A process and every process under it (from /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(window: float = 0.25, quiet: float = 0.02, timeout: float = 20.0) -> float:
    """Wait until this process's descendants (the Prefect server) are quiet; return the seconds waited.

    A child's pass leaves the server digesting its events for a while after the child has exited;
    the next measured step should not pay for that.
    """
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        pids = [p for p in descendants(os.getpid()) if p != os.getpid()]
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(window)
        if sum(cpu_seconds(p) for p in pids) - before <= quiet:
            break
    return time.perf_counter() - began


def _field_kb(path: str, name: str) -> int:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(name):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def tree_memory_mb(pid: int, tree: list[int] | None = None) -> tuple[float, float]:
    """(RSS, PSS) of a process and all its descendants (`tree`, when already listed), in MB."""
    pids = tree if tree is not None else descendants(pid)
    rss = sum(_field_kb(f"/proc/{p}/status", "VmRSS:") for p in pids)
    pss = sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids)
    return rss / 1024, pss / 1024


def run_child(spec: dict, workdir: Path, env: dict[str, str], label: str) -> ChildRun:
    """Run `python -m bench.child` on `spec`; raise RuntimeError with its log when it fails."""
    spec_path, out_path, log_path = (workdir / f"{label}.{ext}" for ext in ("spec.json", "out.json", "log"))
    spec_path.write_text(json.dumps(spec))
    peak = [0.0, 0.0]
    helpers: dict[int, float] = {}  # the last CPU seen of each descendant of the child
    bench = os.getpid()
    others = {p: cpu_seconds(p) for p in descendants(bench) if p != bench}  # the Prefect server
    began = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bench.child", str(spec_path), str(out_path)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=Path(__file__).resolve().parents[1])
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree = descendants(proc.pid)
                rss, pss = tree_memory_mb(proc.pid, tree)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                for pid in tree[1:]:
                    helpers[pid] = max(helpers.get(pid, 0.0), cpu_seconds(pid))
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, name=f"rss-{label}", daemon=True)
        sampler.start()
        code = proc.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - began
    settle()
    server_cpu = sum(cpu_seconds(p) - before for p, before in others.items())
    if code != 0 or not out_path.exists():
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"bench child {label} exited with {code}:\n{tail}")
    return ChildRun(json.loads(out_path.read_text()), wall, peak[0], peak[1], sum(helpers.values()), server_cpu)
