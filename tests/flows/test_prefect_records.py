"""A pass run from the CLI with no PREFECT_API_URL: its own Prefect server, complete records, a clean exit."""
from __future__ import annotations

import sqlite3
import subprocess

from world import NEWSWATCH, REPO, cli_env, served_world, write_watch_config


def test_a_pass_on_its_own_server_records_every_task_run_and_prints_no_error(tmp_path):
    home = tmp_path / "prefect-home"
    env = cli_env(PREFECT_HOME=str(home))
    env.pop("PREFECT_API_URL", None)
    with served_world() as server:
        config = write_watch_config(tmp_path / "watch.toml", server)
        done = subprocess.run([str(NEWSWATCH), "run", "--config", str(config), "--db", str(tmp_path / "nw.duckdb")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for noise in ("Traceback", "ERROR", "Error flushing", "CancelledError"):
        assert noise not in output
    with sqlite3.connect(home / "prefect.db") as db:
        flow_runs = db.execute("SELECT id, state_type FROM flow_run").fetchall()
        assert [state for _, state in flow_runs] == ["COMPLETED"]
        tasks = db.execute("SELECT name, state_type FROM task_run WHERE flow_run_id = ?", [flow_runs[0][0]]).fetchall()
    # One task per source polled plus one per batch of pages: all recorded, all completed.
    names = [name for name, _ in tasks]
    assert sum(name.startswith("poll ") for name in names) == len(server.world.feeds)
    assert any(name.startswith("pages 1-") for name in names), names
    assert {state for _, state in tasks} == {"COMPLETED"}
    assert not (home / "newswatch-serve.json").exists()
