"""Building a digest from the warehouse's public views: updates, their stories, copies, counts."""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection, Iterable
from datetime import datetime, timezone
from urllib.parse import urlsplit

import duckdb

from alerts.model import Copy, Digest, DigestCounts, FailingSource, Story, StoryItem

LOGGER = logging.getLogger(__name__)

MAX_NOVEL_SENTENCES = 3
EXTRACT_CHARS = 280
_SPACE = re.compile(r"\s+")
# C0/C1 controls other than whitespace: they have no business in a title and some break headers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def one_line(text: str | None) -> str:
    """Text collapsed to one line: control characters dropped, every run of whitespace (CR, LF …) one space."""
    return _SPACE.sub(" ", _CONTROL.sub("", text or "")).strip()


def outlet_of(site: str | None, url: str) -> str:
    """The outlet's name: the site metadata, else the host without www."""
    name = one_line(site)
    if name:
        return name
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def short_extract(text: str | None, limit: int = EXTRACT_CHARS) -> str:
    """The opening of a text, cut at a sentence end or a word boundary, at most `limit` characters."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    head = flat[:limit]
    sentence_end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
    if sentence_end >= limit // 2:
        return head[: sentence_end + 1]
    return head.rsplit(" ", 1)[0].rstrip(",;:") + " …"


def digest_id(watch: str, article_ids: Iterable[int]) -> str:
    """A stable id for the digest of these articles: the same set always gives the same id."""
    payload = watch + "\n" + ",".join(str(i) for i in sorted(set(article_ids)))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _update_rows(con: duckdb.DuckDBPyConnection, watch: str, since: datetime | None,
                 exclude_ids: Collection[int]) -> list[tuple]:
    # `updates` is already ordered newest first; the filter keeps that order.
    return con.execute(
        """
        SELECT id, story_id, title, site, url, published_at, first_seen_at, text
        FROM updates
        WHERE watch = $watch
          AND ($since IS NULL OR first_seen_at >= $since)
          AND NOT list_contains($exclude, id)
        ORDER BY coalesce(published_at, first_seen_at) DESC, id DESC
        """,
        {"watch": watch, "since": since, "exclude": sorted(exclude_ids)},
    ).fetchall()


def _novel_sentences(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = con.execute(
        "SELECT article_id, sentence FROM novel_sentence WHERE list_contains($ids, article_id)"
        " ORDER BY article_id, position",
        {"ids": ids},
    ).fetchall()
    for article_id, sentence in rows:
        found.setdefault(article_id, []).append(one_line(sentence))
    return found


def _copies(con: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, list[tuple]]:
    # A copy may point at another copy; follow the chain back to the update it copies.
    # UNION (not UNION ALL) stops the recursion even if the pointers ever formed a cycle.
    rows = con.execute(
        """
        WITH RECURSIVE chain(root, id) AS (
            SELECT duplicate_of, id FROM articles
            WHERE status = 'duplicate' AND list_contains($ids, duplicate_of)
            UNION
            SELECT chain.root, a.id FROM articles a JOIN chain ON a.duplicate_of = chain.id
            WHERE a.status = 'duplicate'
        )
        SELECT chain.root, a.id, a.title, a.site, a.url, a.published_at
        FROM chain JOIN articles a ON a.id = chain.id
        ORDER BY chain.root, a.first_seen_at, a.id
        """,
        {"ids": ids},
    ).fetchall()
    found: dict[int, list[tuple]] = {}
    for root, *copy in rows:
        found.setdefault(root, []).append(tuple(copy))
    return found


def _story_titles(con: duckdb.DuckDBPyConnection, story_ids: list[int]) -> dict[int, str]:
    rows = con.execute("SELECT id, title FROM articles WHERE list_contains($ids, id)", {"ids": story_ids}).fetchall()
    return {story_id: one_line(title) for story_id, title in rows if one_line(title)}


def _count(con: duckdb.DuckDBPyConnection, watch: str, status: str, start: datetime | None, end: datetime) -> int:
    return con.execute(
        "SELECT count(*) FROM articles WHERE watch = $watch AND status = $status"
        " AND ($start IS NULL OR first_seen_at >= $start) AND first_seen_at <= $end",
        {"watch": watch, "status": status, "start": start, "end": end},
    ).fetchone()[0]


def _failing_sources(con: duckdb.DuckDBPyConnection, watch: str) -> tuple[FailingSource, ...]:
    rows = con.execute(
        "SELECT name, url, last_error, consecutive_failures FROM sources"
        " WHERE watch = $watch AND last_status = 'error' ORDER BY url",
        {"watch": watch},
    ).fetchall()
    return tuple(
        FailingSource(name=one_line(name) or outlet_of(None, url), url=url, error=one_line(error) or "unknown error",
                      consecutive_failures=failures or 0)
        for name, url, error, failures in rows
    )


def _other_outlets(own_outlet: str, copies: list[tuple]) -> tuple[Copy, ...]:
    # "Also run by N outlets": one link per other outlet; an AMP page of the same outlet is no new outlet.
    seen = {own_outlet.casefold()}
    result = []
    for article_id, title, site, url, published_at in copies:
        outlet = outlet_of(site, url)
        if outlet.casefold() in seen:
            continue
        seen.add(outlet.casefold())
        result.append(Copy(article_id=article_id, title=one_line(title) or url, outlet=outlet, url=url,
                           published_at=_utc(published_at)))
    return tuple(result)


def build_digest(
    con: duckdb.DuckDBPyConnection,
    watch: str,
    *,
    title: str = "",
    max_updates: int = 50,
    since: datetime | None = None,
    exclude_ids: Collection[int] = (),
    now: datetime | None = None,
) -> Digest:
    """The digest of `watch`: updates first seen since `since` (None: all) that are not in `exclude_ids`."""
    now = _utc(now) or datetime.now(timezone.utc)
    since = _utc(since)
    rows = _update_rows(con, watch, since, exclude_ids)
    shown, omitted = rows[: max(max_updates, 0)], rows[max(max_updates, 0):]
    ids = [row[0] for row in shown]
    novel = _novel_sentences(con, ids)
    copies = _copies(con, ids)

    items: list[StoryItem] = []
    for article_id, story_id, item_title, site, url, published_at, first_seen_at, text in shown:
        outlet = outlet_of(site, url)
        # The title is often stored as the first novel sentence; the digest shows it already.
        shown_title = one_line(item_title).casefold()
        sentences = tuple(s for s in novel.get(article_id, ()) if s.casefold() != shown_title)[:MAX_NOVEL_SENTENCES]
        items.append(StoryItem(
            article_id=article_id, story_id=story_id if story_id is not None else article_id,
            title=one_line(item_title) or url, outlet=outlet, url=url,
            published_at=_utc(published_at), first_seen_at=_utc(first_seen_at),
            novel_sentences=sentences, extract="" if sentences else short_extract(text),
            copies=_other_outlets(outlet, copies.get(article_id, [])),
        ))

    # Stories in the order of their newest update; items keep the newest-first order within a story.
    grouped: dict[int, list[StoryItem]] = {}
    for item in items:
        grouped.setdefault(item.story_id, []).append(item)
    titles = _story_titles(con, list(grouped))
    stories = tuple(
        Story(story_id=story_id, title=titles.get(story_id, story_items[-1].title), items=tuple(story_items))
        for story_id, story_items in grouped.items()
    )

    failing = _failing_sources(con, watch)
    counts = DigestCounts(
        updates=len(rows),
        copies_suppressed=_count(con, watch, "duplicate", since, now),
        off_topic=_count(con, watch, "irrelevant", since, now),
        sources_failing=len(failing),
    )
    omitted_ids = tuple(row[0] for row in omitted)
    digest = Digest(
        id=digest_id(watch, ids + list(omitted_ids)), watch=watch, title=one_line(title) or watch,
        generated_at=now, period_start=since, period_end=now, counts=counts, stories=stories,
        failing_sources=failing, omitted_ids=omitted_ids,
    )
    LOGGER.debug("digest %s of %s: %d updates in %d stories", digest.id, watch, counts.updates, len(stories))
    return digest
