"""Exporting the public views to files."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
from conftest import WATCH, article

from warehouse.export import export_views
from warehouse.store import Warehouse


def test_every_public_view_is_exported_as_parquet(warehouse: Warehouse, db_path: Path, tmp_path: Path) -> None:
    warehouse.write_batch(WATCH, None, [article("https://a.example/1"), article("https://a.example/2", status="seed")])
    written = export_views(db_path, tmp_path / "out", "parquet")
    assert {p.name for p in written} >= {"articles.parquet", "updates.parquet", "sources.parquet", "runs.parquet"}
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{tmp_path / 'out' / 'articles.parquet'}'").fetchone()[0] == 2
    assert con.execute(f"SELECT url FROM '{tmp_path / 'out' / 'updates.parquet'}'").fetchall() == [
        ("https://a.example/1",)
    ]
    con.close()


def test_csv_export_has_a_header_and_one_line_per_row(warehouse: Warehouse, db_path: Path, tmp_path: Path) -> None:
    warehouse.write_batch(WATCH, None, [article("https://a.example/1", title='A "quoted", title')])
    export_views(db_path, tmp_path / "out", "csv")
    with open(tmp_path / "out" / "articles.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["url"], r["title"]) for r in rows] == [("https://a.example/1", 'A "quoted", title')]
