"""The warehouse's exception tree: every error the warehouse raises derives from WarehouseError.

    WarehouseError
    ├── WarehouseBusyError   another process holds the database file's lock
    ├── WarehouseNotFound    there is no database file to read
    ├── ReadOnlyViolation    a statement given to the read-only path would write
    ├── QueryError           an ad-hoc query could not be parsed, bound or run
    └── MigrationError       the schema could not be brought up to date
"""
from __future__ import annotations


class WarehouseError(Exception):
    """Base of every error raised by the warehouse."""


class WarehouseBusyError(WarehouseError):
    """The database file is locked by another process for longer than we were willing to wait."""


class WarehouseNotFound(WarehouseError):
    """There is no database file at the given path (nothing has been stored yet)."""


class ReadOnlyViolation(WarehouseError):
    """A statement that would write was given to a read-only entry point."""


class QueryError(WarehouseError):
    """An ad-hoc query could not be parsed, bound or run (a mistake in the query, not in the warehouse)."""


class MigrationError(WarehouseError):
    """A migration failed or the recorded schema history does not match the migration files."""
