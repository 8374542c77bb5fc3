"""parse_feed on the feed cases in cases/feeds (each *.xml beside its *.expect.json) and on junk; in a worker."""
from __future__ import annotations

import asyncio
import json
import os
import signal
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path

import pytest

from extractors import ExtractionPool, ParsedFeed, html_to_text, parse_feed
from extractors_testkit import CASES, run

FEED_CASES = sorted((CASES / "feeds").glob("*.xml"))


@pytest.mark.parametrize("case", FEED_CASES, ids=[p.stem for p in FEED_CASES])
def test_feed_case(case: Path) -> None:
    expect = json.loads(case.with_suffix(".expect.json").read_text())
    parsed = parse_feed(case.read_bytes(), expect.get("feed_url", "https://feeds.example.org/feed.xml"),
                        expect["headers"])
    assert parsed.error == expect["error"]
    if expect["warning_contains"] is None:
        assert parsed.warning is None
    else:
        assert parsed.warning is not None and expect["warning_contains"] in parsed.warning
    assert len(parsed.entries) == len(expect["entries"])
    for entry, wanted in zip(parsed.entries, expect["entries"], strict=True):
        for name, value in wanted.items():
            actual = getattr(entry, name)
            if name == "published_at":
                assert actual == (datetime.fromisoformat(value) if value else None)
                assert actual is None or actual.tzinfo is not None
            else:
                assert actual == value, name


def test_a_date_up_to_two_days_ahead_is_kept_further_ahead_dropped() -> None:
    feed = (CASES / "feeds" / "bad-dates.xml").read_bytes()
    good = "https://dates.example.org/good"  # 2022-09-01 03:45 UTC

    def published(now: datetime) -> datetime | None:
        return {e.link: e.published_at for e in parse_feed(feed, "https://d.example/rss", now=now).entries}[good]

    assert published(datetime(2022, 8, 31, tzinfo=UTC)) == datetime(2022, 9, 1, 3, 45, tzinfo=UTC)
    assert published(datetime(2022, 8, 29, tzinfo=UTC)) is None


@pytest.mark.parametrize("junk", [
    b"", b"\x00\xff\xfe garbage", b"<rss", b"<?xml version='1.0'?><rss><channel><item>",
    b"\xef\xbb\xbf<?xml version='1.0' encoding='klingon'?><rss/>", "caf\u00e9 <feed>".encode("utf-16"),
    b"{\"json\": \"feed\"}",
])
def test_junk_never_raises(junk: bytes) -> None:
    parsed = parse_feed(junk, "https://junk.example/feed", {"Content-Type": "application/octet-stream"})
    assert parsed.error is not None or parsed.entries == () or all(e.link for e in parsed.entries)


def test_html_to_text_drops_markup_scripts_and_decodes_entities() -> None:
    html = "<p>Bachelet &amp; the <b>Council</b></p><script>evil()</script><ul><li>one</li><li>two</li></ul>"
    assert html_to_text(html) == "Bachelet & the Council\none\ntwo"



def _children(pid: int) -> set[int]:
    return {int(child) for task in os.listdir(f"/proc/{pid}/task")
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}


def _extraction_workers() -> set[int]:
    """The children of this process's fork server."""
    servers = [c for c in _children(os.getpid()) if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return {worker for server in servers for worker in _children(server)}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers in /proc")
def test_workers_that_die_cost_their_jobs_only_feeds_are_parsed_and_pages_extracted_after() -> None:
    rss = (CASES / "feeds" / "rss20.xml").read_bytes()
    page = (CASES / "pages" / "article.html").read_bytes()

    async def go() -> tuple[ParsedFeed, set[int], ParsedFeed, list[bool], set[int]]:
        with ExtractionPool(workers=1) as pool:
            there = await pool.parse_feed(rss, "https://feeds.example/rss", {})  # starts the worker
            killed = _extraction_workers()
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            after = await pool.parse_feed(rss, "https://feeds.example/rss", {})  # in a new worker, or here
            extracted = []
            for _ in range(3):  # the first may go to the dead worker before the pool knows it died
                try:
                    extracted.append(bool((await asyncio.wrap_future(pool.submit(page, "https://a.example/1"))).text))
                except BrokenProcessPool:
                    extracted.append(False)
            return there, killed, after, extracted, _extraction_workers()
    there, killed, after, extracted, now = run(go())
    assert killed and after == there == parse_feed(rss, "https://feeds.example/rss", {})
    assert extracted[-2:] == [True, True] and extracted.count(False) <= 1
    assert now and not now & killed  # new workers took over
