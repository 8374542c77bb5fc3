"""Full-text search over articles with DuckDB's fts extension, loaded offline from its wheel."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseError

LOGGER = logging.getLogger(__name__)

_SNIPPET_CHARS = 160
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    """One article found by a search, best first."""

    id: int
    score: float
    status: str
    title: str
    url: str
    published_at: datetime | None
    snippet: str


@cache
def fts_extension_path() -> Path:
    """The fts extension file shipped by the duckdb-extension-fts wheel for this DuckDB version."""
    import duckdb_extension_fts  # the wheel carries the binary; importing only locates it

    base = Path(duckdb_extension_fts.__file__).resolve().parent / "extensions"
    wanted = base / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if wanted.exists():
        return wanted
    found = sorted(base.glob("*/fts.duckdb_extension"))
    if not found:
        raise WarehouseError(f"the fts extension is missing from {base}")
    return found[-1]


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension into a connection, from the local wheel (no network)."""
    con.execute(f"LOAD '{fts_extension_path()}'")


def has_search_index(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the full-text index over `article` exists."""
    return bool(
        con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'fts_main_article'").fetchone()[0]
    )


def rebuild_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the BM25 index over article titles and texts; the writer calls it after storing articles."""
    load_fts(con)
    con.execute("PRAGMA create_fts_index('article', 'id', 'title', 'text', overwrite=1)")


def snippet(text: str, query: str, width: int = _SNIPPET_CHARS) -> str:
    """A window of `text` around the first query word it contains (case-insensitive)."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    lowered = text.lower()
    first = -1
    for word in _WORD.findall(query.lower()):
        match = re.search(rf"\b{re.escape(word)}", lowered)
        if match and (first < 0 or match.start() < first):
            first = match.start()
    if first < 0:
        first = 0
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    piece = text[start:end].strip()
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def search(
    con: duckdb.DuckDBPyConnection, query: str, limit: int = 10, status: str | None = None
) -> list[SearchHit]:
    """Articles matching `query`, ranked by BM25 over title and text, each with a snippet."""
    if not query.strip():
        return []
    load_fts(con)
    indexed = has_search_index(con)
    rows = []
    if indexed:
        rows = con.execute(
            """
            SELECT id, score, status, coalesce(title, ''), url, published_at, coalesce(text, '')
            FROM (SELECT *, fts_main_article.match_bm25(id, $query) AS score FROM article) ranked
            WHERE score IS NOT NULL AND ($status IS NULL OR status = $status)
            ORDER BY score DESC, id
            LIMIT $limit
            """,
            {"query": query, "status": status, "limit": limit},
        ).fetchall()
    rows += _unindexed_matches(con, query, status, limit, top=max((r[1] for r in rows), default=1.0),
                               indexed=indexed)
    rows.sort(key=lambda r: (-r[1], r[0]))
    return [
        SearchHit(id, score, st, title, url, published_at, snippet(text or title, query))
        for id, score, st, title, url, published_at, text in rows[:limit]
    ]


def _unindexed_matches(con: duckdb.DuckDBPyConnection, query: str, status: str | None, limit: int,
                       top: float, indexed: bool = True) -> list[tuple]:
    """Articles stored since the index was last built, matched word by word, so search is never stale.

    The index is rebuilt only now and then in a large archive (a rebuild costs time in proportion
    to it); until then the newest articles are scored by the share of the query's words they hold,
    scaled to the best BM25 score, and ranked among the indexed hits.
    """
    terms = sorted({w for w in re.findall(r"\w+", query.lower()) if len(w) > 1})
    if not terms:
        return []
    # Without an index yet (no pass has built one), every article is unindexed.
    unindexed = "id NOT IN (SELECT name FROM fts_main_article.docs)" if indexed else "true"
    rows = con.execute(
        f"""
        SELECT id, status, coalesce(title, ''), url, published_at, coalesce(text, ''),
               list_sum([CASE WHEN contains(lower(coalesce(title, '') || ' ' || coalesce(text, '')), t)
                         THEN 1 ELSE 0 END FOR t IN $terms]) AS hits
        FROM article
        WHERE {unindexed} AND ($status IS NULL OR status = $status)
        ORDER BY hits DESC, id DESC
        LIMIT $limit
        """,
        {"terms": terms, "status": status, "limit": limit},
    ).fetchall()
    return [(id, top * hits / len(terms), st, title, url, published_at, text)
            for id, st, title, url, published_at, text, hits in rows if hits]
