"""Fetcher and poll_source against a real HTTP server on 127.0.0.1: conditional GET, redirects, robots, manners."""
from __future__ import annotations

import asyncio
import gc
import gzip
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from extractors import (
    ExtractionPool,
    FetchSettings,
    Fetcher,
    Page,
    ParsedFeed,
    PollResult,
    Source,
    SourceState,
    discard_requests,
    poll_source,
    start_feed_requests,
)
from extractors_testkit import CASES, LocalServer, run

RSS = (CASES / "feeds" / "rss20.xml").read_bytes()
RELATIVE = (CASES / "feeds" / "relative-links.xml").read_bytes()
ARTICLE = (CASES / "pages" / "article.html").read_bytes()


def local(server: LocalServer, **changes: object) -> FetchSettings:
    """Settings that allow exactly this local server."""
    return replace(FetchSettings(allow_private_hosts=frozenset({server.host_port})), **changes)


def poll(settings: FetchSettings, url: str, state: SourceState | None = None) -> PollResult:
    async def go() -> PollResult:
        async with Fetcher(settings) as fetcher:
            return await poll_source(fetcher, Source(url=url, name="test"), state or SourceState())
    return run(go())


def page(settings: FetchSettings, url: str) -> Page:
    async def go() -> Page:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch_page(url)
    return run(go())


def conditional_feed(request: BaseHTTPRequestHandler) -> None:
    if request.headers.get("If-None-Match") == '"v1"':
        request.send_response(304)
        request.send_header("ETag", '"v1"')
        request.end_headers()
        return
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("ETag", '"v1"')
    request.send_header("Last-Modified", "Tue, 14 Sep 2021 10:00:00 GMT")
    request.send_header("Content-Length", str(len(RSS)))
    request.end_headers()
    request.wfile.write(RSS)


def test_poll_then_conditional_poll_gives_304_without_body(server: LocalServer) -> None:
    url = server.add_handler("/feed.xml", conditional_feed)
    first = poll(local(server), url)
    assert first.status == "ok"
    assert [e.title for e in first.entries][:2] == ["Bachelet seeks access to Xinjiang",
                                                    "Council to debate the assessment"]
    assert (first.etag, first.last_modified) == ('"v1"', "Tue, 14 Sep 2021 10:00:00 GMT")

    second = poll(local(server), url, SourceState(etag=first.etag, last_modified=first.last_modified))
    assert second.status == "not_modified"
    assert second.http_status == 304 and second.entries == ()
    assert second.etag == '"v1"'
    sent = server.requests[-1][1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 14 Sep 2021 10:00:00 GMT"
    assert "newswatch" in sent["user-agent"]


def test_fetch_feed_returns_no_body_for_304(server: LocalServer) -> None:
    url = server.add_handler("/feed.xml", conditional_feed)

    async def go() -> tuple[int, bytes]:
        async with Fetcher(local(server)) as fetcher:
            response = await fetcher.fetch_feed(url, SourceState(etag='"v1"'))
            return response.status, response.body
    assert run(go()) == (304, b"")


def test_relative_links_resolve_against_the_final_feed_url(server: LocalServer) -> None:
    server.add("/feeds/asia/rss.xml", RELATIVE, content_type="application/rss+xml")
    url = server.redirect("/old-feed", "/feeds/asia/rss.xml", 301)
    result = poll(local(server), url)
    assert result.status == "ok"
    assert result.entries[0].link == server.url("/world/asia/bachelet-xinjiang.html")
    assert result.entries[1].link == server.url("/feeds/asia/stories/council-vote.html?id=7")


def test_poll_errors_are_readable(server: LocalServer) -> None:
    broken = server.add("/500", "oops", 500)
    html = server.add("/home", "<html><body><p>hello</p></body></html>", content_type="text/html; charset=utf-8")
    missing = server.url("/nothing-here")
    assert (poll(local(server), broken).error, poll(local(server), broken).http_status) == ("HTTP 500", 500)
    assert poll(local(server), missing).error == "HTTP 404"
    assert poll(local(server), html).error == "not a feed: text/html"
    refused = poll(FetchSettings(), broken)
    assert refused.status == "error" and refused.error == "refused: 127.0.0.1 is a loopback address"


def test_page_redirects_are_recorded(server: LocalServer) -> None:
    server.add("/article", ARTICLE, content_type="text/html; charset=utf-8")
    server.redirect("/b", "/article", 302)
    start = server.redirect("/a?utm_source=x", server.url("/b"), 301)
    got = page(local(server), start)
    assert got.error is None and got.status == 200
    assert got.requested_url == start
    assert got.final_url == server.url("/article")
    assert got.redirects == (server.url("/b"), server.url("/article"))
    assert got.body == ARTICLE


def test_page_of_unwanted_type_is_refused_before_its_body(server: LocalServer) -> None:
    url = server.add("/report.pdf", b"%PDF-1.7" + b"\0" * 10000, content_type="application/pdf")
    got = page(local(server), url)
    assert got.error == "not a web page: application/pdf"
    assert got.body == b""


def test_gzip_page_is_decoded(server: LocalServer) -> None:
    url = server.add("/gz", gzip.compress(ARTICLE), content_type="text/html", content_encoding="gzip")
    assert page(local(server), url).body == ARTICLE


def test_robots_disallow_is_honoured(server: LocalServer) -> None:
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n\nUser-agent: newswatch\nDisallow: /no-bots/\n"
               "Allow: /\n", content_type="text/plain")
    secret = server.add("/private/page", ARTICLE, content_type="text/html")
    for_us = server.add("/no-bots/page", ARTICLE, content_type="text/html")
    public = server.add("/public/page", ARTICLE, content_type="text/html")

    async def go() -> list[Page]:
        async with Fetcher(local(server)) as fetcher:
            return [await fetcher.fetch_page(u) for u in (for_us, public, public)]
    blocked, allowed, again = run(go())
    assert blocked.error == "disallowed by robots.txt"
    assert allowed.error is None and again.error is None
    assert server.paths().count("/robots.txt") == 1  # cached per host
    assert "/no-bots/page" not in server.paths()
    assert page(local(server, respect_robots=False), for_us).error is None
    assert page(local(server), secret).error is None  # the * group does not apply to newswatch's own group


