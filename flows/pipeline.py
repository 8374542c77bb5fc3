"""The steps of one monitor pass, as plain functions the flow orders.

Which URL is which article (entries -> candidates -> fetched pages) and turning decisions into
records are bookkeeping between the rooms; the decisions themselves live in dedup.Decider and
every write in warehouse.Warehouse.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from dedup import Decider, DecisionSettings, Document, Fingerprint, fingerprint, parse_query, seed_document
from dedup.types import Decision
from extractors import (Entry, Extracted, ExtractionPool, Fetcher, FetchSettings, Page, PollResult, SourceState,
                        canonical_url)
from extractors.backoff import next_poll_after
from flows.config import WatchConfig
from warehouse.records import ArticleRecord, RunCounts, StoredArticle
from warehouse.store import Warehouse

LOGGER = logging.getLogger(__name__)

MIN_FEED_TEXT_WORDS = 25  # a feed's own text shorter than this cannot stand in for a page
GONE_STATUSES = (404, 410)


@dataclass(frozen=True)
class Candidate:
    """A feed entry whose article we have not stored yet."""

    entry: Entry
    url: str  # canonical form of the entry's link
    aliases: tuple[str, ...] = ()  # other links seen for it in this pass


@dataclass(frozen=True)
class Fetched:
    """A candidate after fetching and extraction."""

    candidate: Candidate
    page: Page
    extracted: Extracted | None

    @functools.cached_property
    def url(self) -> str:
        """The article's canonical URL: rel=canonical, else the URL after redirects, else the link."""
        if self.extracted is not None and self.extracted.canonical_url:
            return canonical_url(self.extracted.canonical_url)
        if self.page.final_url:  # where the redirects led, even to a wall: that is the article's address
            return canonical_url(self.page.final_url)
        return self.candidate.url

    def all_urls(self) -> set[str]:
        urls = {self.candidate.url, self.candidate.entry.link, *self.candidate.aliases}
        if self.page.final_url:
            urls |= {self.page.final_url, canonical_url(self.page.final_url)}
        urls |= set(self.page.redirects) | {canonical_url(u) for u in self.page.redirects}
        return {u for u in urls if u} - {self.url}


