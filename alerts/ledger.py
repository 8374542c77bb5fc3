"""The digest ledger: which digest reached which destination, so nothing is sent twice and failures retry."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

LOGGER = logging.getLogger(__name__)

LEDGER_TABLE = "digest_delivery"


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one digest to one destination, as the ledger records it."""

    digest_id: str
    watch: str
    destination_id: str
    destination: str  # privacy form
    article_ids: tuple[int, ...]
    status: str  # sent | failed
    error: str | None
    period_start: datetime | None
    period_end: datetime
    attempted_at: datetime


@dataclass(frozen=True)
class DestinationHistory:
    """What a destination has received so far."""

    sent_ids: frozenset[int]
    last_sent_at: datetime | None


def _has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    # A reader may open a warehouse written before the ledger's migration; it then has no history yet.
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = $name", {"name": LEDGER_TABLE}
    ).fetchone()[0] > 0


def destination_history(con: duckdb.DuckDBPyConnection, watch: str, destination_id: str) -> DestinationHistory:
    """The article ids already delivered to a destination for `watch`, and when it last received a digest."""
    if not _has_ledger(con):
        return DestinationHistory(frozenset(), None)
    ids = con.execute(
        f"SELECT DISTINCT unnest(article_ids) FROM {LEDGER_TABLE}"
        " WHERE watch = $watch AND destination_id = $dest AND status = 'sent'",
        {"watch": watch, "dest": destination_id},
    ).fetchall()
    last = con.execute(
        f"SELECT max(sent_at) FROM {LEDGER_TABLE} WHERE watch = $watch AND destination_id = $dest AND status = 'sent'",
        {"watch": watch, "dest": destination_id},
    ).fetchone()[0]
    return DestinationHistory(frozenset(row[0] for row in ids), last)


def watch_history(con: duckdb.DuckDBPyConnection, watch: str) -> DestinationHistory:
    """The article ids delivered to any destination of `watch`, and the last time a digest was sent."""
    if not _has_ledger(con):
        return DestinationHistory(frozenset(), None)
    ids = con.execute(
        f"SELECT DISTINCT unnest(article_ids) FROM {LEDGER_TABLE} WHERE watch = $watch AND status = 'sent'",
        {"watch": watch},
    ).fetchall()
    last = con.execute(
        f"SELECT max(sent_at) FROM {LEDGER_TABLE} WHERE watch = $watch AND status = 'sent'", {"watch": watch}
    ).fetchone()[0]
    return DestinationHistory(frozenset(row[0] for row in ids), last)


def record_deliveries(con: duckdb.DuckDBPyConnection, deliveries: Iterable[Delivery]) -> int:
    """Write delivery outcomes in one transaction; a retried (digest, destination) updates its row. Returns the count."""
    deliveries = list(deliveries)
    if not deliveries:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        for d in deliveries:
            # A row that says 'sent' stays sent: a late failure report must not undo a delivery.
            con.execute(
                f"""
                INSERT INTO {LEDGER_TABLE} (digest_id, watch, destination_id, destination, article_ids, status, error,
                    attempts, period_start, period_end, first_attempt_at, last_attempt_at, sent_at)
                VALUES ($digest, $watch, $dest, $display, $ids, $status, $error, 1, $start, $end, $at, $at,
                    CASE WHEN $status = 'sent' THEN $at END)
                ON CONFLICT (digest_id, destination_id) DO UPDATE SET
                    attempts = {LEDGER_TABLE}.attempts + 1,
                    last_attempt_at = excluded.last_attempt_at,
                    destination = excluded.destination,
                    status = CASE WHEN {LEDGER_TABLE}.status = 'sent' THEN 'sent' ELSE excluded.status END,
                    error = CASE WHEN {LEDGER_TABLE}.status = 'sent' THEN NULL ELSE excluded.error END,
                    sent_at = coalesce({LEDGER_TABLE}.sent_at, excluded.sent_at)
                """,
                {"digest": d.digest_id, "watch": d.watch, "dest": d.destination_id, "display": d.destination,
                 "ids": list(d.article_ids), "status": d.status, "error": d.error, "start": d.period_start,
                 "end": d.period_end, "at": d.attempted_at},
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    LOGGER.info("recorded %d digest deliveries", len(deliveries))
    return len(deliveries)
