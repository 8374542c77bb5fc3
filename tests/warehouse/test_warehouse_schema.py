"""Migrations: ordered, named, recorded, each in a transaction; views recreated after them."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse.connection import open_reader, open_writer
from warehouse.errors import MigrationError
from warehouse.schema import MIGRATIONS_DIR, available_migrations, migrate


def test_migrating_twice_keeps_the_version_and_records_each_migration_once(db_path: Path) -> None:
    con = open_writer(db_path)
    first = migrate(con)
    second = migrate(con)
    history = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    con.close()
    assert first == second == available_migrations()[-1].version
    assert history == [(m.version, m.name) for m in available_migrations()]
    assert (1, "initial") in history


def test_public_views_exist_after_migration(db_path: Path) -> None:
    open_writer(db_path).close()
    con = open_reader(db_path)
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    con.close()
    assert {"articles", "updates", "sources", "runs"} <= views


def _migrations_copy(tmp_path: Path) -> tuple[Path, int]:
    """A copy of the real migrations and the version of the last one."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory, available_migrations(directory)[-1].version


def test_a_later_migration_file_is_applied_in_order_and_recorded(tmp_path: Path) -> None:
    directory, last = _migrations_copy(tmp_path)
    (directory / f"{last + 2:04d}_later.sql").write_text("ALTER TABLE earlier ADD COLUMN later INTEGER;")
    (directory / f"{last + 1:04d}_earlier.sql").write_text("CREATE TABLE earlier (x INTEGER);")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert migrate(con, directory) == last + 2
    names = [row[0] for row in con.execute("SELECT name FROM schema_migrations ORDER BY version").fetchall()]
    assert names[0] == "initial" and names[-2:] == ["earlier", "later"]
    con.execute("SELECT later FROM earlier").fetchall()  # the later migration ran after the earlier one
    con.close()


def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path: Path) -> None:
    directory, last = _migrations_copy(tmp_path)
    broken = f"{last + 1:04d}_broken.sql"
    (directory / broken).write_text("CREATE TABLE half_done (x INTEGER);\nSELECT * FROM no_such_table;")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(MigrationError, match=f"migration {broken} failed"):
        migrate(con, directory)
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == last
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    assert "half_done" not in tables


def test_a_renamed_migration_is_refused(tmp_path: Path) -> None:
    directory, _ = _migrations_copy(tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, directory)
    (directory / "0001_initial.sql").rename(directory / "0001_renamed.sql")
    with pytest.raises(MigrationError, match="recorded as 'initial'"):
        migrate(con, directory)
    con.close()


def test_the_views_are_recreated_in_the_last_migrations_transaction(tmp_path: Path) -> None:
    directory, last = _migrations_copy(tmp_path)
    (directory / f"{last + 1:04d}_extra.sql").write_text("CREATE TABLE extra (x INTEGER);")
    good_views = (directory / "views.sql").read_text()
    (directory / "views.sql").write_text(good_views + "\nCREATE OR REPLACE VIEW broken AS SELECT * FROM no_such_table;")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(MigrationError, match="views.sql"):
        migrate(con, directory)
    # The migration and its views stand or fall together: no migrated table is left without its views.
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == last
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "extra" not in tables
    (directory / "views.sql").write_text(good_views)
    assert migrate(con, directory) == last + 1
    views = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    con.close()
    assert {"articles", "updates"} <= views


def test_a_warehouse_made_before_0004_keeps_its_articles_and_loses_only_the_index(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for migration in available_migrations():
        if migration.version < 4:
            shutil.copy(migration.path, before / migration.path.name)
    shutil.copy(MIGRATIONS_DIR / "views.sql", before / "views.sql")
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    assert migrate(con, before) == 3
    con.execute("INSERT INTO article (watch, url, first_seen_at, status, text, matched_terms) "
                "SELECT 'w', 'https://a.example/' || i, now(), 'new', 'text ' || i, ['xinjiang'] FROM range(5) r(i)")
    stored = con.execute("SELECT * FROM article ORDER BY id").fetchall()
    con.close()

    con = open_writer(db)  # the writer migrates to the latest version on open
    try:
        assert con.execute("SELECT * FROM article ORDER BY id").fetchall() == stored
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'article' "
                           "AND constraint_type = 'PRIMARY KEY'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5  # the views see the new table
        new_id = con.execute("INSERT INTO article (watch, url, first_seen_at, status) "
                             "VALUES ('w', 'https://b.example/', now(), 'new') RETURNING id").fetchone()[0]
        assert new_id == stored[-1][0] + 1  # ids go on from the same sequence
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO article (watch, url, first_seen_at, status) VALUES ('w', 'u', now(), 'bogus')")
    finally:
        con.close()


def test_opening_an_up_to_date_warehouse_writes_nothing_to_the_file(db_path: Path) -> None:
    from warehouse.store import Warehouse

    Warehouse(db_path)  # migrates, builds the empty search index
    before = db_path.read_bytes()
    Warehouse(db_path)  # a second writer's first open: schema, views, bands and index are current
    Warehouse(db_path).source_states("w", ["https://a.example/feed"])  # and a read in a session of its own
    assert db_path.read_bytes() == before  # nothing rewritten, so closing checkpointed nothing


def test_views_sql_edited_since_the_last_open_is_applied_without_a_migration(tmp_path: Path) -> None:
    directory, last = _migrations_copy(tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    migrate(con, directory)
    views = directory / "views.sql"
    views.write_text(views.read_text() + "\nCREATE OR REPLACE VIEW newest AS SELECT max(id) AS id FROM article;\n")
    assert migrate(con, directory) == last  # no migration pending, yet the views are made again
    assert con.execute("SELECT id FROM newest").fetchall() == [(None,)]
    con.execute("DROP VIEW updates")  # a view dropped by hand comes back at the next open
    migrate(con, directory)
    assert con.execute("SELECT count(*) FROM updates").fetchone()[0] == 0
    con.close()
