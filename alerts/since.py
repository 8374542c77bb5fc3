"""Reading --since: ISO dates and times, or relative forms like 24h and 7d."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from alerts.errors import SinceError

_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The moment `text` names, in UTC: '24h', '7d', '30m', '2w', '2022-08-31', '2022-08-31T12:00+02:00'."""
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SinceError(
            f"--since {text!r}: use an ISO date or time (2022-08-31, 2022-08-31T12:00Z) or a relative form (24h, 7d, 2w, 30m)"
        ) from None
    # A date or time without a zone means UTC: the warehouse stores UTC and prints UTC.
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    if moment > now:
        raise SinceError(f"--since {text!r} is in the future")
    return moment
