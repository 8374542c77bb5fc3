"""How long to leave a failing source alone: a few quick retries, then exponential back-off."""
from __future__ import annotations

from datetime import datetime, timedelta

FREE_FAILURES = 2  # failures in a row that are retried at the next pass anyway
BASE_DELAY = timedelta(minutes=30)
MAX_DELAY = timedelta(hours=24)


def backoff_delay(consecutive_failures: int) -> timedelta:
    """The pause before the next poll after this many failures in a row (zero for the first few)."""
    if consecutive_failures <= FREE_FAILURES:
        return timedelta(0)
    return min(BASE_DELAY * 2 ** (consecutive_failures - FREE_FAILURES - 1), MAX_DELAY)


def next_poll_after(consecutive_failures: int, now: datetime) -> datetime | None:
    """When a source that failed this many times in a row may be polled again; None: at once."""
    delay = backoff_delay(consecutive_failures)
    return now + delay if delay else None
