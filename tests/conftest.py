"""Test-wide set-up: a private Prefect home and one real local Prefect server for the session.

Set before anything imports prefect, so neither the tests nor the CLI they start touch the
user's ~/.prefect. Tests that run flows or the CLI use the `prefect_api` fixture: one server
for the whole session, its URL exported as PREFECT_API_URL for child processes too.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="newswatch-tests-prefect-"))
os.environ["PREFECT_HOME"] = str(_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("NEWSWATCH_CONFIG", None)
os.environ.pop("NEWSWATCH_DB", None)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared, or a skip when this clone has none."""
    if not (SHARED / "DESIGN.md").exists():
        pytest.skip("../shared is absent (fresh clone): this test needs the shared corpora")
    return SHARED


@pytest.fixture(scope="session")
def prefect_api():
    """A real local Prefect server for the session; PREFECT_API_URL points at it (children inherit it)."""
    from flows.prefect_api import local_prefect_api

    with local_prefect_api() as url:
        yield url