def test_robots_server_error_means_disallow(server: LocalServer) -> None:
    server.add("/robots.txt", "down", 503)
    url = server.add("/page", ARTICLE, content_type="text/html")
    got = page(local(server), url)
    assert got.error == "robots.txt unavailable (HTTP 503): not fetching"
    assert "/page" not in server.paths()


def test_long_retry_after_fails_with_retry_time_and_spares_the_host(server: LocalServer) -> None:
    url = server.add("/feed.xml", "slow down", 429, retry_after="3600")
    other = server.add("/other.xml", RSS, content_type="application/rss+xml")

    async def go() -> tuple[PollResult, PollResult]:
        async with Fetcher(local(server)) as fetcher:
            first = await poll_source(fetcher, Source(url), SourceState())
            second = await poll_source(fetcher, Source(other), SourceState())
            return first, second
    first, second = run(go())
    assert first.status == "error" and first.http_status == 429
    assert first.error is not None and first.error.startswith("HTTP 429: 127.0.0.1 asks to retry after ")
    assert first.retry_after is not None and first.retry_after.tzinfo is not None
    assert second.status == "error" and second.retry_after == first.retry_after
    assert server.paths() == ["/feed.xml"]  # the second request never reached the host


def test_short_retry_after_is_waited_for_once(server: LocalServer) -> None:
    calls: list[int] = []

    def flaky(request: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            request.send_response(503)
            request.send_header("Retry-After", "0")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(RSS)))
        request.end_headers()
        request.wfile.write(RSS)

    result = poll(local(server), server.add_handler("/feed.xml", flaky))
    assert result.status == "ok" and len(calls) == 2


def test_state_retry_after_in_the_future_defers_the_poll(server: LocalServer) -> None:
    from datetime import UTC, datetime, timedelta
    later = datetime.now(UTC) + timedelta(hours=1)
    url = server.add("/feed.xml", RSS, content_type="application/rss+xml")
    result = poll(local(server), url, SourceState(retry_after=later))
    assert result.status == "error" and result.retry_after == later
    assert server.paths() == []


def test_per_host_concurrency_is_capped(server: LocalServer) -> None:
    def slow(request: BaseHTTPRequestHandler) -> None:
        time.sleep(0.1)
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.send_header("Content-Length", str(len(ARTICLE)))
        request.end_headers()
        request.wfile.write(ARTICLE)

    urls = [server.add_handler(f"/p{i}", slow) for i in range(8)]

    async def go() -> list[Page]:
        import asyncio
        async with Fetcher(local(server, per_host_concurrency=2, respect_robots=False)) as fetcher:
            return await asyncio.gather(*(fetcher.fetch_page(u) for u in urls))
    pages = run(go())
    assert all(p.error is None for p in pages)
    assert server.max_in_flight <= 2


def test_charset_from_the_http_header_decodes_the_feed(server: LocalServer) -> None:
    feed = ("<rss version='2.0'><channel><title>Genève</title><item><title>Haut-Commissariat: visite à Ürümqi"
            "</title><link>https://latin.example/a</link></item></channel></rss>").encode("iso-8859-1")
    url = server.add("/latin.xml", feed, content_type="application/rss+xml; charset=iso-8859-1")
    result = poll(local(server), url)
    assert result.status == "ok"
    assert result.entries[0].title == "Haut-Commissariat: visite à Ürümqi"


def test_allow_list_accepts_any_collection_of_host_port(server: LocalServer) -> None:
    url = server.add("/page", ARTICLE, content_type="text/html")
    listed = FetchSettings(allow_private_hosts=[server.host_port], respect_robots=False)  # type: ignore[arg-type]
    assert listed.allow_private_hosts == frozenset({server.host_port})
    assert page(listed, url).error is None


