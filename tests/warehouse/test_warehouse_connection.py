"""Opening the warehouse: missing files and files locked by another process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.connection import open_reader, open_writer
from warehouse.errors import WarehouseBusyError, WarehouseNotFound

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
