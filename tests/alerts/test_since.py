"""--since: ISO dates and times, relative forms, one clear error otherwise."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from alerts import SinceError, parse_since

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)),
    ("7d", datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)),
    ("2w", datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)),
    ("30m", datetime(2026, 11, 30, 11, 30, tzinfo=timezone.utc)),
    ("2022-08-31", datetime(2022, 8, 31, tzinfo=timezone.utc)),
    ("2022-08-31T12:00Z", datetime(2022, 8, 31, 12, tzinfo=timezone.utc)),
    ("2022-08-31T12:00+02:00", datetime(2022, 8, 31, 10, tzinfo=timezone.utc)),
])
def test_accepted_forms(text, expected):
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 days", "", "2022-13-01", "3y"])
def test_rejected_forms_name_the_value(text):
    with pytest.raises(SinceError, match="--since"):
        parse_since(text, now=NOW)


def test_future_is_rejected():
    with pytest.raises(SinceError, match="future"):
        parse_since("2027-01-01", now=NOW)
