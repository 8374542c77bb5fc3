"""Records that leave the extractors room: what a source said and what a page held."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SourceStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class Source:
    """One configured feed of a watch."""

    url: str
    name: str = ""


@dataclass(frozen=True)
class SourceState:
    """What we remember about a source between passes (conditional GET, back-off)."""

    etag: str | None = None
    last_modified: str | None = None
    consecutive_failures: int = 0
    retry_after: datetime | None = None  # do not poll before this time (back-off, Retry-After)

    def is_deferred(self, now: datetime) -> bool:
        """In back-off (or asked to wait by Retry-After): not to be polled at `now`."""
        return self.retry_after is not None and self.retry_after > now


@dataclass(frozen=True)
class Entry:
    """One item of a feed, links already absolute."""

    source_url: str
    link: str
    title: str = ""
    summary: str = ""  # plain text
    content: str = ""  # plain text of the entry's full content, when the feed carries it
    published_at: datetime | None = None  # timezone-aware UTC
    author: str = ""
    guid: str = ""


@dataclass(frozen=True)
class PollResult:
    """The outcome of polling one source once."""

    source: Source
    status: SourceStatus
    entries: tuple[Entry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    error: str | None = None  # readable reason when status == "error"
    warning: str | None = None  # e.g. feedparser's bozo message for a feed that still parsed
    retry_after: datetime | None = None


@dataclass(frozen=True)
class Page:
    """A fetched page: the body and every URL it was reached by."""

    requested_url: str
    final_url: str
    status: int | None
    body: bytes = b""
    content_type: str = ""
    redirects: tuple[str, ...] = ()  # every hop after the first
    error: str | None = None  # readable reason when the page could not be fetched


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found in a page."""

    text: str
    title: str = ""
    author: str = ""
    published_at: datetime | None = None
    site: str = ""
    language: str = ""
    canonical_url: str = ""  # the page's rel=canonical, absolute, if any
    error: str | None = None  # set (and text empty) when extraction failed
    extra: dict = field(default_factory=dict, compare=False)
