"""The warehouse schema: ordered, named migrations recorded in `schema_migrations`, then the public views."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.errors import MigrationError

LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VIEWS_FILE = MIGRATIONS_DIR / "views.sql"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One `NNNN_name.sql` file."""

    version: int
    name: str
    path: Path


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of `directory`, ordered by version."""
    found: dict[int, Migration] = {}
    for path in directory.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            continue  # views.sql and anything else that is not a numbered migration
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share version {version:04d}: {found[version].path.name} and {path.name}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def _ensure_history_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


def applied_migrations(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Version -> name of every migration recorded in the database."""
    _ensure_history_table(con)
    return dict(con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall())


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration version (0 for an empty database); works on read-only connections."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def _run_script(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    # One statement at a time: a multi-statement string would hide which statement failed.
    for statement in con.extract_statements(sql):
        con.execute(statement)


def migrate(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> int:
    """Apply every pending migration, each in its own transaction, recreate the views; return the schema version.

    The views are recreated in the last migration's transaction (or in their own when nothing is
    pending), so a kill can never leave migrated tables without their views.
    """
    _ensure_history_table(con)
    applied = applied_migrations(con)
    pending = []
    for migration in available_migrations(directory):
        if migration.version in applied:
            if applied[migration.version] != migration.name:
                raise MigrationError(
                    f"migration {migration.version:04d} is recorded as {applied[migration.version]!r} "
                    f"but the file is {migration.path.name}"
                )
            continue
        pending.append(migration)
    views = directory / VIEWS_FILE.name
    views_sql = views.read_text(encoding="utf-8") if views.exists() else None
    for i, migration in enumerate(pending):
        LOGGER.info("applying migration %04d_%s", migration.version, migration.name)
        con.execute("BEGIN TRANSACTION")
        step = migration.path.name
        try:
            _run_script(con, migration.path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, now())",
                [migration.version, migration.name],
            )
            if views_sql is not None and i == len(pending) - 1:
                step = f"{views.name} (recreating the public views after {migration.path.name})"
                _run_script(con, views_sql)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"migration {step} failed: {exc}") from exc
    if views_sql is not None and not pending:
        con.execute("BEGIN TRANSACTION")
        try:
            _run_script(con, views_sql)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"recreating the public views ({views.name}) failed: {exc}") from exc
    return schema_version(con)