@dataclass
class PassCounts:
    """Running totals of one pass."""

    sources_ok: int = 0
    sources_not_modified: int = 0
    sources_failed: int = 0
    entries: int = 0
    new: int = 0
    duplicates: int = 0
    irrelevant: int = 0
    errors: int = 0
    aliases: int = 0
    pages_fetched: int = 0
    sources_deferred: int = 0

    def add(self, other: PassCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def run_counts(self) -> RunCounts:
        return RunCounts(**{f: getattr(self, f) for f in RunCounts.__dataclass_fields__})


def is_deferred(state: SourceState | None, now: datetime) -> bool:
    """A source in back-off (or asked to wait by Retry-After) is not polled this pass."""
    return state is not None and state.is_deferred(now)


def with_backoff(polls: Sequence[PollResult], states: dict[str, SourceState], now: datetime) -> list[PollResult]:
    """Give each failed poll the time before which its source is left alone."""
    out = []
    for poll in polls:
        if poll.status == "error" and poll.retry_after is None:
            failures = (states.get(poll.source.url) or SourceState()).consecutive_failures + 1
            poll = replace(poll, retry_after=next_poll_after(failures, now))
        out.append(poll)
    return out


def fetch_settings(watch: WatchConfig) -> FetchSettings:
    f = watch.fetch
    private = f.allow_private_hosts if isinstance(f.allow_private_hosts, bool) else frozenset(f.allow_private_hosts)
    return FetchSettings(
        user_agent=f.user_agent, deadline=f.timeout, max_feed_bytes=f.max_feed_bytes,
        max_page_bytes=f.max_page_bytes, max_redirects=f.max_redirects,
        per_host_concurrency=f.per_host_concurrency, per_host_delay=f.per_host_delay,
        allow_private_hosts=private, respect_robots=f.respect_robots,
    )


def seed_url(watch: WatchConfig, path: Path) -> str:
    return f"seed:{watch.name}/{path.name}"


def store_seeds(watch: WatchConfig, warehouse: Warehouse) -> None:
    """Store each seed file once (status seed); a re-run finds them stored and writes nothing."""
    urls = {seed_url(watch, p): p for p in watch.seeds}
    known = warehouse.known_urls(watch.name, urls)
    for url, path in urls.items():
        if url in known:
            continue
        doc = seed_document(url, path.read_text(encoding="utf-8"))
        warehouse.ensure_seed(watch.name, doc, fingerprint(doc.text), url)


def build_decider(watch: WatchConfig, warehouse: Warehouse) -> Decider:
    """A Decider that remembers the watch's seeds and the updates stored so far."""
    stored = warehouse.stored_documents(watch.name, ("seed", "new"))
    seeds = [s.to_document() for s in stored if s.status == "seed"]
    updates = [s.to_document() for s in stored if s.status == "new"]
    settings = DecisionSettings(**watch.decide.values)
    query = parse_query(watch.query) if watch.query else None
    return Decider(seeds, updates, query, settings)


def fresh_candidates(watch: WatchConfig, entries: Iterable[Entry], warehouse: Warehouse) -> list[Candidate]:
    """Entries whose link is not stored yet, one per canonical URL, oldest first."""
    by_url: dict[str, list[Entry]] = {}
    for entry in entries:
        if not entry.link:
            continue
        by_url.setdefault(canonical_url(entry.link), []).append(entry)
    raw = {e.link for group in by_url.values() for e in group}
    known = warehouse.known_urls(watch.name, set(by_url) | raw)
    fresh = []
    for url, group in by_url.items():
        if url in known or any(e.link in known for e in group):
            continue
        best = max(group, key=lambda e: (len(e.content or e.summary), e.published_at is not None))
        fresh.append(Candidate(best, url, tuple(sorted({e.link for e in group} - {url}))))
    far_future = datetime.max.replace(tzinfo=timezone.utc)
    fresh.sort(key=lambda c: (c.entry.published_at or far_future, c.url))
    return fresh


async def fetch_and_extract(fetcher: Fetcher, pool: ExtractionPool, candidates: Sequence[Candidate]) -> list[Fetched]:
    """Fetch every page of the batch concurrently; extract each in the process pool as it arrives."""

    async def one(candidate: Candidate) -> Fetched:
        page = await fetcher.fetch_page(candidate.url)
        if page.error or not page.body:
            return Fetched(candidate, page, None)
        try:
            extracted = await asyncio.wrap_future(pool.submit(page.body, page.final_url or candidate.url))
        except Exception as exc:  # a crashed worker costs this page its text, never the pass
            LOGGER.warning("extraction of %s failed: %r", candidate.url, exc)
            extracted = Extracted(text="", error=f"extraction failed: {type(exc).__name__}")
        # The text is out: a batch waiting to be decided need not hold its pages' HTML.
        return Fetched(candidate, replace(page, body=b""), extracted)

    return list(await asyncio.gather(*(one(c) for c in candidates)))


def _feed_text(entry: Entry) -> str:
    return (entry.content or entry.summary or "").strip()


def _document(item: Fetched, key: str) -> tuple[Document | None, str | None, str]:
    """The text to judge: the page's, else the feed's own (with why), else None with the error."""
    entry, ext, page = item.candidate.entry, item.extracted, item.page
    problem = page.error or (ext.error if ext is not None else None)
    if ext is not None and not ext.error and ext.text.strip():
        title = entry.title or ext.title
        return Document(key=key, title=title, text=ext.text,
                        published_at=entry.published_at or ext.published_at), None, "page"
    if problem is None:
        problem = "no article text found on the page"
    if page.status in GONE_STATUSES:
        return None, problem, "page"
    text = _feed_text(entry)
    if len(text.split()) < MIN_FEED_TEXT_WORDS:
        return None, problem, "page"
    return Document(key=key, title=entry.title, text=text, published_at=entry.published_at), problem, "feed"


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def decide_and_store(
    watch: WatchConfig, warehouse: Warehouse, decider: Decider, run_id: int, batch: Sequence[Fetched],
    claimed: dict[str, int],
) -> PassCounts:
    """Decide every fetched page of a batch and write the batch in one transaction.

    `claimed` maps canonical URLs already handled in this pass to their article id, so two
    links that land on one article store it once.
    """
    counts = PassCounts(pages_fetched=sum(1 for f in batch if f.page.status is not None))
    # One open of the file for the whole step: lookups, deciding (CPU only, no network) and the write.
    with warehouse.session():
        counts.add(_decide_and_store(watch, warehouse, decider, run_id, batch, claimed))
    decider.forget_batch()  # the batch is stored: later batches find it through band_matches
    return counts


def _decide_and_store(watch: WatchConfig, warehouse: Warehouse, decider: Decider, run_id: int,
                      batch: Sequence[Fetched], claimed: dict[str, int]) -> PassCounts:
    counts = PassCounts()
    now = datetime.now(timezone.utc)
    known = warehouse.known_urls(watch.name, {f.url for f in batch} | {u for f in batch for u in f.all_urls()})
    aliases: list[tuple[str, int]] = []
    fresh: list[Fetched] = []
    fresh_urls: set[str] = set()
    again: list[Fetched] = []  # other links of an article first met in this batch
    for item in batch:
        target = claimed.get(item.url) or known.get(item.url)
        if target is not None:  # another link of an article we have: remember the link only
            aliases += [(u, target) for u in item.all_urls() | {item.candidate.url} if u != item.url]
            counts.aliases += 1
        elif item.url in fresh_urls:
            again.append(item)
            counts.aliases += 1
        else:
            fresh.append(item)
            fresh_urls.add(item.url)
    # Ids drawn before deciding, so a copy found in this batch names its original as "#id".
    ids = warehouse.reserve_ids(len(fresh))
    pending = []
    for item, article_id in zip(fresh, ids):
        claimed[item.url] = article_id
        pending.append((item, article_id, *_document(item, str(article_id))))
    for item in again:
        aliases += [(u, claimed[item.url]) for u in item.all_urls() | {item.candidate.url} if u != item.url]

    # Within one moment, judge whole pages before feed-only texts: a feed's summary is an excerpt
    # of its page, so the page should be the original and the summary its copy, not the reverse.
    far_future = datetime.max.replace(tzinfo=timezone.utc)
    pending.sort(key=lambda p: ((p[2].published_at or far_future) if p[2] else far_future, p[4] == "feed"))
    docs = [(d, fingerprint(d.text)) for _, _, d, _, _ in pending if d is not None]
    # Ids first: most matches are articles of earlier batches the decider still holds, whose text
    # need not be read again; only the others' rows are.
    matches = warehouse.band_matches(watch.name, [(d.key, fp.bands) for d, fp in docs])
    rows = warehouse.stored_articles({i for ids in matches.values() for i in ids if not decider.remembers(str(i))})
    fps = {d.key: fp for d, fp in docs}
    records: list[ArticleRecord] = []
    for item, article_id, doc, problem, text_source in pending:
        entry = item.candidate.entry
        ext = item.extracted
        base = dict(
            id=article_id, watch=watch.name, url=item.url, first_seen_at=now, source_url=entry.source_url,
            title=(doc.title if doc else entry.title) or None,
            author=(ext.author if ext else "") or entry.author or None,
            site=(ext.site if ext else "") or _host(item.url) or None,
            language=(ext.language if ext else "") or None,
            published_at=(doc.published_at if doc else entry.published_at),
            aliases=tuple(sorted(item.all_urls())),
            error=problem,
        )
        if doc is None:
            records.append(ArticleRecord(status="error", reason=f"could not be fetched or extracted: {problem}", **base))
            counts.errors += 1
            continue
        fp = fps[doc.key]
        stored = [(rows[i].to_document(), None) if i in rows else str(i) for i in matches.get(doc.key, [])]
        decision = decider.decide(doc, fp, stored)
        decider.remember(doc, fp, decision)
        records.append(_record(base, doc, fp, decision, text_source))
        counts.new += decision.status == "new"
        counts.duplicates += decision.status == "duplicate"
        counts.irrelevant += decision.status == "irrelevant"
    warehouse.write_batch(watch.name, run_id, records, aliases)
    return counts


def _record(base: dict, doc: Document, fp: Fingerprint, decision: Decision, text_source: str) -> ArticleRecord:
    return ArticleRecord(
        status=decision.status, text=doc.text, text_source=text_source, content_hash=fp.content_hash,
        duplicate_of=decision.duplicate_of, story_id=decision.story_key if decision.status in ("new", "duplicate") else None,
        relevance=decision.relevance, query_matched=decision.query_matched, matched_terms=tuple(decision.matched_terms),
        seed_similarity=decision.seed_similarity, similarity=decision.similarity,
        similarity_kind=decision.similarity_kind, reason=decision.reason, bands=tuple(fp.bands),
        novel_sentences=tuple(decision.novel_sentences), **base,
    )


def stored_to_documents(rows: Sequence[StoredArticle]) -> list[Document]:
    return [r.to_document() for r in rows]
