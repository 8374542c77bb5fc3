"""Polling one source: its conditional GET, started early or not, into a PollResult."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime

from extractors.errors import ExtractorError, FetchError, RetryLaterError
from extractors.feedparse import ParsedFeed, parse_feed
from extractors.http import FeedResponse, Fetcher
from extractors.types import PollResult, Source, SourceState

LOGGER = logging.getLogger(__name__)

# How a poll parses a feed's bytes (body, final URL, response headers): `parse_feed` unless given another.
FeedParser = Callable[[bytes, str, Mapping[str, str]], Awaitable[ParsedFeed]]


def start_feed_requests(fetcher: Fetcher, sources: Iterable[Source], states: Mapping[str, SourceState],
                        now: datetime | None = None) -> dict[str, asyncio.Task[FeedResponse]]:
    """Start the conditional GET of every source not in back-off, on the running loop; by feed URL.

    Each is handed to `poll_source(..., started=)`. One that nobody takes must be given to
    `discard_requests`, or its error would be reported as never retrieved.
    """
    now = now or datetime.now(UTC)
    started = {}
    for source in sources:
        state = states.get(source.url) or SourceState()
        if source.url not in started and not state.is_deferred(now):
            started[source.url] = asyncio.ensure_future(fetcher.fetch_feed(source.url, state))
    return started


def discard_requests(requests: Iterable[asyncio.Future]) -> None:
    """Cancel requests started by `start_feed_requests` that no poll took; an error one already met is
    dropped too (cancelling a finished task marks its exception as seen)."""
    for request in requests:
        request.cancel()


async def poll_source(fetcher: Fetcher, source: Source, state: SourceState | None = None,
                      started: asyncio.Future[FeedResponse] | None = None,
                      parse: FeedParser | None = None) -> PollResult:
    """Poll one feed once (conditional GET) and return ok, not_modified or error; never raises.

    `started` is the feed's conditional GET already in flight (`start_feed_requests`, begun earlier so
    that its wait overlaps other work): its response, or its error, is taken instead of a new request.
    `parse` parses the feed's bytes elsewhere (in a worker process); it must not raise either.
    """
    state = state or SourceState()
    now = datetime.now(UTC)
    if state.is_deferred(now):
        if started is not None:
            started.cancel()
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          error=f"deferred: retry after {state.retry_after:%Y-%m-%d %H:%M:%S} UTC",
                          retry_after=state.retry_after)
    try:
        response = await (started if started is not None else fetcher.fetch_feed(source.url, state))
    except RetryLaterError as exc:
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          http_status=exc.status, error=str(exc), retry_after=exc.retry_at)
    except FetchError as exc:
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          http_status=exc.status, error=str(exc))
    except ExtractorError as exc:
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          error=str(exc))
    except Exception as exc:  # one bad source never stops a pass
        LOGGER.exception("unexpected error polling %s", source.url)
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          error=f"internal error: {exc!r}")
    etag = response.etag or state.etag
    last_modified = response.last_modified or state.last_modified
    if response.status == 304:
        return PollResult(source=source, status="not_modified", etag=etag, last_modified=last_modified,
                          http_status=304)
    if parse is None:
        parsed = parse_feed(response.body, response.final_url, response.headers)
    else:
        parsed = await parse(response.body, response.final_url, response.headers)
    if parsed.error:
        # Do not keep validators of a response we could not use, or a fixed feed would stay 304.
        return PollResult(source=source, status="error", etag=state.etag, last_modified=state.last_modified,
                          http_status=response.status, error=parsed.error)
    return PollResult(source=source, status="ok", entries=parsed.entries, etag=response.etag,
                      last_modified=response.last_modified, http_status=response.status,
                      warning=parsed.warning)
