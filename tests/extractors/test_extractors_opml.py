"""read_opml: nested outlines, names, duplicates, malformed and hostile files."""
from __future__ import annotations

from pathlib import Path

import pytest

from extractors import OPMLError, Source, read_opml
from extractors_testkit import CASES


def test_nested_outlines_become_sources_in_document_order() -> None:
    assert read_opml(CASES / "opml" / "subscriptions.opml") == [
        Source("https://news.un.org/feed/subscribe/en/news/topic/human-rights/feed/rss.xml", "UN News – Human Rights"),
        Source("https://www.ohchr.org/en/press-releases.rss", "OHCHR press releases"),
        Source("https://feeds.example.com/reuters/world", "Reuters World"),
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("<opml><body><outline xmlUrl='https://a.example/f'></body></opml>", "malformed OPML"),
    ("", "malformed OPML"),
    ("<rss version='2.0'><channel/></rss>", "is not OPML (root element <rss>)"),
    ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
     "<opml><body><outline text='&b;' xmlUrl='https://a.example/f'/></body></opml>", "entity declarations"),
    ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     "<opml><body><outline text='&x;' xmlUrl='https://a.example/f'/></body></opml>", "entity declarations"),
])
def test_bad_opml_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.opml"
    path.write_text(content)
    with pytest.raises(OPMLError) as caught:
        read_opml(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OPMLError, match="cannot read"):
        read_opml(tmp_path / "absent.opml")
