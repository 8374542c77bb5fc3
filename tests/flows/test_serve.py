"""`newswatch serve`: the schedules of prefect.yaml, served from one process, runnable on demand."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bench.procs import descendants
from flows.serving import read_deployments, schedule_kwargs
from world import NEWSWATCH, REPO, cli_env, dump, served_world, write_watch_config



@pytest.fixture
def api(prefect_api):
    """This process's Prefect client pointed at the session server, whatever was imported before."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        yield prefect_api


def test_prefect_yaml_declares_monitor_every_30_minutes_and_a_daily_digest():
    monitor, digest = read_deployments(REPO / "prefect.yaml")
    assert monitor["entrypoint"] == "flows/monitor.py:monitor"
    assert monitor["concurrency_limit"] == 1
    (interval,) = schedule_kwargs(monitor)["schedules"]
    assert interval.interval == timedelta(minutes=30)
    (cron,) = schedule_kwargs(digest)["schedules"]
    assert cron.cron == "0 7 * * *"
    assert set(monitor["parameters"]) == {"config_path", "db_path"}


def test_a_deployments_file_without_the_monitor_is_refused(tmp_path):
    bad = tmp_path / "prefect.yaml"
    bad.write_text("deployments:\n  - name: digest\n    entrypoint: flows/digest.py:digest\n"
                   "    schedules:\n      - cron: '0 7 * * *'\n")
    with pytest.raises(ValueError, match="no deployment named monitor"):
        read_deployments(bad)


def test_serve_registers_both_schedules_and_runs_the_monitor_on_demand(tmp_path, api):
    from prefect import get_client
    from prefect.deployments import run_deployment

    db = tmp_path / "serve.duckdb"
    with served_world() as server:
        config = write_watch_config(tmp_path / "watch.toml", server)
        proc = subprocess.Popen([str(NEWSWATCH), "serve", "--config", str(config), "--db", str(db)],
                                cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            deployments = _wait_for_deployments({"monitor/monitor", "digest/digest"}, timeout=120)
            assert {d.name for d in deployments} == {"monitor", "digest"}
            with _WorkerWatch(proc.pid) as workers:
                run = run_deployment("monitor/monitor", timeout=180)
            assert run.state.is_completed(), run.state
            # The run's extraction workers re-ran the imports of the program that started the run:
            # a run started as `python -m prefect.engine` gave each worker Prefect (and pydantic's
            # core library) to load, about 50 MB and 0.9 s of CPU more per worker.
            assert workers.seen, "no extraction worker was seen during the run"
            assert not workers.heavy, f"extraction workers loaded Prefect: {workers.heavy}"
            with get_client(sync_client=True) as client:
                monitor = client.read_deployment_by_name("monitor/monitor")
            assert monitor.parameters["db_path"] == str(db)
            assert monitor.schedules and not monitor.paused
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            output, _ = proc.communicate(timeout=60)
    assert "serving monitor, digest" in output
    assert "Traceback" not in output
    assert dump(db, "SELECT count(*) FROM articles WHERE status = 'new'")[0][0] >= 1


class _WorkerWatch:
    """Watch the extraction workers under a process (fork-server children) and what they load."""

    def __init__(self, root: int) -> None:
        self.root, self.seen, self.heavy = root, set(), set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _WorkerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.is_set():
            for pid in descendants(self.root):
                try:
                    if b"forkserver" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                    parent = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
                    if b"forkserver" not in Path(f"/proc/{parent}/cmdline").read_bytes():
                        continue  # the fork server itself, not one of its workers
                    maps = Path(f"/proc/{pid}/maps").read_text()
                except OSError:  # gone meanwhile
                    continue
                self.seen.add(pid)
                if "pydantic_core" in maps:
                    self.heavy.add(pid)
            time.sleep(0.01)


def _wait_for_deployments(names: set[str], timeout: float):
    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            named = {f"{client.read_flow(d.flow_id).name}/{d.name}": d for d in client.read_deployments()}
            if names <= set(named):
                return [named[n] for n in names]
            time.sleep(1)
    raise AssertionError(f"deployments {names} not registered within {timeout} s")
