"""Feeds built to hurt: entity expansion, external entities, and feedparser's whole test corpus over HTTP."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from extractors import FetchSettings, Fetcher, PollResult, Source, SourceState, parse_feed, poll_source
from extractors_testkit import SHARED, LocalServer, run

FEED_CORPUS = SHARED / "corpora" / "feedparser-feeds"

LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol0 "lol">{LAUGHS}]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://laughs.example/a</link><description>&lol9;</description></item>
</channel></rss>""".encode()


def external_entity_feed(target: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY file SYSTEM "file:///etc/passwd">
  <!ENTITY remote SYSTEM "{target}">
  <!ENTITY % param SYSTEM "{target}-param"> %param;
]>
<rss version="2.0"><channel><title>XXE &file;</title>
<item><title>Item &remote;</title><link>https://xxe.example/a</link><description>&file; &remote;</description></item>
</channel></rss>""".encode()


def settings(server: LocalServer, **changes: object) -> FetchSettings:
    return replace(FetchSettings(allow_private_hosts=frozenset({server.host_port})), **changes)


def poll(fetch_settings: FetchSettings, url: str) -> PollResult:
    async def go() -> PollResult:
        async with Fetcher(fetch_settings) as fetcher:
            return await poll_source(fetcher, Source(url), SourceState())
    return run(go())


def all_text(result: PollResult) -> str:
    return " ".join(f"{e.title} {e.summary} {e.content}" for e in result.entries)


def test_entity_expansion_bomb_is_harmless(server: LocalServer) -> None:
    url = server.add("/laughs.xml", BILLION_LAUGHS, content_type="application/rss+xml")
    result = poll(settings(server), url)
    assert result.status == "ok"
    assert [e.link for e in result.entries] == ["https://laughs.example/a"]
    assert "lollol" not in all_text(result)
    assert result.warning is not None and "entity declarations removed" in result.warning


def test_external_entities_are_never_fetched_or_read(server: LocalServer, second_server: LocalServer) -> None:
    target = second_server.url("/xxe")
    second_server.add("/xxe", "STOLEN", content_type="text/plain")
    second_server.add("/xxe-param", '<!ENTITY leak "STOLEN">', content_type="text/plain")
    url = server.add("/xxe.xml", external_entity_feed(target), content_type="application/rss+xml")
    result = poll(settings(server), url)
    assert result.status == "ok"
    text = all_text(result)
    assert "root:" not in text and "STOLEN" not in text
    assert second_server.paths() == []


def test_external_entities_are_harmless_in_parse_feed_directly(second_server: LocalServer) -> None:
    parsed = parse_feed(external_entity_feed(second_server.url("/xxe")), "https://xxe.example/feed")
    assert "root:" not in " ".join(e.summary + e.title for e in parsed.entries)
    assert second_server.paths() == []


@pytest.mark.skipif(not FEED_CORPUS.is_dir(), reason="needs ../shared/corpora/feedparser-feeds")
def test_every_feed_of_the_feedparser_corpus_polls_without_an_exception(server: LocalServer) -> None:
    files = sorted(p for p in FEED_CORPUS.rglob("*.xml"))

    def serve_corpus(request: BaseHTTPRequestHandler) -> None:
        body = (FEED_CORPUS / request.path.removeprefix("/corpus/")).read_bytes()
        request.send_response(200)
        request.send_header("Content-Type", "application/xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    for path in files:
        server.add_handler("/corpus/" + path.relative_to(FEED_CORPUS).as_posix(), serve_corpus)

    async def go() -> list[PollResult]:
        async with Fetcher(settings(server, per_host_concurrency=16)) as fetcher:
            return await asyncio.gather(*(
                poll_source(fetcher, Source(server.url("/corpus/" + p.relative_to(FEED_CORPUS).as_posix())),
                            SourceState())
                for p in files))

    results = run(go())
    assert len(results) == len(files) > 2000
    assert all(isinstance(r, PollResult) for r in results)
    assert not [r.error for r in results if r.error and ("internal error" in r.error or "HTTP" in r.error)]
    assert sum(r.status == "ok" for r in results) > len(files) // 2
