"""Opening the warehouse: one writer that migrates, readers that wait briefly for a busy file.

A writer's session attaches the file to this process's one in-memory DuckDB instead of starting
an instance of its own: starting one costs about 10 ms of CPU whatever the file, attaching a file
to one that runs about 3 ms, and a pass opens the file for every step so that readers get in
between. Closing the last session on a file detaches it, which checkpoints and lets go of the
file's lock, as closing a connection did.
"""
from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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


C = TypeVar("C", duckdb.DuckDBPyConnection, "WriterConnection")
T = TypeVar("T")


def _session_defaults(con: C) -> C:
    # Timestamps come back in UTC whatever the machine's zone, so output is the same everywhere.
    con.execute("SET TimeZone = 'UTC'")
    return con


def _retry_on_lock(open_file: Callable[[], T], path: Path, mode: str, wait_seconds: float) -> T:
    """open_file(), again while another process holds the file's lock, for up to `wait_seconds`."""
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    delay = _FIRST_BACKOFF
    while True:
        try:
            return open_file()
        except duckdb.Error as exc:
            if not is_lock_conflict(exc):
                raise WarehouseError(f"cannot open the warehouse {path}: {exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseBusyError(
                    f"the warehouse {path} is locked by {lock_holder(exc)}; "
                    f"gave up after {wait_seconds:g} s waiting to {mode} it"
                ) from exc
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_BACKOFF)


@dataclass
class _AttachedFile:
    alias: str
    sessions: int = 0


_WRITERS_LOCK = threading.Lock()
_WRITERS: duckdb.DuckDBPyConnection | None = None  # the in-memory instance this process's writers attach files to
_ATTACHED: dict[str, _AttachedFile] = {}  # resolved path -> its attachment, while a session is open on it
_ALIASES = itertools.count()


def _forget_writers() -> None:
    # A forked child must not touch its parent's instance: it starts its own when it needs one.
    global _WRITERS, _WRITERS_LOCK
    _WRITERS, _WRITERS_LOCK = None, threading.Lock()
    _ATTACHED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_writers)


class WriterConnection:
    """A writer's session on one warehouse file: a connection of the process's instance, the file
    its default database. Behaves as the connection does; closing it ends the session."""

    def __init__(self, key: str, attached: _AttachedFile, cursor: duckdb.DuckDBPyConnection) -> None:
        self._key, self._attached, self._cursor = key, attached, cursor
        self._closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Another connection to the same file, for a statement on another thread."""
        cursor = self._cursor.cursor()
        cursor.execute(f"USE {self._attached.alias}")
        return cursor

    def __enter__(self) -> WriterConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._cursor.close()
        finally:
            _release(self._key)


def _attach(path: Path) -> WriterConnection:
    global _WRITERS
    key = str(path.resolve())
    with _WRITERS_LOCK:
        if _WRITERS is None:
            _WRITERS = duckdb.connect()
        attached = _ATTACHED.get(key)
        if attached is None:
            alias = f"warehouse_{next(_ALIASES)}"
            quoted = key.replace("'", "''")
            _WRITERS.execute(f"ATTACH '{quoted}' AS {alias}")  # raises on a lock held elsewhere, as connect did
            attached = _ATTACHED[key] = _AttachedFile(alias)
        attached.sessions += 1
        cursor = _WRITERS.cursor()
    try:
        cursor.execute(f"USE {attached.alias}")
    except BaseException:
        cursor.close()
        _release(key)
        raise
    return WriterConnection(key, attached, cursor)


def _release(key: str) -> None:
    with _WRITERS_LOCK:
        attached = _ATTACHED.get(key)
        if attached is None:  # a session opened before this process was forked
            return
        attached.sessions -= 1
        if attached.sessions == 0 and _WRITERS is not None:
            _WRITERS.execute(f"DETACH {attached.alias}")  # if this raises, the next session reuses it
            del _ATTACHED[key]


def open_writer(path: Path, wait_seconds: float = 30.0, migrate_schema: bool = True) -> WriterConnection:
    """A read-write session with the schema migrated; waits up to `wait_seconds` for readers to let go."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _retry_on_lock(lambda: _attach(path), path, "write", wait_seconds)
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
    return _session_defaults(_retry_on_lock(lambda: duckdb.connect(str(path), read_only=True), path, "read",
                                            wait_seconds))
