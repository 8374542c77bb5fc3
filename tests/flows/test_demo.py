"""The demo's news world: its data is consistent, it is served like real publishers serve, its
labels hold under the real extraction and decisions, and none of its texts come from the shared
evaluation set. (The demo command itself runs end to end in test_cli_e2e.py.)"""
from __future__ import annotations

import json
import re
import socket
import struct
import time
from pathlib import Path

import httpx
import pytest

from dedup import Decider, Document, fingerprint, parse_query, seed_document
from extractors import canonical_url, extract_article, parse_feed
from flows.config import load_config
from flows.demo import load_world, render_feed, shipped_watch_dir
from world import expected_pages, feed_requests, page_requests, served_world, write_watch_config

WORLD = load_world()


@pytest.fixture(scope="module")
def server():
    with served_world() as s:
        yield s


def test_world_is_consistent() -> None:
    referenced = set()
    for feed in WORLD.feeds.values():
        for entry in feed.entries + feed.later:
            page_id = entry.partition("?")[0]
            assert page_id in WORLD.pages, f"feed {feed.name} links to unknown page {page_id}"
            referenced.add(page_id)
    assert referenced == set(WORLD.pages), "every page is linked by some feed"
    for page in WORLD.pages.values():
        assert page.expect in ("new", "duplicate", "irrelevant", "alias")
        assert page.paragraphs and page.published.tzinfo is not None
        if page.expect in ("duplicate", "alias"):
            assert page.original == "seed" or page.original in WORLD.pages
    assert [f.name for f in WORLD.feeds.values() if f.status != 200] == ["dead"]


def test_world_covers_what_the_demo_promises() -> None:
    expects = [p.expect for p in WORLD.pages.values()]
    assert expects.count("new") >= 4 and expects.count("irrelevant") >= 3
    assert sum(p.original == "seed" for p in WORLD.pages.values()) >= 3  # copy, excerpt, retelling
    assert any(p.amp_of for p in WORLD.pages.values())
    assert any("utm_" in e for f in WORLD.feeds.values() for e in f.later)
    assert any(not f.later and f.status == 200 for f in WORLD.feeds.values())  # one feed stays unchanged


def test_feeds_answer_conditional_gets_and_move_on_with_the_batch(server) -> None:
    server.clear_log()
    with httpx.Client() as client:
        first = client.get(server.feed_url("wire"))
        assert first.status_code == 200 and first.headers["content-type"] == "application/rss+xml"
        etag = first.headers["etag"]
        again = client.get(server.feed_url("wire"), headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        sport_etag = client.get(server.feed_url("sport")).headers["etag"]
        server.batch = 2
        try:
            later = client.get(server.feed_url("wire"), headers={"If-None-Match": etag})
            sport = client.get(server.feed_url("sport"), headers={"If-None-Match": sport_etag})
        finally:
            server.batch = 1
        assert later.status_code == 200 and len(parse_feed(later.content, server.feed_url("wire")).entries) == 4
        assert sport.status_code == 304
        assert client.get(server.feed_url("dead")).status_code == 500
        assert client.get(server.feed_url("nope")).status_code == 404
    assert [r.status for r in feed_requests(server.requests)] == [200, 304, 200, 200, 304, 500, 404]
    assert feed_requests(server.requests)[1].if_none_match == etag


def test_feeds_parse_with_absolute_links_and_dates(server) -> None:
    for feed in WORLD.feeds.values():
        if feed.status != 200:
            continue
        parsed = parse_feed(render_feed(WORLD, feed, 2, server.base_url), server.feed_url(feed.name))
        assert len(parsed.entries) == len(feed.entries + feed.later)
        for entry in parsed.entries:
            assert entry.link.startswith(server.base_url + "/") and entry.published_at is not None
            assert entry.title and entry.summary


def test_pages_have_boilerplate_but_extract_to_the_article(server) -> None:
    with httpx.Client() as client:
        for page in WORLD.pages.values():
            url = server.page_url(page.id)
            response = client.get(url + "?utm_source=test")  # pages ignore the query string
            assert response.status_code == 200
            html = response.text
            if not page.amp_of:
                assert "Most read" in html and "<nav>" in html and "<footer>" in html
            extracted = extract_article(response.content, url)
            assert extracted.error is None
            assert page.paragraphs[0][:60] in extracted.text
            assert page.paragraphs[-1][:60] in extracted.text
            for title in WORLD.outlets[page.outlet]["most_read"]:
                assert title not in extracted.text, f"{page.id}: boilerplate kept"
            expected_canonical = server.page_url(page.amp_of or page.id)
            assert canonical_url(extracted.canonical_url) == expected_canonical
        assert client.get(server.base_url + "/no/such/page").status_code == 404
    assert all(r.method == "GET" for r in page_requests(server.requests))


def test_labels_hold_under_the_decisions() -> None:
    """The world's `expect` labels are what dedup decides for its texts, in publication order."""
    watch = shipped_watch_dir()
    seed = seed_document("seed", (watch / "seed.txt").read_text(encoding="utf-8"))
    decider = Decider([seed], [], parse_query(load_config(watch / "watch.toml").query))
    pages = sorted((p for p in WORLD.pages.values() if not p.amp_of), key=lambda p: p.published)
    for page in pages:
        doc = Document(key=page.id, title=page.title, text="\n\n".join(page.paragraphs), published_at=page.published)
        fp = fingerprint(doc.text)
        decision = decider.decide(doc, fp)
        decider.remember(doc, fp, decision)
        assert decision.status == page.expect, f"{page.id}: {decision.reason}"
        assert decision.duplicate_of == page.original, f"{page.id}: {decision.reason}"


def test_watch_config_for_the_world_loads(server, tmp_path: Path) -> None:
    config = load_config(write_watch_config(tmp_path / "watch.toml", server))
    assert config.fetch.allow_private_hosts == (f"127.0.0.1:{server.port}",)
    assert [f.name for f in config.feeds] == list(WORLD.feeds)
    assert config.seeds == (shipped_watch_dir() / "seed.txt",)
    assert config.query and "xinjiang" in config.query
    truth = expected_pages(server)
    assert truth["wire-visit-amp"].original_url == server.page_url("wire-visit")
    assert truth["wire-visit-amp"].batch == 2 and truth["wire-visit"].batch == 1


def _grams(text: str, n: int = 10) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_text_comes_from_the_shared_evaluation_set(shared_dir: Path) -> None:
    """The project is scored on held-out news; the demo's texts are its own (the seed aside)."""
    articles = shared_dir / "eval-dev" / "articles.jsonl"
    if not articles.exists():
        pytest.skip("no eval-dev articles in ../shared")
    held = set()
    for line in articles.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            held |= _grams(item.get("title", "") + "\n" + "\n".join(item.get("paragraphs", [])))
    seed = _grams((shipped_watch_dir() / "seed.txt").read_text(encoding="utf-8"))
    for page in WORLD.pages.values():
        shared = (_grams(page.title + "\n" + "\n".join(page.paragraphs)) - seed) & held
        assert not shared, f"{page.id} shares text with eval-dev: {sorted(shared)[:2]}"


def test_a_client_hanging_up_mid_request_prints_no_traceback(server, capfd) -> None:
    # The pass's connections can be reset while the server reads the next request; `newswatch demo`
    # runs this server in its own process, so a traceback here would land in the user's terminal.
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /feeds/ HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
    assert httpx.get(server.feed_url(next(iter(WORLD.feeds))), timeout=10).status_code == 200  # still serving
    time.sleep(0.2)
    assert "Traceback" not in capfd.readouterr().err
