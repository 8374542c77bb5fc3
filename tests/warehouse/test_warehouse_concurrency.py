"""One writer process and reader processes share the file: short writer transactions let readers in."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from warehouse.connection import open_reader
from warehouse.store import Warehouse

REPO = Path(__file__).resolve().parents[2]
SECONDS = 3.0

WRITER = """
import sys, time
from datetime import datetime, timezone
from pathlib import Path
from warehouse.records import ArticleRecord
from warehouse.store import Warehouse
path, seconds = Path(sys.argv[1]), float(sys.argv[2])
warehouse = Warehouse(path, wait_seconds=30)
run_id = warehouse.start_run("w")
end = time.monotonic() + seconds
batches = 0
while time.monotonic() < end:
    now = datetime.now(timezone.utc)
    rows = [ArticleRecord("w", f"https://a.example/{batches}/{i}", "new", now, title=f"t{i}", text="x",
                          bands=(batches, i)) for i in range(3)]
    warehouse.write_batch("w", run_id, rows)
    warehouse.known_urls("w", [rows[0].url])
    batches += 1
warehouse.finish_run(run_id, {"new": 3 * batches})
print(batches)
"""

READER = """
import json, sys, time
from pathlib import Path
from warehouse.readonly import run_readonly_sql
path, seconds = Path(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + seconds
answers = []
while time.monotonic() < end:
    columns, rows = run_readonly_sql(path, "SELECT count(*) FROM articles", wait_seconds=10)
    answers.append(rows[0][0])
    time.sleep(0.2)
print(json.dumps(answers))
"""


def _start(script: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(SECONDS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_readers_get_answers_while_a_writer_writes(db_path: Path) -> None:
    Warehouse(db_path)  # the schema exists before anyone reads
    writer = _start(WRITER, db_path)
    readers = [_start(READER, db_path) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in [writer, *readers]]
    for process, (out, err) in zip([writer, *readers], outputs):
        assert process.returncode == 0, err
    batches = int(outputs[0][0])
    for out, _ in outputs[1:]:
        answers = json.loads(out)
        assert answers, "a reader got no answer at all"
        assert answers == sorted(answers)  # counts only grow: every answer saw committed batches
        assert all(a % 3 == 0 for a in answers)  # never half a batch
    con = open_reader(db_path)
    stored = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    con.close()
    assert batches > 0 and stored == 3 * batches
