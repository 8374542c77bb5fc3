"""The writer's API: short transactions that open, write, commit and close, so readers get in between.

DuckDB lets one process write or several processes read a file, never both at once. A monitor pass
therefore never keeps the file open: every method here opens a connection, does one short
transaction and closes it again.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from dedup.types import Document, Fingerprint
from extractors.types import PollResult, SourceState
from warehouse.arrow import insert_arrow, insert_bands, registered, string_table, value_table
from warehouse.connection import close_writer, new_instance, open_writer
from warehouse.errors import WarehouseError
from warehouse.records import ArticleRecord, ArticleRef, RunCounts, StoredArticle
from warehouse.schema import upgrade_bands
from warehouse.search import ensure_search_index, has_search_index, index_new_articles, rebuild_search_index

LOGGER = logging.getLogger(__name__)

# Near-duplicates are looked up among the most recent articles only: band rows are stored in id
# order, so DuckDB skips older blocks and a lookup costs the same at 10k or 1M stored articles.
# Seeds and accepted updates are compared whatever their age (the Decider keeps them in memory).
BAND_WINDOW = 10_000

_TS = pa.timestamp("us", tz="UTC")
_TEXT = ("VARCHAR", pa.string())
_POLL_SCHEMA = {  # one polled source, as record_polls upserts it into `source`
    "watch": _TEXT, "url": _TEXT, "name": _TEXT, "last_status": _TEXT, "last_error": _TEXT,
    "http_status": ("INTEGER", pa.int32()), "last_checked_at": ("TIMESTAMPTZ", _TS),
    "entries": ("BIGINT", pa.int64()), "etag": _TEXT, "last_modified": _TEXT, "retry_after": ("TIMESTAMPTZ", _TS),
}
_ARTICLE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("watch", pa.string()),
        ("url", pa.string()),
        ("status", pa.string()),
        ("first_seen_at", _TS),
        ("title", pa.string()),
        ("author", pa.string()),
        ("site", pa.string()),
        ("language", pa.string()),
        ("published_at", _TS),
        ("duplicate_of", pa.int64()),
        ("story_id", pa.int64()),
        ("text", pa.string()),
        ("text_source", pa.string()),
        ("content_hash", pa.string()),
        ("source_url", pa.string()),
        ("relevance", pa.float64()),
        ("query_matched", pa.bool_()),
        ("matched_terms", pa.list_(pa.string())),
        ("seed_similarity", pa.float64()),
        ("similarity", pa.float64()),
        ("similarity_kind", pa.string()),
        ("reason", pa.string()),
        ("error", pa.string()),
        ("run_id", pa.int64()),
    ]
)
_STORED_COLUMNS = "a.id, a.url, coalesce(a.title, ''), coalesce(a.text, ''), a.published_at, a.status, a.story_id, a.content_hash, a.duplicate_of"


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive times are taken as UTC, the warehouse's zone
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_RECORD_FIELDS = tuple(f.name for f in fields(ArticleRecord))


def _stored(row: tuple) -> StoredArticle:
    return StoredArticle(*row)


def _make_instance(future: Future) -> None:
    try:
        future.set_result(new_instance())
    except BaseException as exc:  # raised again by whoever takes it
        future.set_exception(exc)


class Warehouse:
    """The monitor's writer: one method per step, each a short transaction on a freshly opened file."""

    def __init__(self, path: Path, wait_seconds: float = 30.0, migrate_now: bool = True) -> None:
        self.path = Path(path)
        self.wait_seconds = wait_seconds
        self._migrated = False
        self._local = threading.local()  # the connection of an open session, per thread
        self._spare: Future[duckdb.DuckDBPyConnection] | None = None  # a DuckDB for the next session
        self._spare_lock = threading.Lock()
        if migrate_now:  # migrate once, up front; otherwise on the first open
            close_writer(self._open())

    def prepare_session(self) -> None:
        """Start the DuckDB of the next session on another thread (about 11 ms of CPU), so that
        opening the file then costs only the attaching. Touches no file: readers are not held up."""
        with self._spare_lock:
            if self._spare is not None:
                return
            self._spare = spare = Future()
        try:
            threading.Thread(target=_make_instance, args=(spare,), name="newswatch-duckdb", daemon=False).start()
        except BaseException as exc:  # no thread to start one: the session starts its own
            spare.set_exception(exc)

    def _instance(self) -> duckdb.DuckDBPyConnection:
        with self._spare_lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            try:
                return spare.result()
            except Exception:  # starting it failed there: fail here, or not, with the caller
                LOGGER.debug("the prepared DuckDB failed to start", exc_info=True)
        return new_instance()

    def _open(self) -> duckdb.DuckDBPyConnection:
        con = open_writer(self.path, wait_seconds=self.wait_seconds, migrate_schema=not self._migrated,
                          instance=self._instance())
        if not self._migrated:
            try:  # bands of an older fingerprint version would never match new ones: recompute them first
                upgrade_bands(con)
                con.execute("BEGIN TRANSACTION")  # the index's twenty-odd statements land together or not at all
                ensure_search_index(con)
                con.execute("COMMIT")
            except BaseException:
                con.close()
                raise
        self._migrated = True
        return con

    @contextmanager
    def session(self, keep_duckdb: bool = False, leave_log: bool = False) -> Iterator[Warehouse]:
        """Keep the file open for several steps (each still its own transaction), then close it.

        Opening and closing costs tens of milliseconds, so a pass groups the steps between two
        network waits in one session; it never holds one across a network wait, so readers get in.
        With `keep_duckdb`, the session's DuckDB (the file detached from it) serves the next session,
        as `prepare_session` would: for a short session, whose writes leave it little memory.
        With `leave_log`, a session that wrote little closes without DuckDB's checkpoint (9-18 ms):
        its commits stay in the write-ahead log beside the file, synced, read by readers, folded into
        the file by the next writer (`warehouse.connection.close_writer`).
        """
        if getattr(self._local, "con", None) is not None:  # nested: the outer session closes
            yield self
            return
        self._local.con = self._open()
        try:
            yield self
        except BaseException:
            self._end_session(keep_duckdb=False, failed=True)
            raise
        self._end_session(keep_duckdb, failed=False, leave_log=leave_log)

    def _end_session(self, keep_duckdb: bool, failed: bool, leave_log: bool = False) -> None:
        con, self._local.con = self._local.con, None
        with self._spare_lock:
            keep = keep_duckdb and self._spare is None
            if keep:
                self._spare = spare = Future()
        try:
            close_writer(con, keep=keep, path=self.path if leave_log and not failed else None)
        except BaseException as exc:
            if keep:  # the next session starts a DuckDB of its own
                spare.set_exception(exc)
            if not failed:
                raise
            # The session's own error is the one to report.
            LOGGER.warning("closing the warehouse after a failed session also failed: %s", exc)
            return
        if keep:
            spare.set_result(con)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Begin, yield the connection, commit (or roll back on error); opens and closes the file outside a session."""
        held = getattr(self._local, "con", None)
        if held is None:  # a session of its own
            with self.session():
                with self.transaction() as con:
                    yield con
            return
        held.execute("BEGIN TRANSACTION")
        try:
            yield held
        except BaseException:
            held.execute("ROLLBACK")
            raise
        held.execute("COMMIT")

    # -- sources -----------------------------------------------------------------------------

    def source_states(self, watch: str, urls: Iterable[str]) -> dict[str, SourceState]:
        """What we remember about each source (conditional GET headers, back-off); defaults for unknown ones."""
        urls = list(dict.fromkeys(urls))
        states = {url: SourceState() for url in urls}
        with self.transaction() as con, string_table(con, "wanted_sources", "url", urls):
            rows = con.execute(
                "SELECT s.url, s.etag, s.last_modified, s.consecutive_failures, s.retry_after "
                "FROM source s JOIN wanted_sources u ON s.url = u.url WHERE s.watch = $watch",
                {"watch": watch},
            ).fetchall()
        for url, etag, last_modified, failures, retry_after in rows:
            states[url] = SourceState(etag, last_modified, failures, retry_after)
        return states

    def record_polls(self, watch: str, results: Sequence[PollResult], checked_at: datetime) -> None:
        """Record the outcome of polling each source: status, errors, failures in a row, entries seen."""
        latest = {result.source.url: result for result in results}  # one row per source
        if not latest:
            return
        checked_at = _utc(checked_at)
        polls = list(latest.values())
        batch = {
            "watch": [watch] * len(polls),
            "url": list(latest),
            "name": [r.source.name or None for r in polls],
            "last_status": [r.status for r in polls],
            "last_error": [r.error or r.warning for r in polls],
            "http_status": [r.http_status for r in polls],
            "last_checked_at": [checked_at] * len(polls),
            "entries": [len(r.entries) for r in polls],
            "etag": [r.etag for r in polls],
            "last_modified": [r.last_modified for r in polls],
            "retry_after": [_utc(r.retry_after) for r in polls],
        }
        with self.transaction() as con, value_table(con, "poll_batch", _POLL_SCHEMA, batch):
            # An UPDATE of the known sources, then an INSERT of new ones only if there are any: a
            # third of what `INSERT ... ON CONFLICT DO UPDATE` cost, and a cheaper checkpoint.
            # A 304 is a success that carries no validators: keep the ones we had.
            updated = con.execute(
                """
                UPDATE source AS s SET
                    name = coalesce(p.name, s.name),
                    last_status = p.last_status,
                    last_error = p.last_error,
                    http_status = coalesce(p.http_status, s.http_status),
                    last_checked_at = p.last_checked_at,
                    last_success_at = CASE WHEN p.last_status = 'error' THEN s.last_success_at
                                           ELSE p.last_checked_at END,
                    consecutive_failures = CASE WHEN p.last_status = 'error'
                                                THEN s.consecutive_failures + 1 ELSE 0 END,
                    entries_seen = s.entries_seen + p.entries,
                    etag = CASE WHEN p.last_status = 'ok' THEN p.etag ELSE coalesce(p.etag, s.etag) END,
                    last_modified = CASE WHEN p.last_status = 'ok' THEN p.last_modified
                                         ELSE coalesce(p.last_modified, s.last_modified) END,
                    retry_after = p.retry_after
                FROM poll_batch AS p
                WHERE s.watch = p.watch AND s.url = p.url
                """
            ).fetchone()[0]
            if updated < len(polls):
                con.execute(
                    """
                    INSERT INTO source (watch, url, name, last_status, last_error, http_status, last_checked_at,
                                        last_success_at, consecutive_failures, entries_seen, etag, last_modified,
                                        retry_after)
                    SELECT watch, url, name, last_status, last_error, http_status, last_checked_at,
                           CASE WHEN last_status = 'error' THEN NULL ELSE last_checked_at END,
                           CASE WHEN last_status = 'error' THEN 1 ELSE 0 END,
                           entries, etag, last_modified, retry_after
                    FROM poll_batch AS p
                    WHERE NOT EXISTS (SELECT 1 FROM source AS s WHERE s.watch = p.watch AND s.url = p.url)
                    """
                )

    # -- lookups -----------------------------------------------------------------------------

    def known_urls(self, watch: str, urls: Iterable[str]) -> dict[str, int]:
        """The article id of every URL already stored for the watch, canonical or alias; one query per batch."""
        urls = list(dict.fromkeys(urls))
        if not urls:
            return {}
        with self.transaction() as con:
            return self._known_urls(con, watch, urls)

    @staticmethod
    def _known_urls(con: duckdb.DuckDBPyConnection, watch: str, urls: list[str]) -> dict[str, int]:
        with string_table(con, "wanted_urls", "url", urls):
            rows = con.execute(
                "SELECT au.url, au.article_id FROM article_url au JOIN wanted_urls u ON au.url = u.url "
                "WHERE au.watch = $watch",
                {"watch": watch},
            ).fetchall()
        return dict(rows)

    def articles_by_content_hash(self, watch: str, hashes: Iterable[str]) -> dict[str, int]:
        """For each normalised-text hash already stored, the id of the first article that had it."""
        hashes = list(dict.fromkeys(hashes))
        if not hashes:
            return {}
        with self.transaction() as con, string_table(con, "wanted_hashes", "content_hash", hashes):
            rows = con.execute(
                "SELECT a.content_hash, min(a.id) FROM article a JOIN wanted_hashes h "
                "ON a.content_hash = h.content_hash WHERE a.watch = $watch GROUP BY a.content_hash",
                {"watch": watch},
            ).fetchall()
        return dict(rows)

    def band_candidates(
        self, watch: str, band_hashes: Sequence[tuple[str, Sequence[int]]], window: int | None = BAND_WINDOW
    ) -> dict[str, list[StoredArticle]]:
        """Stored articles sharing at least one LSH band with each key's bands: one equi-join for the batch.

        Only the `window` most recent articles (by id) are searched; None searches the whole archive.
        band_matches, then stored_articles of the matches (one open of the file).
        """
        with self.session():
            matches = self.band_matches(watch, band_hashes, window)
            rows = self.stored_articles({i for ids in matches.values() for i in ids})
        return {key: [rows[i] for i in ids] for key, ids in matches.items()}

    def band_matches(
        self, watch: str, band_hashes: Sequence[tuple[str, Sequence[int]]], window: int | None = BAND_WINDOW
    ) -> dict[str, list[int]]:
        """Ids of the stored articles sharing at least one LSH band with each key's bands, ascending.

        Ids only, so a caller that still holds most candidates (a pass remembers its earlier batches)
        reads the rows of the others alone, with stored_articles.
        """
        result: dict[str, list[int]] = {key: [] for key, _ in band_hashes}
        keys, bands, hashes = [], [], []
        for key, key_bands in band_hashes:
            for band, value in enumerate(key_bands):
                keys.append(key)
                bands.append(band)
                hashes.append(value)
        if not keys:
            return result
        probe = pa.table(
            {"key": pa.array(keys, pa.string()), "band": pa.array(bands, pa.int16()), "hash": pa.array(hashes, pa.int64())}
        )
        with self.transaction() as con:
            min_id = -1
            if window is not None:
                min_id = con.execute("SELECT coalesce(max(id), 0) - $w FROM article", {"w": window}).fetchone()[0]
            with registered(con, "band_probe", probe):
                rows = con.execute(
                    """
                    SELECT DISTINCT p.key, a.id
                    FROM band_probe p
                    JOIN article_band b ON b.band = p.band AND b.hash = p.hash
                    JOIN article a ON a.id = b.article_id
                    WHERE a.watch = $watch AND b.article_id > $min_id AND a.id > $min_id
                    ORDER BY p.key, a.id
                    """,
                    {"watch": watch, "min_id": min_id},
                ).fetchall()
        for key, article_id in rows:
            result[key].append(article_id)
        return result

    def stored_articles(self, ids: Iterable[int]) -> dict[int, StoredArticle]:
        """The articles with these ids, as dedup compares them (unknown ids are left out)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        with self.transaction() as con, registered(con, "wanted_ids", pa.table({"id": pa.array(wanted, pa.int64())})):
            rows = con.execute(f"SELECT {_STORED_COLUMNS} FROM wanted_ids w JOIN article a ON a.id = w.id").fetchall()
        return {row[0]: _stored(tuple(row)) for row in rows}

    def stored_documents(self, watch: str, statuses: Sequence[str] = ("seed", "new")) -> list[StoredArticle]:
        """The watch's articles with the given statuses, oldest first (the decider's memory)."""
        with self.transaction() as con:
            rows = con.execute(
                f"SELECT {_STORED_COLUMNS} FROM article a WHERE a.watch = $watch "
                "AND list_contains($statuses::VARCHAR[], a.status) ORDER BY a.id",
                {"watch": watch, "statuses": list(statuses)},
            ).fetchall()
        return [_stored(row) for row in rows]

    # -- writes ------------------------------------------------------------------------------

    def ensure_seed(self, watch: str, doc: Document, fingerprint: Fingerprint, url: str) -> int:
        """Store a seed article once; return its id (the existing one when the URL is already stored)."""
        record = ArticleRecord(
            watch=watch,
            url=url,
            status="seed",
            first_seen_at=datetime.now(timezone.utc),
            title=doc.title,
            published_at=doc.published_at,
            text=doc.text,
            text_source="seed",
            content_hash=fingerprint.content_hash,
            reason="a seed article of the watch",
            bands=tuple(fingerprint.bands),
        )
        return self.write_batch(watch, None, [record])[url]

    def reserve_ids(self, n: int) -> list[int]:
        """Draw n article ids ahead of writing, so decisions can name articles before they are stored."""
        if n <= 0:
            return []
        with self.transaction() as con:
            return self._next_ids(con, n)

    @staticmethod
    def _next_ids(con: duckdb.DuckDBPyConnection, n: int) -> list[int]:
        rows = con.execute("SELECT nextval('article_id_seq') FROM range($n) ORDER BY 1", {"n": n}).fetchall()
        return [row[0] for row in rows]

    def write_batch(
        self,
        watch: str,
        run_id: int | None,
        rows: Sequence[ArticleRecord],
        aliases: Sequence[tuple[str, ArticleRef]] = (),
    ) -> dict[str, int]:
        """Insert articles, their URLs, bands and novel sentences in one transaction; return url -> id.

        A record whose URL (canonical or alias) is already stored is skipped and maps to the stored id,
        so writing the same batch twice adds nothing. `duplicate_of`, `story_id` and the targets of
        `aliases` may name stored ids or the canonical URL of another record in the batch.
        """
        for record in rows:
            if record.watch != watch:
                raise WarehouseError(f"record {record.url} belongs to watch {record.watch!r}, not {watch!r}")
        with self.transaction() as con:
            wanted = [r.url for r in rows] + [a for r in rows for a in r.aliases] + [u for u, _ in aliases]
            wanted += [ref for r in rows for ref in (r.duplicate_of, r.story_id) if isinstance(ref, str)]
            wanted += [ref for _, ref in aliases if isinstance(ref, str)]
            known = self._known_urls(con, watch, list(dict.fromkeys(wanted))) if wanted else {}

            fresh: list[ArticleRecord] = []
            ids: dict[str, int] = {}
            for record in rows:
                if record.url in ids:
                    continue  # the same article twice in one batch: the first wins
                if record.url in known:
                    ids[record.url] = known[record.url]
                    continue
                fresh.append(record)
                ids[record.url] = -1
            unnumbered = [r for r in fresh if r.id is None]
            if unnumbered:
                drawn = iter(self._next_ids(con, len(unnumbered)))
            if fresh:
                new_ids = [r.id if r.id is not None else next(drawn) for r in fresh]
                for record, new_id in zip(fresh, new_ids):
                    ids[record.url] = new_id

            def resolve(ref: ArticleRef | None, what: str) -> int | None:
                if ref is None:
                    return None
                if isinstance(ref, int):
                    return ref
                if ref.isdigit():
                    return int(ref)
                if ref in ids:
                    return ids[ref]
                if ref in known:
                    return known[ref]
                raise WarehouseError(f"{what} refers to {ref!r}, which is neither in the batch nor stored")

            if fresh:
                self._insert_articles(con, run_id, fresh, ids, resolve)
            url_rows = self._url_rows(fresh, ids, known, aliases, resolve)
            if url_rows:
                url_batch = pa.table({
                    "watch": [watch] * len(url_rows),
                    "url": [u for u, _, _ in url_rows],
                    "article_id": pa.array([i for _, i, _ in url_rows], pa.int64()),
                    "kind": [k for _, _, k in url_rows],
                })
                with registered(con, "url_batch", url_batch):
                    con.execute("INSERT INTO article_url SELECT * FROM url_batch ON CONFLICT DO NOTHING")
        LOGGER.info("stored %d new articles of %d for watch %s", len(fresh), len(rows), watch)
        for url, ref in aliases:
            ids.setdefault(url, resolve(ref, f"alias {url}"))
        return ids

    @staticmethod
    def _url_rows(fresh, ids, known, aliases, resolve) -> list[tuple[str, int, str]]:
        taken = set(known)
        url_rows: list[tuple[str, int, str]] = []
        for record in fresh:  # canonical URLs first, so an alias never shadows a canonical
            url_rows.append((record.url, ids[record.url], "canonical"))
            taken.add(record.url)
        extra = [(alias, ids[record.url]) for record in fresh for alias in record.aliases]
        extra += [(url, resolve(ref, f"alias {url}")) for url, ref in aliases]
        for url, article_id in extra:
            if url not in taken:
                url_rows.append((url, article_id, "alias"))
                taken.add(url)
        return url_rows

    @staticmethod
    def _insert_articles(con, run_id, fresh, ids, resolve) -> None:
        columns: dict[str, list] = {name: [] for name in _ARTICLE_SCHEMA.names}
        band_ids, band_index, band_hash = [], [], []
        sentence_ids, sentence_pos, sentence_text = [], [], []
        for record in fresh:
            article_id = ids[record.url]
            # Shallow: asdict would deep-copy every tuple of every record, a third of the write's CPU.
            values = {name: getattr(record, name) for name in _RECORD_FIELDS}
            values["first_seen_at"] = _utc(record.first_seen_at)
            values["published_at"] = _utc(record.published_at)
            values["duplicate_of"] = resolve(record.duplicate_of, f"duplicate_of of {record.url}")
            values["story_id"] = resolve(record.story_id, f"story_id of {record.url}")
            values["matched_terms"] = list(record.matched_terms)
            values["id"] = article_id
            values["run_id"] = run_id
            for name in _ARTICLE_SCHEMA.names:
                columns[name].append(values[name])
            for band, value in enumerate(record.bands):
                band_ids.append(article_id)
                band_index.append(band)
                band_hash.append(value)
            for position, sentence in enumerate(record.novel_sentences):
                sentence_ids.append(article_id)
                sentence_pos.append(position)
                sentence_text.append(sentence)
        names = ", ".join(_ARTICLE_SCHEMA.names)
        insert_arrow(con, "article", pa.table(columns, schema=_ARTICLE_SCHEMA), names)
        if band_ids:
            insert_bands(con, band_ids, band_index, band_hash)
        if sentence_ids:
            insert_arrow(con, "novel_sentence", pa.table({
                "article_id": pa.array(sentence_ids, pa.int64()),
                "position": pa.array(sentence_pos, pa.int32()),
                "sentence": pa.array(sentence_text, pa.string()),
            }), "article_id, position, sentence")

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, watch: str) -> int:
        """Record the start of a monitor pass; return its run id."""
        with self.transaction() as con:
            return con.execute(
                "INSERT INTO run (watch, started_at, status) VALUES (?, now(), 'running') RETURNING id", [watch]
            ).fetchone()[0]

    def finish_run(self, run_id: int, counts: RunCounts | Mapping[str, int], status: str = "completed") -> None:
        """Record how a pass ended; add the articles it stored to the full-text index.

        A new warehouse gets an empty index when it is first opened; every pass adds its new
        articles to it, at a cost that follows what the pass stored, not the archive. (Indexing each
        batch as it is written was tried: committing the index tables made every batch slower than
        one catch-up at the end, whose word splitting runs on every core.)
        """
        if isinstance(counts, Mapping):
            unknown = set(counts) - {f.name for f in fields(RunCounts)}
            if unknown:
                raise WarehouseError(f"unknown run counts: {', '.join(sorted(unknown))}")
            counts = RunCounts(**counts)
        # Counts as literals: binding seventeen parameters would cost more than the update (warehouse.literals).
        assignments = ", ".join(f"{name} = {int(value)}" for name, value in asdict(counts).items())
        with self.transaction() as con:
            con.execute(
                f"UPDATE run SET {assignments}, status = $status, finished_at = now(), "
                f"seconds = epoch(now()) - epoch(started_at) WHERE id = {int(run_id)}",
                {"status": status},
            )
            behind = self._unindexed(con) > 0
        if behind:
            self._index_new_articles()

    def _index_new_articles(self) -> None:
        # Its own transaction: the words are read, in parallel, from what is committed. A failure
        # leaves the articles unindexed (search still finds them, word by word), not the pass failed.
        try:
            with self.transaction() as con:
                added = index_new_articles(con)
            LOGGER.info("added %d articles to the full-text index", added)
        except duckdb.Error as exc:
            LOGGER.warning("could not add the new articles to the full-text index (search matches them word "
                           "by word until a later pass does): %s", exc)

    @staticmethod
    def _unindexed(con: duckdb.DuckDBPyConnection) -> int:
        stored = con.execute("SELECT count(*) FROM article").fetchone()[0]
        if not has_search_index(con):
            return stored
        return stored - con.execute("SELECT count(*) FROM fts_main_article.docs").fetchone()[0]

    def unindexed_articles(self) -> int:
        """How many stored articles the full-text index does not cover yet."""
        with self.transaction() as con:
            return self._unindexed(con)

    def rebuild_search_index(self) -> None:
        """Rebuild the full-text index over every article anew (passes only add to it; this starts over)."""
        with self.transaction() as con:
            rebuild_search_index(con)
