"""Opening the warehouse: one writer that migrates, readers that wait briefly for a busy file."""
from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusyError, WarehouseError, WarehouseNotFound
from warehouse.schema import migrate

LOGGER = logging.getLogger(__name__)

# DuckDB names the process holding the lock: 'Conflicting lock is held in /usr/bin/python3 (PID 4016)'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.*?)(?:\. See also|$)")
_FIRST_BACKOFF = 0.02
_MAX_BACKOFF = 0.25


def is_lock_conflict(exc: BaseException) -> bool:
    """True when a DuckDB error says another process holds the file's lock."""
    text = str(exc)
    return isinstance(exc, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text)


def lock_holder(exc: BaseException) -> str:
    """The holder named by a lock-conflict error, e.g. '/usr/bin/python3 (PID 4016)'."""
    match = _LOCK_HOLDER.search(str(exc))
    return match.group("holder").strip() if match else "another process"


def _session_defaults(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Timestamps come back in UTC whatever the machine's zone, so output is the same everywhere.
    con.execute("SET TimeZone = 'UTC'")
    return con


def _connect_with_retry(path: Path, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    delay = _FIRST_BACKOFF
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                mode = "read" if read_only else "write"
                raise WarehouseBusyError(
                    f"the warehouse {path} is locked by {lock_holder(exc)}; "
                    f"gave up after {wait_seconds:g} s waiting to {mode} it"
                ) from exc
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_BACKOFF)


def open_writer(path: Path, wait_seconds: float = 30.0, migrate_schema: bool = True) -> duckdb.DuckDBPyConnection:
    """A read-write connection with the schema migrated; waits up to `wait_seconds` for readers to let go."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_with_retry(path, read_only=False, wait_seconds=wait_seconds)
    try:
        if migrate_schema:
            migrate(con)
        # One thread: a pass's writes and lookups are small, and the extraction workers already
        # use every core; DuckDB's own workers only added CPU (0.8 ms a page) and contention.
        con.execute("SET threads = 1")
        # A pass draws its own progress; DuckDB's bar for statements over 2 s would write over it.
        con.execute("SET enable_progress_bar = false")
        return _session_defaults(con)
    except BaseException:
        con.close()
        raise


def open_reader(path: Path, wait_seconds: float = 5.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection; retries only on lock conflicts, then raises WarehouseBusyError."""
    path = Path(path)
    if not path.exists():
        raise WarehouseNotFound(f"no warehouse at {path}: run `newswatch run` first or pass --db")
    return _session_defaults(_connect_with_retry(path, read_only=True, wait_seconds=wait_seconds))
