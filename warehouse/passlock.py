"""One monitor pass (and one digest sender) per database at a time: advisory file locks beside the DuckDB file.

DuckDB's own lock is held only during a write transaction (readers get in between), so it
cannot tell a second pass that one is already running; this lock can, and the kernel drops it
when the holder dies, even by SIGKILL.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from warehouse.errors import WarehouseBusyError

LOGGER = logging.getLogger(__name__)


_HELD: set[str] = set()  # lock files this process holds: taking one again is a no-op


def lock_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".pass.lock")


def send_lock_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".send.lock")


@contextlib.contextmanager
def exclusive_pass(db_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the pass lock of `db_path`; wait up to `wait_seconds`, then raise WarehouseBusyError."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)  # so the key resolves alike before and after it exists
    key = str(path.resolve())
    if key in _HELD:  # this process holds it already (the CLI takes it before the flow does)
        yield
        return
    with _flock(path, wait_seconds, lambda: _busy_message(path, db_path)):
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)


@contextlib.contextmanager
def exclusive_send(db_path: Path, wait_seconds: float = 120.0) -> Iterator[None]:
    """Hold the digest-sending lock of `db_path`: two senders at once would deliver one digest twice.

    A sender waits for the other (up to `wait_seconds`, then WarehouseBusyError) and then finds in
    the ledger what it already delivered.
    """
    path = send_lock_path(db_path)
    with _flock(path, wait_seconds, lambda: f"another digest is being sent from {db_path}{_holder(path)}; "
                                            "try again when it has finished"):
        yield


@contextlib.contextmanager
def _flock(path: Path, wait_seconds: float, busy: Callable[[], str]) -> Iterator[None]:
    """An exclusive advisory lock on `path`, with the holder's pid written in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(busy()) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(
            timespec="seconds")}).encode())
        yield
    finally:
        os.close(fd)  # closing drops the lock


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        info = json.loads(path.read_text() or "{}")
        return f" (pid {info.get('pid')}, started {info.get('started')})"
    return ""


def _busy_message(path: Path, db_path: Path) -> str:
    return f"another monitor pass is running on {db_path}{_holder(path)}; try again when it has finished"
