"""Digest runs: which digest each destination is owed, delivering it with apprise, recording the outcome.

The warehouse is held only briefly: read with a reader, close it, render and deliver, then open the
writer just long enough to record the ledger rows (DuckDB allows one writer process or many readers).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from alerts.build import build_digest
from alerts.destinations import Destination, apprise_asset, parse_destinations
from alerts.ledger import Delivery, destination_history, record_deliveries, watch_history
from alerts.model import Digest
from alerts.render import render, subject
from warehouse.connection import open_reader, open_writer
from warehouse.passlock import exclusive_send

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestSettings:
    """What the watch config says about digests, as plain values (alerts does not read configs)."""

    watch: str
    notify: tuple[str, ...] = ()
    title: str = ""
    max_updates: int = 50


@dataclass(frozen=True)
class PlannedDelivery:
    """The digest one destination is owed."""

    destination: Destination
    digest: Digest


@dataclass(frozen=True)
class DigestRun:
    """The outcome of `send_digests`: every digest built and every delivery attempted."""

    digests: tuple[Digest, ...]  # distinct digests, in the order of the destinations
    deliveries: tuple[Delivery, ...]  # one per destination that was owed a non-empty digest
    up_to_date: tuple[str, ...]  # privacy form of destinations that had nothing new

    @property
    def failed(self) -> tuple[Delivery, ...]:
        """Deliveries that failed (recorded; retried next time)."""
        return tuple(d for d in self.deliveries if d.status == "failed")


def _now(now: datetime | None) -> datetime:
    return now.astimezone(timezone.utc) if now else datetime.now(timezone.utc)


def preview_digest(con: duckdb.DuckDBPyConnection, settings: DigestSettings, *, since: datetime | None = None,
                   now: datetime | None = None) -> Digest:
    """The digest a send would cover: what some destination has not received yet (or everything since `since`)."""
    now = _now(now)
    if since is not None:
        return build_digest(con, settings.watch, title=settings.title, max_updates=settings.max_updates,
                            since=since, now=now)
    destinations = parse_destinations(settings.notify)
    if destinations:
        histories = [destination_history(con, settings.watch, d.id) for d in destinations]
        received_by_all = frozenset.intersection(*(h.sent_ids for h in histories))
        starts = [h.last_sent_at for h in histories]
        start = None if None in starts else min(starts)
    else:
        history = watch_history(con, settings.watch)
        received_by_all, start = history.sent_ids, history.last_sent_at
    digest = build_digest(con, settings.watch, title=settings.title, max_updates=settings.max_updates,
                          exclude_ids=received_by_all, now=now)
    return _with_period_start(digest, start)


def _with_period_start(digest: Digest, start: datetime | None) -> Digest:
    # The ledger says when the destination last got a digest; the builder only knows the articles.
    return replace(digest, period_start=start) if start is not None else digest


def plan_deliveries(con: duckdb.DuckDBPyConnection, settings: DigestSettings, destinations: Sequence[Destination],
                    *, since: datetime | None = None, now: datetime | None = None) -> tuple[PlannedDelivery, ...]:
    """For each destination, the digest of the updates it has not received (within `since` when given)."""
    now = _now(now)
    built: dict[tuple[frozenset[int], datetime | None], Digest] = {}
    plans = []
    for destination in destinations:
        history = destination_history(con, settings.watch, destination.id)
        start = since if since is not None else history.last_sent_at
        key = (history.sent_ids, start)
        if key not in built:  # destinations with the same history share one digest
            digest = build_digest(con, settings.watch, title=settings.title, max_updates=settings.max_updates,
                                  since=since, exclude_ids=history.sent_ids, now=now)
            built[key] = _with_period_start(digest, start)
        plans.append(PlannedDelivery(destination, built[key]))
    return tuple(plans)


@contextlib.contextmanager
def _apprise_quiet() -> Iterator[None]:
    # apprise's own log lines may quote a channel URL at debug level; we report outcomes ourselves, redacted.
    logger = logging.getLogger("apprise")
    previous = logger.propagate
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = previous


def deliver(destination: Destination, digest: Digest, body: str, now: datetime | None = None) -> Delivery:
    """Send one rendered digest to one destination; the outcome (never an exception) as a ledger row."""
    import apprise

    notifier = apprise.Apprise(asset=apprise_asset())
    notifier.add(destination.url)
    error: str | None = None
    try:
        with _apprise_quiet():
            result = notifier.notify(body=body, title=subject(digest), body_format=destination.body_format)
        ok = bool(result)
        if not ok:
            messages = [entry.message for entry in result.logs()]
            error = destination.redact("; ".join(messages)) or "delivery failed"
    except Exception as exc:  # a plugin bug must become a recorded failure, not a lost run
        ok = False
        error = destination.redact(f"{type(exc).__name__}: {exc}")
    status = "sent" if ok else "failed"
    if ok:
        LOGGER.info("digest %s sent to %s", digest.id, destination.display)
    else:
        LOGGER.warning("digest %s to %s failed: %s", digest.id, destination.display, error)
    return Delivery(
        digest_id=digest.id, watch=digest.watch, destination_id=destination.id, destination=destination.display,
        article_ids=tuple(sorted(digest.covered_ids)), status=status, error=error,
        period_start=digest.period_start, period_end=digest.period_end, attempted_at=_now(now),
    )


def send_digests(db_path: Path | str, settings: DigestSettings, *, since: datetime | None = None,
                 now: datetime | None = None) -> DigestRun:
    """Deliver to every destination the digest it is owed and record each outcome; empty digests are not sent.

    One sender at a time per warehouse: a second waits, then finds in the ledger what the first delivered.
    """
    with exclusive_send(Path(db_path)):
        return _send_digests(db_path, settings, since=since, now=now)


def _send_digests(db_path: Path | str, settings: DigestSettings, *, since: datetime | None,
                  now: datetime | None) -> DigestRun:
    now = _now(now)
    destinations = parse_destinations(settings.notify)
    reader = open_reader(Path(db_path))
    try:
        plans = plan_deliveries(reader, settings, destinations, since=since, now=now)
    finally:
        reader.close()

    bodies: dict[tuple[str, str], str] = {}
    deliveries: list[Delivery] = []
    up_to_date: list[str] = []
    digests: dict[str, Digest] = {}
    for plan in plans:
        if plan.digest.is_empty:
            LOGGER.info("nothing new for %s", plan.destination.display)
            up_to_date.append(plan.destination.display)
            continue
        digests.setdefault(plan.digest.id, plan.digest)
        key = (plan.digest.id, plan.destination.body_format)
        if key not in bodies:
            bodies[key] = render(plan.digest, plan.destination.body_format)
        deliveries.append(deliver(plan.destination, plan.digest, bodies[key], now=now))

    if deliveries:
        writer = open_writer(Path(db_path))
        try:
            record_deliveries(writer, deliveries)
        finally:
            writer.close()
    return DigestRun(digests=tuple(digests.values()), deliveries=tuple(deliveries), up_to_date=tuple(up_to_date))
