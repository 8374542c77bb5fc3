"""Ad-hoc SQL while a monitor pass writes: every query answers, and the pass is not disturbed."""
from __future__ import annotations

import subprocess
import time

from world import NEWSWATCH, REPO, cli_env, served_world, write_watch_config

from warehouse.errors import WarehouseNotFound
from warehouse.readonly import run_readonly_sql


def test_queries_every_fifth_of_a_second_all_answer_during_a_pass(tmp_path, prefect_api):
    db = tmp_path / "nw.duckdb"
    answered, waits = [], []
    with served_world() as server:
        config = write_watch_config(tmp_path / "watch.toml", server)
        server.batch = 2  # the whole world at once: the longest pass it has
        proc = subprocess.Popen([str(NEWSWATCH), "run", "--config", str(config), "--db", str(db)], cwd=REPO,
                                env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        while proc.poll() is None:
            started = time.monotonic()
            try:
                _, rows = run_readonly_sql(db, "SELECT count(*) FROM articles", wait_seconds=5.0)
            except WarehouseNotFound:
                pass  # the pass has not created the file yet
            else:
                answered.append(rows[0][0])
                waits.append(time.monotonic() - started)
            time.sleep(0.2)
        output = proc.communicate()[0]
    assert proc.returncode == 0, output
    # Every query made while the file existed answered (an unanswered one raises and fails the test),
    # none waited long, and the counts only grew: readers never saw half a batch. (How many queries
    # fit depends on how long the pass takes, about a second here.)
    assert len(answered) >= 3
    assert answered == sorted(answered)
    assert max(waits) < 2.0
    final = run_readonly_sql(db, "SELECT count(*) FROM articles")[1][0][0]
    assert final >= answered[-1] and final > 1
    assert answered[0] < final  # readers got in while the pass was still storing, not only after it
