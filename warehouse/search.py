"""Full-text search over articles with DuckDB's fts extension, loaded offline from its wheel."""
from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.arrow import registered
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
    """True when the full-text index over `article` exists.

    Its statistics table is made last but for the macros, so the table stands for the whole index,
    also one whose building was cut short before indexes were made in a transaction
    (duckdb_functions() would say so too, at 17 ms a call where this costs 1-3 ms).
    """
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'fts_main_article' AND table_name = 'stats'"
    ).fetchone()[0])


def rebuild_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """Build the BM25 index over every article's title and text anew (time in proportion to the archive)."""
    load_fts(con)
    con.execute("PRAGMA create_fts_index('article', 'id', 'title', 'text', overwrite=1)")


# What `PRAGMA create_fts_index` does for the whole table, done for the new articles only, into the
# same tables: docs (docid, name = article id, len), terms (one row per kept word), dict (termid,
# term, df), stats (num_docs, avgdl). The extension's match_bm25 macro reads just those, so scores
# are the ones a rebuild would give (a test compares them); what changes is the cost, which follows
# the new articles instead of the archive. Words go through the index's own tokenize macro, its
# stopword list and the porter stemmer, as in the extension's indexing script.
_NEW_WORDS = """
SELECT name, stem(w, 'porter') AS term, fieldid
FROM (
    SELECT a.id AS name, unnest(fts_main_article.tokenize(a.title)) AS w,
           (SELECT fieldid FROM fts_main_article.fields WHERE field = 'title') AS fieldid
    FROM article a
    WHERE a.id BETWEEN $lo AND $hi AND a.id % $parts = $part AND a.id IN (SELECT id FROM fts_chunk_ids)
    UNION ALL
    SELECT a.id AS name, unnest(fts_main_article.tokenize(a.text)) AS w,
           (SELECT fieldid FROM fts_main_article.fields WHERE field = 'text') AS fieldid
    FROM article a
    WHERE a.id BETWEEN $lo AND $hi AND a.id % $parts = $part AND a.id IN (SELECT id FROM fts_chunk_ids)
) tokenized
WHERE w NOT NULL AND len(w) > 0 AND w NOT IN (SELECT sw FROM fts_main_article.stopwords)
"""

_ADD_NEW_WORDS = """
CREATE TEMP TABLE fts_new_docs AS
    SELECT (SELECT coalesce(max(docid), -1) FROM fts_main_article.docs) + row_number() OVER (ORDER BY id) AS docid,
           id AS name
    FROM fts_chunk_ids;

CREATE TEMP TABLE fts_new_terms AS
    SELECT nd.docid, w.term, w.fieldid FROM fts_new_words w JOIN fts_new_docs nd ON nd.name = w.name;

INSERT INTO fts_main_article.dict (termid, term, df)
    SELECT (SELECT coalesce(max(termid), -1) FROM fts_main_article.dict) + row_number() OVER (ORDER BY n.term), n.term, 0
    FROM (SELECT DISTINCT term FROM fts_new_terms) n
    WHERE NOT EXISTS (SELECT 1 FROM fts_main_article.dict d WHERE d.term = n.term);

UPDATE fts_main_article.dict SET df = dict.df + c.n
    FROM (SELECT term, count(DISTINCT docid) AS n FROM fts_new_terms GROUP BY term) c
    WHERE dict.term = c.term;

INSERT INTO fts_main_article.terms (docid, fieldid, termid)
    SELECT t.docid, t.fieldid, d.termid FROM fts_new_terms t JOIN fts_main_article.dict d ON d.term = t.term;

INSERT INTO fts_main_article.docs (docid, name, len)
    SELECT nd.docid, nd.name, coalesce(l.len, 0)
    FROM fts_new_docs nd LEFT JOIN (SELECT docid, count(*) AS len FROM fts_new_terms GROUP BY docid) l USING (docid);

UPDATE fts_main_article.stats SET num_docs = s.num_docs, avgdl = s.avgdl
    FROM (SELECT count(docid) AS num_docs, sum(len) / count(len) AS avgdl FROM fts_main_article.docs) s;

DROP TABLE fts_new_terms;
DROP TABLE fts_new_docs;
"""


INDEX_CHUNK = 5_000  # articles added to the index per statement group: bounds the words held in memory


def ensure_search_index(con: duckdb.DuckDBPyConnection) -> None:
    """Build the full-text index if the warehouse has none (on a new warehouse, over no articles)."""
    if not has_search_index(con):
        rebuild_search_index(con)


def unindexed_ids(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Ids of the stored articles the full-text index does not hold, ascending (reads ids only)."""
    return [row[0] for row in con.execute(
        "SELECT id FROM article a WHERE NOT EXISTS (SELECT 1 FROM fts_main_article.docs d WHERE d.name = a.id) "
        "ORDER BY id").fetchall()]


def index_new_articles(con: duckdb.DuckDBPyConnection, parts: int | None = None) -> int:
    """Add to the full-text index every stored article it does not hold yet; return how many.

    Splitting words and stemming them is most of the work and runs on one thread per statement
    (DuckDB parallelises by row group, and a pass's articles fit in one), so `parts` statements
    (one per core) read the words side by side, on other connections of the same database. Those
    see what is committed, and `con`'s snapshot is older than theirs (it is taken by the first
    query here): call this in a transaction of its own, after the one that stored the articles.
    Each statement reads only the row groups of the new ids (their range prunes the scan).
    """
    load_fts(con)
    ensure_search_index(con)  # none yet: built over every article, so nothing is left to add
    ids = unindexed_ids(con)
    parts = parts or max(1, min(os.cpu_count() or 1, 4))
    # Another connection starts in its instance's default database, which a writer's file is not.
    use_file = 'USE "{}"'.format(con.execute("SELECT current_database()").fetchone()[0].replace('"', '""'))
    for at in range(0, len(ids), INDEX_CHUNK):
        chunk = pa.table({"id": pa.array(ids[at:at + INDEX_CHUNK], pa.int64())})
        bounds = {"lo": chunk["id"][0].as_py(), "hi": chunk["id"][-1].as_py(), "parts": parts}

        def words(part: int, chunk: pa.Table = chunk, bounds: dict = bounds) -> pa.Table:
            with con.cursor() as cursor, registered(cursor, "fts_chunk_ids", chunk):
                cursor.execute(use_file)
                return cursor.execute(_NEW_WORDS, {**bounds, "part": part}).to_arrow_table()

        with ThreadPoolExecutor(parts, thread_name_prefix="fts-words") as pool:
            found = pa.concat_tables(pool.map(words, range(parts)))
        with registered(con, "fts_chunk_ids", chunk), registered(con, "fts_new_words", found):
            con.execute(_ADD_NEW_WORDS)
    return len(ids)


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
    """Articles the index does not hold yet, matched word by word, so search is never stale.

    A pass adds its articles to the index when it ends; a search during the pass (or in a warehouse
    whose last pass was killed) scores the newer ones by the share of the query's words they hold,
    scaled to the best BM25 score, and ranks them among the indexed hits.
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
