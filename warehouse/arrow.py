"""Arrow tables in DuckDB: bulk inserts, and value lists to join against.

Registering an Arrow table is how the warehouse moves many rows in one statement: inserts run at
tens of thousands of rows a second where executemany does hundreds, and a list of values joins as
a table (a list parameter costs DuckDB a failed pandas import per element when pandas is absent:
2,500 for a batch of 128 URLs, 15 ms).

A few rows (a watch's sources, its seeds) go in a temporary table instead: DuckDB imports
pyarrow.dataset on its first Arrow scan, about 70 ms, and a pass whose feeds all answer 304 has
nothing else to pay it for.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import duckdb
import pyarrow as pa

from warehouse.literals import values_clause

LOGGER = logging.getLogger(__name__)

FEW_ROWS = 32  # up to this many rows, a temporary table filled by one INSERT of literals (warehouse.literals)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[str]:
    """`table` visible to SQL on `con` as `name` while the block runs."""
    con.register(name, table)
    try:
        yield name
    finally:
        con.unregister(name)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, columns: str) -> None:
    """Insert every row of `rows` into `table` (the named `columns`) in one statement."""
    with registered(con, "arrow_batch", rows):
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM arrow_batch")


@contextmanager
def _temporary(con: duckdb.DuckDBPyConnection, name: str, types: Mapping[str, str],
               columns: Mapping[str, Sequence[object]]) -> Iterator[str]:
    con.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in types.items())})")
    try:
        rows = list(zip(*(columns[c] for c in types)))
        if rows:
            values, params = values_clause(rows)
            con.execute(f"INSERT INTO {name} {values}", params)
        yield name
    finally:
        try:
            con.execute(f"DROP TABLE IF EXISTS {name}")
        except duckdb.Error:  # a failed transaction refuses statements; its rollback drops the table
            pass


def value_table(con: duckdb.DuckDBPyConnection, name: str, schema: Mapping[str, tuple[str, pa.DataType]],
                columns: Mapping[str, Sequence[object]]):
    """`columns` (equal-length value lists) as the table `name`, typed by `schema` (column -> SQL type,
    Arrow type), while the block runs: an Arrow table, or a temporary table when there are few rows."""
    count = len(next(iter(columns.values()), ()))
    if count <= FEW_ROWS:
        return _temporary(con, name, {c: sql for c, (sql, _) in schema.items()}, columns)
    return registered(con, name, pa.table({c: pa.array(columns[c], arrow) for c, (_, arrow) in schema.items()}))


def string_table(con: duckdb.DuckDBPyConnection, name: str, column: str, values: Sequence[str]):
    """`values` as a one-column table `name` for a join, while the block runs."""
    return value_table(con, name, {column: ("VARCHAR", pa.string())}, {column: values})


def insert_bands(con: duckdb.DuckDBPyConnection, article_ids: Sequence[int], bands: Sequence[int],
                 hashes: Sequence[int]) -> None:
    """Rows of `article_band`: (article, band index, band hash), in parallel sequences."""
    insert_arrow(con, "article_band", pa.table({
        "article_id": pa.array(article_ids, pa.int64()),
        "band": pa.array(bands, pa.int16()),
        "hash": pa.array(hashes, pa.int64()),
    }), "article_id, band, hash")
