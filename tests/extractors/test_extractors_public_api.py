"""The extractors room's public names: pinned, so removing one is a deliberate change."""
from __future__ import annotations

import extractors

PUBLIC = {
    "BadStatusError", "BlockedAddressError", "ContentTypeError", "DeadlineError", "Entry", "ExtractionError",
    "ExtractionPool", "Extracted", "ExtractorError", "FeedError", "FeedResponse", "FetchError", "FetchSettings",
    "Fetcher", "OPMLError", "Page", "ParsedFeed", "PollResult", "RedirectError", "RetryLaterError",
    "RobotsDisallowedError", "Source", "SourceState", "TooLargeError", "UnsupportedURLError", "canonical_url",
    "discard_requests", "extract_article", "html_to_text", "is_http_url", "parse_feed", "poll_source",
    "prepare_tls_context", "read_opml", "start_feed_requests",
}


def test_all_is_pinned_and_importable() -> None:
    assert set(extractors.__all__) == PUBLIC
    for name in extractors.__all__:
        assert getattr(extractors, name) is not None


def test_every_error_is_an_extractor_error_carrying_its_url() -> None:
    errors = [getattr(extractors, n) for n in PUBLIC if n.endswith("Error") and n != "ExtractorError"]
    for error in errors:
        assert issubclass(error, extractors.ExtractorError)
        assert error("why", "https://a.example/").url == "https://a.example/"
