"""canonical_url and is_http_url: one spelling per article."""
from __future__ import annotations

import pytest

from extractors import canonical_url, is_http_url

ARTICLE = "https://news.example.org/world/2021/09/14/bachelet-xinjiang?id=42&page=2"


@pytest.mark.parametrize("variant", [
    ARTICLE,
    "HTTPS://News.Example.ORG/world/2021/09/14/bachelet-xinjiang?id=42&page=2",
    "https://news.example.org:443/world/2021/09/14/bachelet-xinjiang?id=42&page=2",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?id=42&page=2#comments",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?utm_source=twitter&id=42&utm_medium=social&page=2",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?id=42&fbclid=IwAR0abc&page=2",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?gclid=x&dclid=y&msclkid=z&id=42&page=2",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?id=42&page=2&mc_cid=1&mc_eid=2&igshid=3",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?yclid=1&_ga=2.1&id=42&page=2&ref=rss",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?ref_src=twsrc%5Etfw&id=42&cmpid=x&page=2&ocid=y",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?at_medium=RSS&at_campaign=KARANGA&id=42&page=2",
    "https://news.example.org/world/2021/09/14/bachelet-xinjiang?UTM_Campaign=Daily&id=42&page=2&",
    "  https://news.example.org/world/2021/09/14/bachelet-xinjiang?id=42&page=2  ",
])
def test_tracking_variants_canonicalise_to_the_same_url(variant: str) -> None:
    assert canonical_url(variant) == ARTICLE


@pytest.mark.parametrize(("url", "base", "expected"), [
    ("/a/b?x=1", "https://Site.example/feed.xml", "https://site.example/a/b?x=1"),
    ("story.html", "https://site.example/news/feed.xml", "https://site.example/news/story.html"),
    ("//cdn.example/x", "http://site.example/", "http://cdn.example/x"),
    ("http://site.example", None, "http://site.example/"),
    ("http://site.example:8080", None, "http://site.example:8080/"),
    ("https://site.example:80/x", None, "https://site.example:80/x"),
    ("http://[::1]:80/x", None, "http://[::1]/x"),
    ("https://site.example/?b=2&a=1", None, "https://site.example/?b=2&a=1"),
    ("https://site.example/?q=a+b&q=%C3%A9", None, "https://site.example/?q=a+b&q=%C3%A9"),
    ("https://site.example/?utm_source=x", None, "https://site.example/"),
    ("https://user:pw@site.example/x", None, "https://user:pw@site.example/x"),
    ("mailto:press@un.example", None, "mailto:press@un.example"),
])
def test_canonical_url_table(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://a.example/x", True), ("HTTP://a.example", True), ("ftp://a.example/x", False),
    ("javascript:alert(1)", False), ("/relative", False), ("https://", False), ("http://[::1", False), ("", False),
])
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected
