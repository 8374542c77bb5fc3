"""The extractors room's exception tree; every error carries the URL it is about.

    ExtractorError
    ├── FetchError                  the network or the server let us down
    │   ├── BadStatusError          a final HTTP status that is not a success
    │   ├── RetryLaterError         429/503 with a Retry-After too far away to wait for
    │   ├── BlockedAddressError     SSRF guard: private, loopback, link-local … address
    │   ├── UnsupportedURLError     not an absolute http(s) URL
    │   ├── RedirectError           too many redirects, a loop, a redirect without Location
    │   ├── TooLargeError           decoded body over the cap
    │   ├── DeadlineError           the total deadline or the connect timeout passed
    │   ├── ContentTypeError        a page that is not HTML/XML/text
    │   └── RobotsDisallowedError   robots.txt says no
    ├── FeedError                   bytes that are not a feed
    ├── OPMLError                   an OPML file we cannot read
    └── ExtractionError             trafilatura found no article
"""
from __future__ import annotations

from datetime import datetime


class ExtractorError(Exception):
    """Base of every error raised by the extractors room."""

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url

    @property
    def message(self) -> str:
        """The readable reason, without the URL."""
        return str(self.args[0]) if self.args else ""


class FetchError(ExtractorError):
    """A URL could not be fetched."""

    def __init__(self, message: str, url: str = "", status: int | None = None) -> None:
        super().__init__(message, url)
        self.status = status


class BadStatusError(FetchError):
    """The server answered with an HTTP status we cannot use."""


class RetryLaterError(FetchError):
    """The host asked us (429/503 + Retry-After) to come back later than we are willing to wait."""

    def __init__(self, message: str, url: str = "", status: int | None = None,
                 retry_at: datetime | None = None) -> None:
        super().__init__(message, url, status)
        self.retry_at = retry_at


class BlockedAddressError(FetchError):
    """The host resolves to an address the SSRF guard refuses."""


class UnsupportedURLError(FetchError):
    """Not an absolute http:// or https:// URL."""


class RedirectError(FetchError):
    """Redirects that never arrive anywhere."""


class TooLargeError(FetchError):
    """The decoded body is larger than the configured cap."""


class DeadlineError(FetchError):
    """The request did not finish within its deadline."""


class ContentTypeError(FetchError):
    """A page whose content type is not HTML, XML or text."""


class RobotsDisallowedError(FetchError):
    """robots.txt of the host disallows the URL for our user agent."""


class FeedError(ExtractorError):
    """The bytes are not a feed feedparser can read."""


class OPMLError(ExtractorError):
    """An OPML file that is malformed or unsafe."""


class ExtractionError(ExtractorError):
    """No article text could be extracted from a page."""
