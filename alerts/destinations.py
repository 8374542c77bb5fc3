"""Notification destinations: apprise URLs, identified by a hash and shown in apprise's privacy form."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from alerts.errors import DestinationError

LOGGER = logging.getLogger(__name__)

# Options apprise adds to every URL it prints; they say nothing about where a digest went.
_GENERIC_OPTIONS = frozenset({"overflow", "retry", "wait", "optional", "cto", "rto", "format", "emojis", "verify",
                              "tz", "store", "method"})

# apprise's NotifyFormat values; a channel gets the body it renders natively.
_BODY_FORMATS = ("html", "markdown", "text")


@dataclass(frozen=True)
class Destination:
    """One channel of `[digest] notify`; `url` holds secrets and is never printed, logged or stored."""

    id: str  # sha256 of the URL: stable, and reveals nothing usable
    display: str  # apprise's privacy form: passwords and tokens masked
    body_format: str  # html | markdown | text
    url: str = field(repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The parts of the URL that may be secret (password, user, path tokens, query values)."""
        parts = urlsplit(self.url)
        candidates = [parts.password or "", parts.username or ""]
        candidates += [segment for segment in parts.path.split("/") if segment]
        candidates += [pair.split("=", 1)[1] for pair in parts.query.split("&") if "=" in pair]
        found = {c for c in candidates if len(c) >= 4} | {unquote(c) for c in candidates if len(unquote(c)) >= 4}
        found.discard(parts.hostname or "")
        return tuple(sorted(found, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` with anything secret from the URL masked (apprise errors may quote a URL)."""
        text = text.replace(self.url, self.display)
        for secret in self.secrets():
            text = text.replace(secret, "****")
        return text


def destination_id(url: str) -> str:
    """The ledger's key for a destination: a hash of its URL, never the URL."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()


def parse_destination(url: str, position: int = 1) -> Destination:
    """A Destination for an apprise URL; DestinationError (naming only the scheme) when apprise cannot use it."""
    import apprise  # imported on use: it takes a third of a second, and most commands never send

    url = url.strip()
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    plugin = apprise.Apprise.instantiate(url, asset=apprise_asset(), suppress_exceptions=True)
    if plugin is None:
        raise DestinationError(f"[digest] notify #{position}: not a usable apprise URL (scheme {scheme}://)")
    preferred = plugin.notify_format
    if isinstance(preferred, (tuple, list)):
        preferred = preferred[0]
    value = getattr(preferred, "value", preferred)
    body_format = value if value in _BODY_FORMATS else "text"
    return Destination(id=destination_id(url), display=_short(plugin.url(privacy=True)), body_format=body_format,
                       url=url)


def _short(privacy_url: str) -> str:
    parts = urlsplit(privacy_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _GENERIC_OPTIONS]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*@")))


def parse_destinations(urls: tuple[str, ...] | list[str]) -> tuple[Destination, ...]:
    """Destinations for every URL of `[digest] notify`, in order, without repeats."""
    result: dict[str, Destination] = {}
    for position, url in enumerate(urls, 1):
        destination = parse_destination(url, position)
        result.setdefault(destination.id, destination)
    return tuple(result.values())


def apprise_asset():  # -> apprise.AppriseAsset
    """Settings for every apprise object of newswatch."""
    import apprise

    # Memory-only persistent store: apprise must not write cache files into the user's home.
    return apprise.AppriseAsset(storage_mode="memory")
