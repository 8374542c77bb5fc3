"""Opening the warehouse: one writer that migrates, readers that wait briefly for a busy file.

A writer attaches the file, as its default database, to an in-memory DuckDB of its own (`new_instance`):
starting a DuckDB costs about 11 ms of CPU whatever the file, and attaching a file to one about 4,
so a caller that knows a session is coming can start its DuckDB ahead, off the session's path
(`warehouse.store.Warehouse.prepare_session`). Detaching the file (`close_writer`) checkpoints it and
lets go of its lock, as closing a connection to the file did. A DuckDB serves one session, or two
short ones: DuckDB keeps the memory of a file's writes after the file is detached.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseBusyError, WarehouseError, WarehouseNotFound
from warehouse.schema import migrate

LOGGER = logging.getLogger(__name__)

# DuckDB names the process holding the lock: 'Conflicting lock is held in /usr/bin/python3 (PID 4016)',
# then, for a connection, '. See also ...' and for an ATTACH, '. However, you would be able to ...'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.*?\(PID \d+\)|.*?(?=\. See also|$))")
_FIRST_BACKOFF = 0.02
_MAX_BACKOFF = 0.25


def _held_in_this_process(exc: BaseException) -> bool:
    # Another session of this process has the file attached (a pass's deciding thread, say).
    return isinstance(exc, duckdb.BinderException) and "Unique file handle conflict" in str(exc)


def is_lock_conflict(exc: BaseException) -> bool:
    """True when a DuckDB error says another process, or another session of this one, holds the file."""
    text = str(exc)
    return _held_in_this_process(exc) or (
        isinstance(exc, duckdb.IOException) and ("Could not set lock" in text or "Conflicting lock" in text))


def lock_holder(exc: BaseException) -> str:
    """The holder named by a lock-conflict error, e.g. '/usr/bin/python3 (PID 4016)'."""
    if _held_in_this_process(exc):
        return "another session of this process"
    match = _LOCK_HOLDER.search(str(exc))
    return match.group("holder").strip() if match else "another process"


def _session_defaults(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Timestamps come back in UTC whatever the machine's zone, so output is the same everywhere.
    con.execute("SET TimeZone = 'UTC'")
    return con


WRITER_ALIAS = "warehouse"  # the attached file's name in a writer's instance
# A session that ends a pass (its polls, the run's end: a few KB) leaves its log to the next writer;
# readers replay a log on every open, so a larger one (a pass's full-text index catch-up) is checkpointed.
SMALL_LOG_BYTES = 256 * 1024


def new_instance() -> duckdb.DuckDBPyConnection:
    """An empty in-memory DuckDB for one writer's session: `open_writer` attaches the file to it.

    One thread: a pass's writes and lookups are small, and the extraction workers already use every
    core; DuckDB's own workers only added CPU (0.8 ms a page) and contention.
    """
    instance = duckdb.connect(":memory:", config={"threads": 1})
    try:
        # A pass draws its own progress; DuckDB's bar for statements over 2 s would write over it.
        instance.execute("SET enable_progress_bar = false")
        return _session_defaults(instance)
    except BaseException:
        instance.close()
        raise


def _attach(instance: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    quoted = str(path).replace("'", "''")
    instance.execute(f"ATTACH '{quoted}' AS {WRITER_ALIAS}")  # raises on a lock held elsewhere, as connect does
    instance.execute(f"USE {WRITER_ALIAS}")
    return instance


def _connect_with_retry(path: Path, read_only: bool, wait_seconds: float,
                        instance: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    delay = _FIRST_BACKOFF
    while True:
        try:
            if instance is not None:
                return _attach(instance, path)
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


def open_writer(path: Path, wait_seconds: float = 30.0, migrate_schema: bool = True,
                instance: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write session on the file with the schema migrated; waits up to `wait_seconds` for
    readers to let go. It runs in `instance` (from `new_instance`, started here if not given), which
    it owns: closing the connection returned ends the session."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    instance = new_instance() if instance is None else instance
    try:
        con = _connect_with_retry(path, read_only=False, wait_seconds=wait_seconds, instance=instance)
    except BaseException:
        instance.close()
        raise
    try:
        if migrate_schema:
            migrate(con)
        return con
    except BaseException:
        con.close()
        raise


def close_writer(con: duckdb.DuckDBPyConnection, keep: bool = False, path: Path | None = None) -> None:
    """End a writer's session: detach the file, which checkpoints it and lets go of its lock, then
    close the in-memory DuckDB on another thread (2-4 ms that nobody needs to wait for), unless the
    caller `keep`s it for another session. Every other cursor of the session must be closed first:
    a live one keeps the file open after the DETACH.

    Given the file's `path`, a session whose write-ahead log holds at most SMALL_LOG_BYTES is
    detached without the checkpoint: its commits are already synced to the log, readers read through
    it, and the next writer's checkpoint folds it into the file (`leaves_log`: whether the log is that small).
    """
    defer = path is not None and not keep and leaves_log(path)
    try:
        con.execute("USE memory")
        if defer:
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute(f"DETACH {WRITER_ALIAS}")
    except BaseException:
        con.close()
        raise
    if keep:
        return
    # Not a daemon, even when started from one: the interpreter waits for it at exit, so it never
    # stops a thread that is inside DuckDB (which aborts the process).
    threading.Thread(target=con.close, name="newswatch-duckdb-close", daemon=False).start()


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of the file at `path`."""
    return path.with_name(path.name + ".wal")


def leaves_log(path: Path) -> bool:
    """True when the file's write-ahead log is small enough to leave to the next writer's checkpoint."""
    try:
        return wal_path(path).stat().st_size <= SMALL_LOG_BYTES
    except FileNotFoundError:  # nothing written: the checkpoint has nothing to do either
        return False


def open_reader(path: Path, wait_seconds: float = 5.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection; retries only on lock conflicts, then raises WarehouseBusyError."""
    path = Path(path)
    if not path.exists():
        raise WarehouseNotFound(f"no warehouse at {path}: run `newswatch run` first or pass --db")
    return _session_defaults(_connect_with_retry(path, read_only=True, wait_seconds=wait_seconds))