def test_each_host_keeps_its_connection_across_requests() -> None:
    # One pool per host: requests to two hosts, interleaved, each reuse their host's one connection.
    import threading
    from http.server import ThreadingHTTPServer

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        peers: list[int]

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.peers.append(self.client_address[1])
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(ARTICLE)))
            self.end_headers()
            self.wfile.write(ARTICLE)

    servers = []
    for _ in range(2):
        handler = type("Handler", (KeepAlive,), {"peers": []})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append((httpd, handler))
    try:
        allowed = frozenset(f"127.0.0.1:{httpd.server_address[1]}" for httpd, _ in servers)

        async def go() -> list[Page]:
            async with Fetcher(FetchSettings(allow_private_hosts=allowed, respect_robots=False)) as fetcher:
                return [await fetcher.fetch_page(f"http://127.0.0.1:{httpd.server_address[1]}/a/{i}")
                        for i in range(3) for httpd, _ in servers]

        pages = run(go())
        assert [p.error for p in pages] == [None] * 6
        assert all(p.body == ARTICLE for p in pages)
        for _, handler in servers:
            assert len(handler.peers) == 3 and len(set(handler.peers)) == 1, handler.peers
    finally:
        for httpd, _ in servers:
            httpd.shutdown()
            httpd.server_close()


def test_a_poll_takes_the_request_started_for_it_and_asks_the_feed_once(server: LocalServer) -> None:
    fresh = server.add_handler("/fresh.xml", conditional_feed)
    known = server.add_handler("/known.xml", conditional_feed)
    resting = server.add("/resting.xml", RSS, content_type="application/rss+xml")
    sources = [Source(fresh), Source(known), Source(resting)]
    now = datetime.now(UTC)
    states = {known: SourceState(etag='"v1"'), resting: SourceState(retry_after=now + timedelta(hours=1))}

    async def go() -> tuple[list[str], list[PollResult]]:
        async with Fetcher(local(server)) as fetcher:
            started = start_feed_requests(fetcher, sources, states, now)
            return sorted(started), [await poll_source(fetcher, s, states.get(s.url), started.get(s.url))
                                     for s in sources]
    started, (first, second, third) = run(go())
    assert started == sorted([fresh, known])  # a feed in back-off is not asked
    assert (first.status, len(first.entries), second.status) == ("ok", 3, "not_modified")
    assert third.status == "error" and third.error.startswith("deferred: retry after")
    assert sorted(server.paths()) == ["/fresh.xml", "/known.xml"]  # one request each, the ones started


def test_a_started_request_that_fails_is_the_polls_recorded_error(server: LocalServer) -> None:
    url = server.add("/gone.xml", "gone", 410)

    async def go() -> PollResult:
        async with Fetcher(local(server)) as fetcher:
            started = start_feed_requests(fetcher, [Source(url)], {})
            await asyncio.sleep(0.2)  # it fails before anyone waits for it
            return await poll_source(fetcher, Source(url), SourceState(), started[url])
    polled = run(go())
    assert (polled.status, polled.http_status, polled.error) == ("error", 410, "HTTP 410")
    assert server.paths() == ["/gone.xml"]


def test_requests_nobody_takes_are_cancelled_and_their_errors_dropped(server: LocalServer, caplog) -> None:
    failing = server.add("/gone.xml", "gone", 410)
    slow = server.add_handler("/slow.xml", lambda request: time.sleep(0.5) or conditional_feed(request))

    async def go() -> list[bool]:
        async with Fetcher(local(server)) as fetcher:
            started = start_feed_requests(fetcher, [Source(failing), Source(slow)], {})
            await asyncio.sleep(0.2)
            discard_requests(started.values())
            await asyncio.wait(started.values(), timeout=5)
            return [started[failing].done() and not started[failing].cancelled(), started[slow].cancelled()]
    with caplog.at_level("ERROR", logger="asyncio"):
        assert run(go()) == [True, True]
        gc.collect()  # an unretrieved error is reported when its task is collected
    assert "never retrieved" not in caplog.text


def test_a_poll_parses_its_feed_in_the_extraction_workers(server: LocalServer) -> None:
    url = server.add_handler("/feed.xml", conditional_feed)
    asked: list[tuple[str, str]] = []

    async def go() -> tuple[PollResult, PollResult]:
        async with Fetcher(local(server)) as fetcher:
            here = await poll_source(fetcher, Source(url), SourceState())
            with ExtractionPool(workers=1) as pool:
                async def in_pool(body: bytes, final_url: str, headers) -> ParsedFeed:
                    asked.append((final_url, headers["content-type"]))
                    return await pool.parse_feed(body, final_url, headers)
                return here, await poll_source(fetcher, Source(url), SourceState(), parse=in_pool)
    here, there = run(go())
    assert asked == [(url, "application/rss+xml")]  # the poll handed its body to the pool
    assert there.status == "ok" and there.entries == here.entries and len(there.entries) == 3
    assert (there.etag, there.warning) == (here.etag, here.warning)

