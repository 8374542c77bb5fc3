"""extractors room: everything that touches the outside world and turns it into records."""
from extractors.errors import (
    BadStatusError,
    BlockedAddressError,
    ContentTypeError,
    DeadlineError,
    ExtractionError,
    ExtractorError,
    FeedError,
    FetchError,
    OPMLError,
    RedirectError,
    RetryLaterError,
    RobotsDisallowedError,
    TooLargeError,
    UnsupportedURLError,
)
from extractors.extract import ExtractionPool, extract_article
from extractors.feeds import ParsedFeed, html_to_text, parse_feed, poll_source
from extractors.http import FeedResponse, Fetcher, FetchSettings
from extractors.opml import read_opml
from extractors.types import Entry, Extracted, Page, PollResult, Source, SourceState
from extractors.urls import canonical_url, is_http_url

__all__ = [
    "BadStatusError",
    "BlockedAddressError",
    "ContentTypeError",
    "DeadlineError",
    "Entry",
    "ExtractionError",
    "ExtractionPool",
    "Extracted",
    "ExtractorError",
    "FeedError",
    "FeedResponse",
    "FetchError",
    "FetchSettings",
    "Fetcher",
    "OPMLError",
    "Page",
    "ParsedFeed",
    "PollResult",
    "RedirectError",
    "RetryLaterError",
    "RobotsDisallowedError",
    "Source",
    "SourceState",
    "TooLargeError",
    "UnsupportedURLError",
    "canonical_url",
    "extract_article",
    "html_to_text",
    "is_http_url",
    "parse_feed",
    "poll_source",
    "read_opml",
]
