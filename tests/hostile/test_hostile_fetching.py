"""Hostile servers and URLs: SSRF, redirect tricks, dripping bodies, gzip bombs, oversized bodies."""
from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
from dataclasses import replace
from http.server import BaseHTTPRequestHandler

import pytest

from extractors import BlockedAddressError, FetchSettings, Fetcher, Page, PollResult, Source, SourceState, poll_source
from extractors.addresses import address_problem, resolve_checked
from extractors_testkit import CASES, LocalServer, drip, run

ARTICLE = (CASES / "pages" / "article.html").read_bytes()


def settings(*servers: LocalServer, **changes: object) -> FetchSettings:
    allowed = frozenset(s.host_port for s in servers)
    return replace(FetchSettings(allow_private_hosts=allowed, respect_robots=False), **changes)


def page(fetch_settings: FetchSettings, url: str) -> Page:
    async def go() -> Page:
        async with Fetcher(fetch_settings) as fetcher:
            return await fetcher.fetch_page(url)
    return run(go())


def poll(fetch_settings: FetchSettings, url: str) -> PollResult:
    async def go() -> PollResult:
        async with Fetcher(fetch_settings) as fetcher:
            return await poll_source(fetcher, Source(url), SourceState())
    return run(go())


@pytest.mark.parametrize(("address", "refused"), [
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.251", True),
    ("::1", True), ("::", True), ("fc00::1", True), ("fd12:3456::1", True), ("fe80::1", True),
    ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True), ("ff02::1", True), ("64:ff9b::a9fe:a9fe", True),
    ("93.184.216.34", False), ("8.8.8.8", False), ("2606:4700:4700::1111", False),
])
def test_address_classification(address: str, refused: bool) -> None:
    assert (address_problem(ipaddress.ip_address(address)) is not None) == refused


@pytest.mark.parametrize("host", ["127.0.0.1", "93.184.216.34", "[::1]", "::ffff:10.0.0.1", "2606:4700:4700::1111"])
def test_an_address_literal_is_checked_as_the_resolver_would_answer_it(host: str) -> None:
    # Literals skip the loop's resolver threads; the answer and the refusal must be the resolver's.
    async def both(allow: bool) -> tuple[list[str], list[str]]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host.strip("[]"), 80, type=socket.SOCK_STREAM)
        return [str(info[4][0]) for info in infos], await resolve_checked(host, 80, allow)

    resolved, checked = asyncio.run(both(allow=True))
    assert checked == resolved
    problem = address_problem(ipaddress.ip_address(host.strip("[]")))
    if problem is None:
        assert asyncio.run(resolve_checked(host, 80, False)) == resolved
    else:
        with pytest.raises(BlockedAddressError) as caught:
            asyncio.run(resolve_checked(host, 80, frozenset({"127.0.0.1:1"})))
        assert str(caught.value) == f"refused: {resolved[0]} is {problem}"


def test_loopback_is_refused_unless_that_host_port_is_allowed(server: LocalServer) -> None:
    url = server.add("/page", ARTICLE, content_type="text/html")
    refused = page(FetchSettings(respect_robots=False), url)
    assert refused.error == "refused: 127.0.0.1 is a loopback address"
    assert server.paths() == []
    other_port = page(FetchSettings(allow_private_hosts=frozenset({"127.0.0.1:1"}), respect_robots=False), url)
    assert other_port.error == "refused: 127.0.0.1 is a loopback address"
    assert server.paths() == []
    allowed = page(settings(server), url)
    assert allowed.error is None and allowed.body == ARTICLE
    assert page(FetchSettings(allow_private_hosts=True, respect_robots=False), url).error is None


def test_host_names_are_checked_on_the_address_they_resolve_to(server: LocalServer) -> None:
    # "127.0.0.1:PORT" is allowed, but the name localhost is checked by what it resolves to.
    url = server.add("/page", ARTICLE, content_type="text/html")
    got = page(settings(server), server.url("/page", host="localhost"))
    assert got.error is not None and got.error.startswith("refused: localhost (")
    assert "loopback" in got.error
    assert server.paths() == []
    assert page(settings(server), url).error is None


