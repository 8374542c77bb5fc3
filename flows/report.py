"""What the CLI prints: pass summaries, the sources table, one article's decision explained."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows.config import WatchConfig
from warehouse.connection import open_reader


def print_summary(out: Console, summary) -> None:
    c = summary.counts
    failing = [s for s in summary.sources if s.status == "error"]
    out.print(f"newswatch: pass {summary.run_id} of watch '{summary.watch}' done in {summary.seconds:.1f} s "
              f"({summary.db_path})")
    out.print(f"  sources: {c.sources_ok} ok, {c.sources_not_modified} not modified, {c.sources_failed} failed"
              + (f", {c.sources_deferred} backing off" if c.sources_deferred else ""))
    out.print(f"  entries: {c.entries} seen, {c.pages_fetched} pages fetched")
    out.print(f"  articles: {c.new} new, {c.duplicates} duplicates, {c.irrelevant} irrelevant, {c.errors} errors"
              + (f", {c.aliases} known under another URL" if c.aliases else ""))
    for s in failing:
        out.print(f"  failed: {s.name or s.url}: {s.error}", markup=False)


def print_sources(out: Console, watch: WatchConfig, db_path: Path) -> None:
    rows: dict[str, tuple] = {}
    if db_path.exists():
        with open_reader(db_path) as con:
            for row in con.execute(
                "SELECT url, last_status, last_error, last_checked_at, last_success_at, consecutive_failures, "
                "entries_seen, retry_after FROM sources WHERE watch = ?", [watch.name]).fetchall():
                rows[row[0]] = row
    table = Table(title=f"sources of watch '{watch.name}'", expand=False)
    table.add_column("source (name, url)", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True)
    table.add_column("last checked / success", no_wrap=True)
    table.add_column("fails", justify="right", no_wrap=True)
    table.add_column("entries", justify="right", no_wrap=True)
    table.add_column("last error", overflow="fold", ratio=2)
    fmt = lambda t: t.strftime("%Y-%m-%d %H:%M") if t else "never"  # noqa: E731
    for feed in watch.feeds:
        r = rows.get(feed.url)
        label = f"{feed.name}\n{feed.url}" if feed.name else feed.url
        if r is None:
            table.add_row(label, "never polled", "", "", "", "")
            continue
        status = r[1] or ""
        if r[7] is not None and r[7] > datetime.now(timezone.utc):
            status += f"\nbacking off until {r[7]:%Y-%m-%d %H:%M} UTC"
        table.add_row(label, status, f"{fmt(r[3])}\n{fmt(r[4])}", str(r[5]), str(r[6]), r[2] or "")
    out.print(table)


def print_explanation(out: Console, db_path: Path, url_or_id: str, watch: str | None) -> bool:
    if not db_path.exists():
        return False
    from extractors import canonical_url

    with open_reader(db_path) as con:
        params: list = []
        if url_or_id.isdigit():
            where, params = "a.id = ?", [int(url_or_id)]
        else:
            where = ("a.id IN (SELECT article_id FROM article_url WHERE url IN (?, ?)) OR a.url IN (?, ?)")
            canon = canonical_url(url_or_id)
            params = [url_or_id, canon, url_or_id, canon]
        if watch:
            where = f"({where}) AND a.watch = ?"
            params.append(watch)
        row = con.execute(
            f"SELECT a.id, a.url, a.title, a.status, a.duplicate_of, a.reason, a.relevance, a.query_matched, "
            f"a.matched_terms, a.seed_similarity, a.similarity, a.similarity_kind, a.error, a.published_at, "
            f"a.first_seen_at, a.text_source, a.story_id, a.watch FROM articles a WHERE {where} LIMIT 1",
            params).fetchone()
        if row is None:
            return False
        (aid, url, title, status, dup, reason, rel, qm, terms, seed_sim, sim, kind, error, pub, seen,
         text_source, story, watch_name) = row
        original = con.execute("SELECT title, url FROM articles WHERE id = ?", [dup]).fetchone() if dup else None
        aliases = [u for (u,) in con.execute(
            "SELECT url FROM article_url WHERE article_id = ? AND url <> ? ORDER BY url", [aid, url]).fetchall()]
        novel = [s for (s,) in con.execute(
            "SELECT sentence FROM novel_sentence WHERE article_id = ? ORDER BY position", [aid]).fetchall()]
    lines = [
        f"#{aid} {title or '(no title)'}",
        f"  url:        {url}",
        f"  watch:      {watch_name}",
        f"  status:     {status}",
        f"  why:        {reason or ''}",
    ]
    if original:
        lines.append(f"  copy of:    #{dup} " + " ".join(filter(None, [original[0], f"<{original[1]}>"])))
    if sim is not None:
        lines.append(f"  similarity: {sim:.2f} ({kind})")
    if rel is not None and kind in (None, "same_event"):  # copies are caught before relevance is scored
        lines.append(f"  relevance:  {rel:.2f}; seed similarity {seed_sim or 0:.2f}; "
                     f"query {'matched' if qm else 'not matched' if qm is False else 'not set'}"
                     + (f" ({', '.join(terms)})" if terms else ""))
    if error:
        lines.append(f"  problem:    {error} (text from the {text_source or 'nowhere'})")
    lines.append(f"  published:  {pub or 'unknown'}; first seen {seen}")
    if story is not None and story != aid:
        lines.append(f"  story:      #{story}")
    for a in aliases:
        lines.append(f"  also at:    {a}")
    if novel:
        lines.append("  what's new:")
        lines += [f"    - {s}" for s in novel]
    for line in lines:
        out.print(line, markup=False, highlight=False)
    return True
