"""Fixtures of the alerts tests: a real DuckDB warehouse in tmp_path, filled through the real migrations."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from alerts_servers import SmtpServer, WebhookServer, free_port
from alerts_world import World, build_world


@pytest.fixture
def world_db(tmp_path: Path) -> tuple[Path, World]:
    """The fixture warehouse's path and the ids of its articles."""
    path = tmp_path / "newswatch.duckdb"
    return path, build_world(path)


@pytest.fixture
def reader(world_db: tuple[Path, World]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the fixture warehouse."""
    con = duckdb.connect(str(world_db[0]), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that requires the test login."""
    server = SmtpServer(port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """A real HTTP server on 127.0.0.1 receiving apprise's json:// posts."""
    server = WebhookServer(port=free_port()).start()
    yield server
    server.stop()
