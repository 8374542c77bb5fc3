"""The alerts room's exception tree: every error it raises derives from AlertsError.

    AlertsError
    ├── DestinationError   a `[digest] notify` entry is not a usable apprise URL
    ├── SinceError         a --since value is neither an ISO date/time nor a relative form like 24h
    └── UnknownFormat      a digest format other than markdown, html, text, json, atom

Failed deliveries are not exceptions: they are recorded in the ledger and retried next time.
"""
from __future__ import annotations


class AlertsError(Exception):
    """Base of every error raised by the alerts room."""


class DestinationError(AlertsError):
    """A notification destination cannot be used; the message never contains the URL's secrets."""


class SinceError(AlertsError, ValueError):
    """A --since value could not be understood."""


class UnknownFormat(AlertsError, ValueError):
    """A digest format that does not exist."""
