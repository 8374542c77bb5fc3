"""Fixtures of the warehouse tests: a real DuckDB file in tmp_path and article records to store."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from warehouse.records import ArticleRecord
from warehouse.store import Warehouse

WATCH = "bachelet-xinjiang"
SEEN_AT = datetime(2022, 5, 23, 9, 30, tzinfo=timezone.utc)


def article(url: str, **fields) -> ArticleRecord:
    """An ArticleRecord of the test watch with sensible defaults."""
    defaults = dict(
        watch=WATCH,
        url=url,
        status="new",
        first_seen_at=SEEN_AT,
        title=f"Title of {url}",
        text=f"Text of {url}.",
        text_source="page",
    )
    defaults.update(fields)
    return ArticleRecord(**defaults)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "newswatch.duckdb"


@pytest.fixture
def warehouse(db_path: Path) -> Warehouse:
    return Warehouse(db_path, wait_seconds=10.0)
