"""Ad-hoc SQL cannot change the warehouse: writes are refused before they run."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WATCH, article

from warehouse.errors import QueryError, ReadOnlyViolation
from warehouse.readonly import run_readonly_sql
from warehouse.store import Warehouse


@pytest.fixture
def stored(warehouse: Warehouse, db_path: Path) -> Path:
    warehouse.write_batch(WATCH, None, [article("https://a.example/1"), article("https://a.example/2", status="seed")])
    return db_path


def test_a_select_answers_with_columns_and_rows(stored: Path) -> None:
    columns, rows = run_readonly_sql(stored, "SELECT url, status FROM articles WHERE status = $s", {"s": "seed"})
    assert columns == ["url", "status"]
    assert rows == [("https://a.example/2", "seed")]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM articles",
        "delete from article",
        "UPDATE article SET title = 'x'",
        "INSERT INTO article (watch, url, first_seen_at, status) VALUES ('w', 'u', now(), 'new')",
        "DROP VIEW articles",
        "CREATE TABLE x (a INTEGER)",
        "ALTER TABLE article ADD COLUMN x INTEGER",
        "COPY article TO 'out.csv'",
        "ATTACH 'other.duckdb'",
        "INSTALL httpfs",
        "LOAD fts",
        "SET threads = 1",
        "CHECKPOINT",
        "EXPORT DATABASE 'dump'",
        "PRAGMA create_fts_index('article', 'id', 'title')",
        "EXPLAIN ANALYZE DELETE FROM article",
        "EXPLAIN DELETE FROM article",
        "SELECT 1; DELETE FROM article",
        "SELECT nextval('article_id_seq')",
    ],
)
def test_writes_are_refused_and_change_nothing(stored: Path, sql: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # anything a statement managed to write would land here
    before = run_readonly_sql(stored, "SELECT * FROM articles ORDER BY id")
    with pytest.raises(ReadOnlyViolation):
        run_readonly_sql(stored, sql)
    assert run_readonly_sql(stored, "SELECT * FROM articles ORDER BY id") == before
    assert not any(p.name in ("out.csv", "other.duckdb", "dump") for p in tmp_path.iterdir())


def test_harmless_statements_that_are_not_plain_selects_still_work(stored: Path) -> None:
    assert run_readonly_sql(stored, "PRAGMA version")[0][0] == "library_version"
    assert "id" in [row[0] for row in run_readonly_sql(stored, "DESCRIBE articles")[1]]
    assert run_readonly_sql(stored, "EXPLAIN SELECT * FROM articles")[1]


def test_files_outside_the_warehouse_cannot_be_read(stored: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with pytest.raises(QueryError, match="disabled"):
        run_readonly_sql(stored, f"SELECT * FROM read_csv('{tmp_path / 'secret.csv'}')")


def test_query_mistakes_are_query_errors(stored: Path) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        run_readonly_sql(stored, "SELEC 1")
    with pytest.raises(QueryError, match=r"\$s"):
        run_readonly_sql(stored, "SELECT * FROM articles WHERE status = $s")
    with pytest.raises(QueryError, match=r"\$extra"):
        run_readonly_sql(stored, "SELECT 1", {"extra": "x"})
