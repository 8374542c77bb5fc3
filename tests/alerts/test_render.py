"""Rendering: every format names every update, and feed text never becomes markup anywhere."""
from __future__ import annotations

import json
from datetime import timedelta
from email.header import decode_header, make_header

import feedparser
import pytest
from alerts_world import NOW, SCRIPT_TITLE, WATCH
from markdown_it import MarkdownIt

from alerts import FORMATS, JSON_SCHEMA, UnknownFormat, build_digest, render, subject
from alerts.render import markdown_text


@pytest.fixture
def digest(reader):
    return build_digest(reader, WATCH, now=NOW)


@pytest.fixture
def empty(reader):
    return build_digest(reader, WATCH, since=NOW - timedelta(minutes=5), now=NOW)


def test_every_format_names_every_update(digest):
    for fmt in ("markdown", "html", "text"):
        text = render(digest, fmt)
        for item in digest.items[1:]:  # the first has a hostile title, checked per format below
            assert item.title in text, fmt
            assert item.url in text, fmt
            assert item.outlet in text, fmt
        assert "Also run by 2 outlets" in text, fmt
        assert "Harbor Times" in text and "Northern Ledger" in text, fmt


def test_markdown_escapes_feed_text(digest):
    markdown = render(digest, "markdown")
    html = MarkdownIt("commonmark").render(markdown)
    assert "<script" not in html
    assert "<b>" not in html
    assert "javascript:" not in html.split("href=")[-1].split(">")[0]
    assert 'href="javascript' not in html
    # The title reads as the feed wrote it, including its asterisks and underscores.
    assert "Council vote &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; *stars* [link](javascript:alert(1)) _under_ `tick`" in html
    assert "<em>" in html  # our own emphasis (the outlet line) still works


@pytest.mark.parametrize("raw", ["*bold*", "_it_", "[a](b)", "`code`", "<i>x</i>", "# heading", "1. list", "a | b",
                                 "&lt;", "\\*"])
def test_markdown_text_is_literal(raw):
    html = MarkdownIt("commonmark").enable("table").render(markdown_text(raw))
    plain = html.removeprefix("<p>").removesuffix("</p>\n")
    assert plain == raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_html_escapes_feed_text(digest):
    html = render(digest, "html")
    assert "<script" not in html
    assert "Council vote &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp;" in html
    assert "Ridge &lt;b&gt;Review&lt;/b&gt;" in html
    assert 'href="https://ridge.example/vote?a=1&amp;b=&lt;2&gt;"' in html
    assert "style=" in html and "<style" not in html  # inline CSS only: many mail clients drop <style>


def test_html_links_only_http(world_db):
    import duckdb

    from alerts_world import add_update

    path, _ = world_db
    con = duckdb.connect(str(path))
    add_update(con, title="Trap", url="javascript:alert(1)", site="Trap", published=NOW, seen=NOW - timedelta(hours=1))
    digest = build_digest(con, WATCH, since=NOW - timedelta(hours=2), now=NOW)
    con.close()
    assert "javascript:" not in render(digest, "html")
    assert "javascript:" not in MarkdownIt("commonmark").render(render(digest, "markdown")).replace(
        "javascript:alert(1)</", "")


def test_text_keeps_titles_literal(digest):
    assert SCRIPT_TITLE in render(digest, "text")


def test_json_schema_and_escaping(digest, world_db):
    _, world = world_db
    text = render(digest, "json")
    assert "<script" not in text  # inert even if pasted into a page
    doc = json.loads(text)
    assert doc["schema"] == JSON_SCHEMA
    assert set(doc) == {"schema", "id", "watch", "title", "generated_at", "period", "counts", "stories",
                        "omitted_ids", "failing_sources"}
    assert doc["counts"] == {"updates": 3, "copies_suppressed": 4, "off_topic": 1, "sources_failing": 1}
    assert doc["period"] == {"start": None, "end": "2026-11-30T08:00:00Z"}
    updates = [u for story in doc["stories"] for u in story["updates"]]
    assert [u["id"] for u in updates] == [world.vote, world.assessment, world.visit]
    assert set(updates[0]) == {"id", "title", "outlet", "url", "published_at", "first_seen_at", "novel_sentences",
                               "extract", "also_run_by"}
    assert updates[0]["title"] == SCRIPT_TITLE
    assert [c["outlet"] for c in updates[2]["also_run_by"]] == ["Harbor Times", "Northern Ledger"]
    assert doc["failing_sources"][0]["error"] == "HTTP 500 from the server"


def test_atom_parses_back(digest, world_db):
    _, world = world_db
    xml = render(digest, "atom")
    assert "<script" not in xml
    feed = feedparser.parse(xml.encode("utf-8"))
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [e.id for e in feed.entries] == [f"urn:newswatch:{WATCH}:article:{i}"
                                           for i in (world.vote, world.assessment, world.visit)]
    assert feed.entries[0].title == SCRIPT_TITLE
    assert feed.entries[0].link == "https://ridge.example/vote?a=1&b=<2>"
    assert feed.entries[2].published_parsed[:3] == (2022, 5, 23)
    assert {link.href for link in feed.entries[2].links if link.rel == "related"} == {
        "https://harbor.example/bachelet-china", "https://northern.example/visit"}


def test_empty_period_says_so(empty):
    for fmt in ("markdown", "html", "text"):
        assert "No new updates in this period." in render(empty, fmt), fmt
    assert json.loads(render(empty, "json"))["stories"] == []
    assert feedparser.parse(render(empty, "atom")).entries == []
    assert subject(empty) == f"{WATCH}: no new updates"


def test_subject_is_one_line(digest):
    line = subject(digest)
    assert "\r" not in line and "\n" not in line
    assert line.startswith(f"{WATCH}: 3 updates: Council vote")
    assert str(make_header(decode_header(line))) == line


def test_unknown_format():
    with pytest.raises(UnknownFormat, match="markdown, html, text, json, atom"):
        render(None, "pdf")  # type: ignore[arg-type]
    assert FORMATS == ("markdown", "html", "text", "json", "atom")
