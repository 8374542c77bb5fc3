"""Opening the warehouse: missing files, files locked by another process, and the writer's sessions,
which share one DuckDB of the process and hold the file until the last of them closes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.connection import open_reader, open_writer
from warehouse.errors import WarehouseBusyError, WarehouseNotFound
from warehouse.search import has_search_index
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


READ_NOTES = """
import sys
from pathlib import Path
from warehouse.connection import open_reader
from warehouse.errors import WarehouseBusyError
try:
    con = open_reader(Path(sys.argv[1]), wait_seconds=0.2)
except WarehouseBusyError:
    print("busy")
else:
    print(con.execute("SELECT sum(x) FROM note").fetchone()[0])
"""


def _read_notes_elsewhere(path: Path) -> str:
    done = subprocess.run([sys.executable, "-c", READ_NOTES, str(path)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


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


def test_the_file_is_held_until_the_last_writer_session_closes_and_then_holds_what_they_wrote(db_path: Path) -> None:
    first = open_writer(db_path)
    first.execute("CREATE TABLE note (x INTEGER)")
    first.execute("INSERT INTO note VALUES (1)")
    second = open_writer(db_path)  # another session of this process: the same file, no lock conflict
    with second.cursor() as cursor:  # a connection for another thread reads the same file
        assert cursor.execute("SELECT sum(x) FROM note").fetchone()[0] == 1
    first.close()
    first.close()  # closing twice is harmless
    assert _read_notes_elsewhere(db_path) == "busy"
    with second:
        second.execute("INSERT INTO note VALUES (2)")
    assert _read_notes_elsewhere(db_path) == "3"
    assert not Path(f"{db_path}.wal").exists()  # closed means checkpointed


def test_writer_sessions_on_two_files_at_once_each_see_their_own(tmp_path: Path) -> None:
    Warehouse(tmp_path / "indexed.duckdb").unindexed_articles()  # opening a warehouse builds its search index
    indexed, bare = open_writer(tmp_path / "indexed.duckdb"), open_writer(tmp_path / "bare.duckdb")
    try:
        assert has_search_index(indexed) and not has_search_index(bare)
        bare.execute("CREATE TABLE note (x INTEGER)")
        assert indexed.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                               "AND table_name = 'note'").fetchone()[0] == 0
    finally:
        indexed.close()
        bare.close()
