"""Feed parsing: feedparser over a feed's bytes, into entries with absolute links and sane dates.

No network here: a pass parses its feeds in the extraction workers (`ExtractionPool.parse_feed`),
whose fork server imports this module and not what polling needs.
"""
from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

import feedparser

from extractors.types import Entry
from extractors.urls import is_http_url

LOGGER = logging.getLogger(__name__)

EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
# An internal DTD subset that declares entities: the shape of billion-laughs and XXE payloads.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed held: entries with absolute links, plus a warning or an error."""

    entries: tuple[Entry, ...] = ()
    title: str = ""
    link: str = ""
    version: str = ""
    warning: str | None = None  # the feed parsed, but not cleanly (feedparser's bozo)
    error: str | None = None  # the bytes are not a feed at all


class _TextExtractor(HTMLParser):
    """Visible text of an HTML fragment, blocks separated by newlines."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                         "blockquote", "pre", "tr", "table", "section", "article", "figure", "hr"})
    _SKIP = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace tidied."""
    if "<" not in fragment:
        return _tidy(unescape(fragment))
    parser = _TextExtractor()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # HTMLParser is lenient, but a text field must never break a feed
        return _tidy(unescape(re.sub(r"<[^>]*>", " ", fragment)))
    return _tidy("".join(parser.parts))


def _detail_text(detail: Mapping | None, fallback: str = "") -> str:
    if not detail:
        return html_to_text(fallback) if fallback else ""
    value = detail.get("value", "") or ""
    kind = (detail.get("type") or "").lower()
    if kind in _HTML_TYPES or "html" in kind:
        return html_to_text(value)
    return _tidy(value)


def _sane_date(parsed: object, now: datetime) -> datetime | None:
    if not parsed:
        return None
    try:
        when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if when < EARLIEST_DATE or when > now + FUTURE_SLACK:
        return None
    return when


def _absolute(link: str, base: str) -> str:
    link = (link or "").strip()
    if not link:
        return ""
    try:
        return urljoin(base, link)
    except ValueError:
        return ""


def _entry_link(item: Mapping, base: str) -> str:
    candidates = [item.get("link", "")]
    candidates += [l.get("href", "") for l in item.get("links", []) if l.get("rel", "alternate") == "alternate"]
    guid = item.get("id", "")
    if guid and item.get("guidislink", True):
        candidates.append(guid)
    for candidate in candidates:
        link = _absolute(candidate, base)
        if is_http_url(link):
            return link
    return ""


def _entry(item: Mapping, source_url: str, base: str, now: datetime) -> Entry | None:
    link = _entry_link(item, base)
    if not link:
        return None
    content = "\n\n".join(filter(None, (_detail_text(c) for c in item.get("content", []) or [])))
    published = _sane_date(item.get("published_parsed"), now) or _sane_date(item.get("updated_parsed"), now)
    return Entry(
        source_url=source_url,
        link=link,
        title=_detail_text(item.get("title_detail"), item.get("title", "")),
        summary=_detail_text(item.get("summary_detail"), item.get("summary", "")),
        content=content,
        published_at=published,
        author=html_to_text(item.get("author", "") or ""),
        guid=str(item.get("id", "") or ""),
    )


def _defuse(body: bytes) -> tuple[bytes, bool]:
    """Drop an internal DTD subset that declares entities; feedparser would only half-ignore it."""
    head = body[:65536]
    if not _ENTITY_DECLARATION.search(head):
        return body, False
    match = _DOCTYPE_SUBSET.search(body)
    if match is None:
        return body, False
    return body[:match.start()] + body[match.end():], True


def parse_feed(body: bytes, url: str, headers: Mapping[str, str] | None = None,
               *, now: datetime | None = None) -> ParsedFeed:
    """Parse feed bytes into entries with absolute links and sane UTC dates; never raises."""
    now = now or datetime.now(UTC)
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    # feedparser takes its base URI from Content-Location; without it relative links stay relative.
    response_headers["content-location"] = _absolute(response_headers.get("content-location", ""), url) or url
    body, defused = _defuse(body)
    try:
        parsed = feedparser.parse(body, response_headers=response_headers,
                                  sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser promises not to raise; a malformed feed must not prove it wrong
        LOGGER.warning("feedparser failed on %s: %r", url, exc)
        return ParsedFeed(error=f"unparseable feed: {type(exc).__name__}: {exc}")
    feed = parsed.get("feed", {}) or {}
    version = parsed.get("version", "") or ""
    items = parsed.get("entries", []) or []
    content_type = response_headers.get("content-type", "").split(";", 1)[0].strip()
    bozo = parsed.get("bozo") and parsed.get("bozo_exception")
    if not items and not version and not feed.get("title"):
        if content_type:
            return ParsedFeed(error=f"not a feed: {content_type}")
        return ParsedFeed(error=f"not a feed ({bozo})" if bozo else "not a feed")
    entries = []
    skipped = 0
    for item in items:
        entry = _entry(item, url, url, now)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    warnings = []
    if bozo:
        warnings.append(f"{type(bozo).__name__}: {bozo}")
    if defused:
        warnings.append("entity declarations removed")
    if skipped:
        warnings.append(f"{skipped} entries without a link skipped")
    return ParsedFeed(
        entries=tuple(entries),
        title=_detail_text(feed.get("title_detail"), feed.get("title", "")),
        link=_absolute(feed.get("link", ""), url),
        version=version,
        warning="; ".join(warnings) or None,
    )
