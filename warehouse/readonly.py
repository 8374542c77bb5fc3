"""Ad-hoc SQL on the warehouse that cannot change it: statements are vetted by DuckDB's own parser,
then run on a read-only connection with file access switched off (defence in depth)."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from warehouse.connection import open_reader
from warehouse.errors import QueryError, ReadOnlyViolation, WarehouseError
from warehouse.search import load_fts

LOGGER = logging.getLogger(__name__)

_READING = {duckdb.StatementType.SELECT}
_EXPLAIN_PREFIX = re.compile(r"^\s*explain\s+", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*pragma\b", re.IGNORECASE | re.DOTALL)
_EXPLAIN_ANALYZE = re.compile(r"^\s*explain\s+analy[sz]e\b", re.IGNORECASE)


def _parser(sql: str) -> duckdb.DuckDBPyConnection:
    # An empty in-memory database is enough to parse; never let parsing reach for the network.
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
    if "pragma" in sql.lower():
        try:
            load_fts(con)  # so that PRAGMA create_fts_index parses (and is then refused as a write)
        except (duckdb.Error, WarehouseError):
            LOGGER.debug("fts extension unavailable to the SQL parser", exc_info=True)
    return con


def _describe(statement: duckdb.Statement) -> str:
    return statement.type.name.replace("_", " ")


def _check(parser: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> None:
    if statement.type in _READING:
        return
    if statement.type == duckdb.StatementType.EXPLAIN and not _EXPLAIN_ANALYZE.match(statement.query):
        # A plain EXPLAIN only plans; vet what it explains.
        for inner in parser.extract_statements(_EXPLAIN_PREFIX.sub("", statement.query, count=1)):
            _check(parser, inner)
        return
    if _EXPLAIN_ANALYZE.match(statement.query):
        raise ReadOnlyViolation("EXPLAIN ANALYZE runs its statement; only plain EXPLAIN is allowed here")
    text = " ".join(statement.query.split())[:60] or _describe(statement)
    raise ReadOnlyViolation(
        f"refused: {_describe(statement)} statement ({text}); this database is opened read-only, "
        "only SELECT queries are allowed"
    )


def read_statements(sql: str) -> list[duckdb.Statement]:
    """Parse `sql` with DuckDB; raise ReadOnlyViolation if any statement could write or change settings."""
    parser = _parser(sql)
    try:
        try:
            statements = parser.extract_statements(sql)
        except duckdb.Error as exc:
            # Some PRAGMAs (create_fts_index, …) run at parse time against the empty parser database.
            if _PRAGMA.match(sql):
                raise ReadOnlyViolation("refused: this PRAGMA is not a plain query; only SELECT queries are allowed") from exc
            raise QueryError(f"cannot parse the query: {exc}") from exc
        if not statements:
            raise QueryError("the query is empty")
        for statement in statements:
            _check(parser, statement)
        return statements
    finally:
        parser.close()


def run_readonly_sql(
    path: Path, sql: str, params: Mapping[str, Any] | None = None, wait_seconds: float = 5.0
) -> tuple[list[str], list[tuple]]:
    """Run read-only SQL on the warehouse; return the column names and rows of the last statement."""
    statements = read_statements(sql)
    params = dict(params or {})
    wanted = set().union(*(s.named_parameters for s in statements))
    missing = sorted(wanted - set(params))
    if missing:
        raise QueryError(f"missing value for parameter {', '.join('$' + m for m in missing)} (use -p NAME VALUE)")
    unused = sorted(set(params) - wanted)
    if unused:
        raise QueryError(f"the query has no parameter {', '.join('$' + u for u in unused)}")
    con = open_reader(Path(path), wait_seconds=wait_seconds)
    try:
        if "fts_main" in sql.lower():  # loading costs time; only queries of the index need it
            try:
                load_fts(con)  # lets queries use fts_main_article.match_bm25
            except (duckdb.Error, WarehouseError):
                LOGGER.debug("fts extension unavailable", exc_info=True)
        # Even a statement that slipped past the parser check cannot touch files or settings now.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        columns: list[str] = []
        rows: list[tuple] = []
        for statement in statements:
            own = {name: params[name] for name in statement.named_parameters}
            cursor = con.execute(statement, own) if own else con.execute(statement)
            if cursor.description is not None:
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
        return columns, rows
    except duckdb.Error as exc:
        if "read-only" in str(exc).lower():
            raise ReadOnlyViolation(f"refused: {exc}") from exc
        raise QueryError(f"query failed: {exc}") from exc
    finally:
        con.close()
