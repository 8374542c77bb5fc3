"""extractors room: everything that touches the outside world and turns it into records.

Names load on first use (PEP 562): an extraction worker imports trafilatura, feedparser (it
parses the pass's feeds) and this package, not httpx and the rest of what polling needs.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from extractors.feedparse import ParsedFeed, html_to_text, parse_feed
    from extractors.feeds import discard_requests, poll_source, start_feed_requests
    from extractors.http import FeedResponse, Fetcher, FetchSettings, prepare_tls_context
    from extractors.opml import read_opml
    from extractors.types import Entry, Extracted, Page, PollResult, Source, SourceState
    from extractors.urls import canonical_url, is_http_url

_HOMES = {
    "errors": ("BadStatusError", "BlockedAddressError", "ContentTypeError", "DeadlineError", "ExtractionError",
               "ExtractorError", "FeedError", "FetchError", "OPMLError", "RedirectError", "RetryLaterError",
               "RobotsDisallowedError", "TooLargeError", "UnsupportedURLError"),
    "extract": ("ExtractionPool", "extract_article"),
    "feedparse": ("ParsedFeed", "html_to_text", "parse_feed"),
    "feeds": ("discard_requests", "poll_source", "start_feed_requests"),
    "http": ("FeedResponse", "Fetcher", "FetchSettings", "prepare_tls_context"),
    "opml": ("read_opml",),
    "types": ("Entry", "Extracted", "Page", "PollResult", "Source", "SourceState"),
    "urls": ("canonical_url", "is_http_url"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'extractors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"extractors.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
    "discard_requests",
    "extract_article",
    "html_to_text",
    "is_http_url",
    "parse_feed",
    "poll_source",
    "prepare_tls_context",
    "read_opml",
    "start_feed_requests",
]
