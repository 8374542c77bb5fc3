"""Opening the warehouse: missing files, files locked by another process, sessions that let go at once."""
from __future__ import annotations

import subprocess
import threading
import sys
from pathlib import Path

import pytest

from warehouse.connection import SMALL_LOG_BYTES, open_reader, open_writer, wal_path
from warehouse.errors import WarehouseBusyError, WarehouseNotFound
from warehouse.records import RunCounts
from warehouse.store import Warehouse

REPO = Path(__file__).resolve().parents[2]

HOLD_LOCK = """
import sys
from pathlib import Path
from warehouse.connection import open_writer
con = open_writer(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()  # hold the file until the test closes our stdin
con.close()
"""


def test_reading_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(WarehouseNotFound, match="no warehouse at"):
        open_reader(tmp_path / "nothing.duckdb")
    assert not (tmp_path / "nothing.duckdb").exists()


def test_the_writer_creates_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "w.duckdb"
    open_writer(path).close()
    assert path.exists()


def test_a_reader_gives_up_on_a_file_held_by_a_writer_and_names_the_holder(db_path: Path) -> None:
    open_writer(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db_path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseBusyError) as caught:
            open_reader(db_path, wait_seconds=0.5)
        assert f"PID {holder.pid}" in str(caught.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    open_reader(db_path, wait_seconds=0.5).close()  # free again once the writer let go


WRITE_AT_ONCE = """
import sys
from pathlib import Path
from warehouse.connection import open_writer
con = open_writer(Path(sys.argv[1]), wait_seconds=0)
con.execute("INSERT INTO run (watch, started_at, status) VALUES ('other', now(), 'completed')")
con.close()
"""


def _write_from_another_process(db_path: Path) -> None:
    other = subprocess.run([sys.executable, "-c", WRITE_AT_ONCE, str(db_path)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert other.returncode == 0, other.stderr


@pytest.mark.parametrize("duckdb", ["its own", "prepared", "kept from the session before"])
def test_a_session_leaves_one_file_that_another_process_can_write_at_once(db_path: Path, duckdb: str) -> None:
    warehouse = Warehouse(db_path)
    if duckdb == "prepared":
        warehouse.prepare_session()  # starts a DuckDB for the session, touching no file
        open_reader(db_path, wait_seconds=0).close()
    with warehouse.session(keep_duckdb=duckdb == "kept from the session before"):
        run_id = warehouse.start_run("watch")
    assert not wal_path(db_path).exists()
    _write_from_another_process(db_path)  # the DuckDB kept or not, the file is let go
    with warehouse.session():
        warehouse.finish_run(run_id, RunCounts(sources_ok=2))
    assert not wal_path(db_path).exists()
    _write_from_another_process(db_path)
    with open_reader(db_path) as con:
        assert con.execute("SELECT watch, status, sources_ok FROM run ORDER BY id").fetchall() == [
            ("watch", "completed", 2), ("other", "completed", 0), ("other", "completed", 0)]


SESSION_ON_A_DAEMON_THREAD = """
import sys, threading
from pathlib import Path
from warehouse.store import Warehouse
warehouse = Warehouse(Path(sys.argv[1]))
def end():
    warehouse.prepare_session()
    with warehouse.session():
        warehouse.start_run("watch")
thread = threading.Thread(target=end, daemon=True)  # as a pass's last session runs
thread.start()
thread.join()
"""


def test_a_process_exits_cleanly_right_after_a_session_on_a_daemon_thread(db_path: Path) -> None:
    # The session's DuckDB closes on a thread of its own; were that thread a daemon (as threads
    # started from a daemon are by default), exiting could stop it inside DuckDB and abort.
    for _ in range(5):
        ran = subprocess.run([sys.executable, "-c", SESSION_ON_A_DAEMON_THREAD, str(db_path)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
    with open_reader(db_path) as con:
        assert con.execute("SELECT count(*) FROM run").fetchone()[0] == 5


HOLD_READ = """
import sys
from pathlib import Path
from warehouse.connection import open_reader
con = open_reader(Path(sys.argv[1]))
print("reading", flush=True)
sys.stdin.read()
con.close()
"""


def test_a_writer_gives_up_on_a_file_held_by_a_reader_and_names_the_holder(db_path: Path) -> None:
    open_writer(db_path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_READ, str(db_path)], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "reading"
        with pytest.raises(WarehouseBusyError) as caught:
            open_writer(db_path, wait_seconds=0.3)
        message = str(caught.value)
        assert message.startswith(f"the warehouse {db_path} is locked by ")
        assert message.endswith(f"(PID {holder.pid}); gave up after 0.3 s waiting to write it")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    open_writer(db_path, wait_seconds=0.3).close()


def test_a_second_session_in_the_same_process_waits_for_the_first(db_path: Path) -> None:
    # A cancelled pass records its failure while its deciding thread may still be in a session.
    warehouse = Warehouse(db_path)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with warehouse.session():
            warehouse.start_run("deciding")
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inside.wait(30)
        with pytest.raises(WarehouseBusyError, match="locked by another session of this process"):
            Warehouse(db_path, wait_seconds=0.2).start_run("impatient")
        threading.Timer(0.3, release.set).start()
        assert Warehouse(db_path, wait_seconds=30).start_run("patient") > 0
    finally:
        release.set()
        holder.join(30)
    with open_reader(db_path) as con:
        assert [w for (w,) in con.execute("SELECT watch FROM run ORDER BY id").fetchall()] == ["deciding", "patient"]


def test_a_session_that_leaves_its_log_is_read_through_it_and_folded_in_by_the_next_writer(db_path: Path) -> None:
    warehouse = Warehouse(db_path)
    with warehouse.session():
        run_id = warehouse.start_run("watch")
    with warehouse.session(leave_log=True):  # as a pass's last session ends it
        warehouse.finish_run(run_id, RunCounts(sources_ok=3))
    assert 0 < wal_path(db_path).stat().st_size <= SMALL_LOG_BYTES  # the few writes wait in the log, synced
    with open_reader(db_path) as con:  # readers (`newswatch sql`) see them through the log
        assert con.execute("SELECT status, sources_ok FROM run").fetchall() == [("completed", 3)]
    assert wal_path(db_path).exists()  # and leave it be
    _write_from_another_process(db_path)  # the lock is let go all the same; that writer folds the log in
    assert not wal_path(db_path).exists()
    with open_reader(db_path) as con:
        assert con.execute("SELECT watch, status, sources_ok FROM run ORDER BY id").fetchall() == [
            ("watch", "completed", 3), ("other", "completed", 0)]


def test_a_session_that_wrote_much_is_checkpointed_even_when_asked_to_leave_its_log(db_path: Path) -> None:
    warehouse = Warehouse(db_path)
    with warehouse.session(leave_log=True), warehouse.transaction() as con:  # a large write: a full log
        con.execute("INSERT INTO run (watch, started_at, status) "
                    "SELECT repeat(md5(i::VARCHAR), 40), now(), 'completed' FROM range(2000) t(i)")
    assert not wal_path(db_path).exists()  # readers would replay a large log on every open
    with open_reader(db_path) as con:
        assert con.execute("SELECT count(*) FROM run").fetchone()[0] == 2000


def test_a_failed_session_is_checkpointed_even_when_asked_to_leave_its_log(db_path: Path) -> None:
    warehouse = Warehouse(db_path)
    with pytest.raises(RuntimeError, match="the step failed"), warehouse.session(leave_log=True):
        warehouse.start_run("watch")
        raise RuntimeError("the step failed")
    assert not wal_path(db_path).exists()
    with open_reader(db_path) as con:
        assert con.execute("SELECT watch FROM run").fetchall() == [("watch",)]