def test_redirect_to_a_forbidden_server_is_refused_and_never_reaches_it(
        server: LocalServer, second_server: LocalServer) -> None:
    second_server.add("/internal", "secret admin page", content_type="text/html")
    by_ip = server.redirect("/to-ip", second_server.url("/internal"))
    by_name = server.redirect("/to-name", second_server.url("/internal", host="localhost"))
    for start in (by_ip, by_name):
        got = page(settings(server), start)
        assert got.error is not None and got.error.startswith("refused: "), got.error
        assert got.body == b""
    assert second_server.paths() == []
    assert server.paths() == ["/to-ip", "/to-name"]


def test_feed_redirect_to_a_forbidden_server_is_refused(server: LocalServer, second_server: LocalServer) -> None:
    second_server.add("/feed", (CASES / "feeds" / "rss20.xml").read_bytes(), content_type="application/rss+xml")
    start = server.redirect("/feed", second_server.url("/feed"))
    result = poll(settings(server), start)
    assert result.status == "error" and result.error is not None and result.error.startswith("refused: ")
    assert second_server.paths() == []


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/"])
def test_redirect_to_another_scheme_is_refused(server: LocalServer, location: str) -> None:
    got = page(settings(server), server.redirect("/r", location))
    assert got.error == f"not an http(s) URL: {location}"


def test_redirect_loop_ends(server: LocalServer) -> None:
    server.redirect("/loop1", "/loop2")
    server.redirect("/loop2", "/loop1")
    got = page(settings(server), server.url("/loop1"))
    assert got.error == f"redirect loop at {server.url('/loop1')}"
    assert got.redirects == (server.url("/loop2"),)


def test_redirect_chain_stops_after_max_redirects(server: LocalServer) -> None:
    for i in range(20):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    got = page(settings(server, max_redirects=5), server.url("/r0"))
    assert got.error == "more than 5 redirects"
    assert server.paths() == [f"/r{i}" for i in range(6)]


def test_dripping_server_is_cut_at_the_deadline(server: LocalServer) -> None:
    url = server.add_handler("/drip", drip(server, interval=0.1))
    got = page(settings(server, deadline=1.0), url)
    assert got.error == "timed out after 1 s"
    assert got.body == b""


def test_silent_server_is_cut_at_the_deadline(server: LocalServer) -> None:
    def silent(request: BaseHTTPRequestHandler) -> None:
        server.stopping.wait(30)

    result = poll(settings(server, deadline=0.5), server.add_handler("/feed", silent))
    assert (result.status, result.error) == ("error", "timed out after 0.5 s")


def _gzip_bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


def test_gzip_bomb_page_is_cut_at_the_cap(server: LocalServer) -> None:
    bomb = _gzip_bomb(50 * 1024 * 1024)
    assert len(bomb) < 100_000
    url = server.add("/bomb", bomb, content_type="text/html", content_encoding="gzip")
    got = page(settings(server, max_page_bytes=1024 * 1024), url)
    assert got.error == "body larger than 1048576 bytes"
    assert got.body == b""


def test_gzip_bomb_feed_is_cut_at_the_cap(server: LocalServer) -> None:
    url = server.add("/feed", _gzip_bomb(30 * 1024 * 1024), content_type="application/rss+xml",
                     content_encoding="gzip")
    result = poll(settings(server, max_feed_bytes=2 * 1024 * 1024), url)
    assert (result.status, result.error) == ("error", "body larger than 2097152 bytes")


def test_oversized_plain_body_is_refused(server: LocalServer) -> None:
    url = server.add("/big", b"<p>" + b"a" * 300_000, content_type="text/html")
    assert page(settings(server, max_page_bytes=100_000), url).error == "body larger than 100000 bytes"


def test_deflate_without_zlib_header_is_decoded(server: LocalServer) -> None:
    import zlib
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = raw.compress(ARTICLE) + raw.flush()
    url = server.add("/deflate", body, content_type="text/html", content_encoding="deflate")
    assert page(settings(server), url).body == ARTICLE


def test_unrequested_content_encoding_is_an_error(server: LocalServer) -> None:
    url = server.add("/br", b"\x1b\x00", content_type="text/html", content_encoding="br")
    assert page(settings(server), url).error == "unsupported Content-Encoding: br"
