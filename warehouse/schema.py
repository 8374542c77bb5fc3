"""The warehouse schema: ordered, named migrations recorded in `schema_migrations`, then the public views.

One step is data, not SQL: the LSH bands in `article_band` depend on the fingerprint code, so when
`dedup.minhash.FINGERPRINT_VERSION` differs from the version recorded in `fingerprint_state`,
`upgrade_bands` recomputes them from the stored texts (the writer runs it when it opens the file).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dedup.minhash import FINGERPRINT_VERSION, fingerprint
from warehouse.arrow import insert_bands
from warehouse.errors import MigrationError

LOGGER = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VIEWS_FILE = MIGRATIONS_DIR / "views.sql"
BAND_UPGRADE_BATCH = 1000  # articles re-banded per transaction: about a second of CPU
_MIGRATION_NAME = re.compile(r"^(\d{4})_([A-Za-z0-9_]+)\.sql$")
_VIEW_NAME = re.compile(r"\bCREATE\s+OR\s+REPLACE\s+VIEW\s+(\w+)", re.IGNORECASE)


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
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
        # The digest of the views.sql the public views were last made from (one row).
        "CREATE TABLE IF NOT EXISTS schema_views (digest VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


def applied_migrations(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Version -> name of every migration recorded in the database."""
    _ensure_history_table(con)
    return dict(con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall())


def _run_script(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    # One statement at a time: a multi-statement string would hide which statement failed.
    for statement in con.extract_statements(sql):
        con.execute(statement)


def migrate(con: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> int:
    """Apply every pending migration, each in its own transaction, then the views; return the schema version.

    The views are recreated in the last migration's transaction, so a kill can never leave migrated
    tables without their views. With nothing pending they are recreated (in a transaction of their
    own) only when views.sql changed or a view was dropped: an up-to-date warehouse opens without a write.
    """
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
                _make_views(con, views_sql)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"migration {step} failed: {exc}") from exc
    if views_sql is not None and not pending and not _views_current(con, views_sql):
        con.execute("BEGIN TRANSACTION")
        try:
            _make_views(con, views_sql)
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise MigrationError(f"recreating the public views ({views.name}) failed: {exc}") from exc
    return max([*applied, *(m.version for m in pending)], default=0)


def _views_digest(views_sql: str) -> str:
    return hashlib.sha256(views_sql.encode("utf-8")).hexdigest()


def _make_views(con: duckdb.DuckDBPyConnection, views_sql: str) -> None:
    """Run views.sql and record its digest (in the caller's transaction)."""
    _run_script(con, views_sql)
    con.execute("DELETE FROM schema_views")
    con.execute("INSERT INTO schema_views (digest) VALUES (?)", [_views_digest(views_sql)])


def _views_current(con: duckdb.DuckDBPyConnection, views_sql: str) -> bool:
    """True when the views were made from this views.sql and none of them has been dropped since.

    Recreating them on every open rewrote the catalog at every close: ~25 ms of each pass, idle or not.
    """
    names = sorted({name.lower() for name in _VIEW_NAME.findall(views_sql)})
    return con.execute(
        "SELECT coalesce((SELECT any_value(digest) = $digest FROM schema_views), false) "
        "AND (SELECT count(DISTINCT lower(view_name)) FROM duckdb_views() "
        "     WHERE NOT internal AND database_name = current_database() AND schema_name = 'main' "
        "     AND list_contains($names, lower(view_name))) = len($names)",
        {"digest": _views_digest(views_sql), "names": names},
    ).fetchone()[0]


def upgrade_bands(con: duckdb.DuckDBPyConnection, batch_size: int = BAND_UPGRADE_BATCH) -> int:
    """Recompute the stored LSH bands if they were made by another fingerprint version; return articles re-banded.

    Batches in id order, each one transaction that also records how far it got, so a killed upgrade
    loses at most one batch and the next call finishes it. Articles stored without bands keep none.
    """
    state = _fingerprint_state(con)
    if state is None or state[0] == FINGERPRINT_VERSION:
        return 0
    version, target, done_upto = state
    if target != FINGERPRINT_VERSION:  # a fresh upgrade, or one to a version this code does not write
        con.execute("UPDATE fingerprint_state SET target = ?, done_upto = 0", [FINGERPRINT_VERSION])
        done_upto = 0
    remaining = con.execute("SELECT count(*) FROM article WHERE id > ?", [done_upto]).fetchone()[0]
    LOGGER.info("recomputing the LSH bands of %d stored articles: fingerprint version %d -> %d",
                remaining, version, FINGERPRINT_VERSION)
    rebanded = checked = 0
    while True:
        con.execute("BEGIN TRANSACTION")
        try:
            rows = con.execute("SELECT id, coalesce(text, '') FROM article WHERE id > ? ORDER BY id LIMIT ?",
                               [done_upto, batch_size]).fetchall()
            if not rows:
                con.execute("UPDATE fingerprint_state SET version = ?, target = NULL, done_upto = 0",
                            [FINGERPRINT_VERSION])
                con.execute("COMMIT")
                break
            rebanded += _reband(con, rows)
            done_upto = rows[-1][0]
            con.execute("UPDATE fingerprint_state SET done_upto = ?", [done_upto])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        checked += len(rows)
        LOGGER.info("recomputed LSH bands: %d of %d articles checked, %d re-banded", checked, remaining, rebanded)
    return rebanded


def _fingerprint_state(con: duckdb.DuckDBPyConnection) -> tuple[int, int | None, int] | None:
    exists = con.execute(  # duckdb_tables(): a third of what information_schema costs
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'fingerprint_state'"
    ).fetchone()[0]
    if not exists:  # migrations of another directory, without 0003
        return None
    return con.execute("SELECT version, target, done_upto FROM fingerprint_state").fetchone()


def _reband(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str]]) -> int:
    # Only articles that had bands get new ones: errors were stored without.
    lo, hi = rows[0][0], rows[-1][0]
    banded = {r[0] for r in con.execute(
        "SELECT DISTINCT article_id FROM article_band WHERE article_id BETWEEN ? AND ?", [lo, hi]).fetchall()}
    ids, bands, hashes = [], [], []
    for article_id, text in rows:
        if article_id in banded:
            for band, value in enumerate(fingerprint(text).bands):
                ids.append(article_id)
                bands.append(band)
                hashes.append(value)
    con.execute("DELETE FROM article_band WHERE article_id BETWEEN ? AND ?", [lo, hi])
    if ids:
        insert_bands(con, ids, bands, hashes)
    return len(banded)
