"""A Prefect API for one command: the one PREFECT_API_URL names, or a local server we start and stop.

Prefect's temporary in-process API loses most task-run records and prints "Error flushing
events" tracebacks when the process exits, so a pass run from the CLI starts `prefect server`
as a child process instead, waits until the flow run's records are in, and stops it quietly.
The server's own output goes to a log file, never to the user's terminal.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

LOGGER = logging.getLogger(__name__)

START_TIMEOUT = 180.0  # a cold start on a busy 2-core machine was seen to take 70 s
SERVE_MARKER = "newswatch-serve.json"  # where `newswatch serve` says which API it runs


class PrefectServerError(RuntimeError):
    """The local Prefect server could not be started."""


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(home: Path, scheduler: bool) -> dict[str, str]:
    env = dict(os.environ)
    on = "true" if scheduler else "false"
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": on,
        # A single pass needs the recorders (task runs, events), not the scheduler of deployments.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": on,
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": on,
        "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": on,
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    })
    env.pop("PREFECT_API_URL", None)
    return env


def wait_healthy(api_url: str, proc: subprocess.Popen | None, log_path: Path | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:] if log_path and log_path.exists() else ""
                raise PrefectServerError(f"the local Prefect server exited with code {proc.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{api_url}/health").status_code == 200:
                    return
            time.sleep(0.2)
    raise PrefectServerError(f"the local Prefect server did not answer within {timeout:.0f} s (log: {log_path})")


_STARTED_HERE: set[str] = set()  # API URLs of the servers this process started and will stop


def started_here(api_url: str) -> bool:
    """True when this process started the server at `api_url`, so it stops when the process is done."""
    return api_url in _STARTED_HERE


@contextlib.contextmanager
def local_prefect_api(scheduler: bool = False) -> Iterator[str]:
    """Yield the API URL in use; start a private local server when PREFECT_API_URL is unset.

    `scheduler` turns on the services that run deployments on schedule (for `newswatch serve`).
    """
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    running = _running_serve_api(home)
    if running and not scheduler:  # `newswatch serve` is up: use its server, start none
        yield running
        return
    log_path = home / "newswatch-server.log"
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_server_env(home, scheduler),
            start_new_session=True,
        )
    marker = home / SERVE_MARKER
    try:
        wait_healthy(api_url, proc, log_path, START_TIMEOUT)
        os.environ["PREFECT_API_URL"] = api_url
        _STARTED_HERE.add(api_url)
        if scheduler:
            marker.write_text(json.dumps({"api_url": api_url, "pid": proc.pid}))
        yield api_url
    finally:
        _STARTED_HERE.discard(api_url)
        os.environ.pop("PREFECT_API_URL", None)
        if scheduler:
            marker.unlink(missing_ok=True)
        _stop(proc)


def _running_serve_api(home: Path) -> str | None:
    """The API of a `newswatch serve` running on this machine with this Prefect home, if it answers."""
    try:
        info = json.loads((home / SERVE_MARKER).read_text())
        api_url = str(info["api_url"])
    except (OSError, ValueError, KeyError):
        return None
    try:
        with httpx.Client(timeout=2.0) as client:
            if client.get(f"{api_url}/health").status_code == 200:
                return api_url
    except httpx.HTTPError:
        pass
    return None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
