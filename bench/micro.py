"""Micro-benchmarks of the warehouse: the LSH lookup and a pass's batch write against archive size,
and write throughput.

Stored signatures are synthetic (random band hashes), inserted with Arrow straight into `article`
and `article_band`; the lookup timed is `Warehouse.band_candidates` for one batch of probes: the
band join a pass makes (`band_matches`) plus reading back every candidate's row, as a pass does for
the ones it does not already hold, so it includes opening the file.
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from dedup import fingerprint
from dedup.minhash import NUM_BANDS
from warehouse.arrow import registered
from warehouse.records import ArticleRecord
from warehouse.store import BAND_WINDOW, Warehouse

LOGGER = logging.getLogger(__name__)

WATCH = "bench"
CHUNK = 100_000  # articles inserted per Arrow batch, to bound the bench's own memory


@dataclass(frozen=True)
class LookupFigure:
    """The LSH lookup of one probe batch against `stored` synthetic articles."""

    stored: int
    probes: int
    batch_ms: float  # median over repeats of band_candidates (band join, every candidate read back)
    open_ms: float  # median of an empty transaction: the file's open, begin, commit, close
    hits: int  # probes that found at least one candidate
    whole_archive_ms: float = 0.0  # the same batch without the recency window (every stored article)

    @property
    def per_article_ms(self) -> float:
        return self.batch_ms / self.probes


@dataclass(frozen=True)
class WriteFigure:
    """Write throughput of Warehouse.write_batch with realistic records."""

    batch_size: int
    rows: int
    seconds: float
    search_index_s: float  # rebuilding the full-text index over the rows written
    index_added: int = 0  # articles a later pass stores on top
    index_add_s: float = 0.0  # adding them to the index at that pass's end (finish_run)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class BatchWriteFigure:
    """One pass's batch written into an archive of `stored` articles with real texts."""

    stored: int
    batch: int
    batch_ms: float  # median of write_batch: open the file, write, commit, close (the checkpoint)
    archive_mb: float  # the database file before the batches


def _records(texts: list[str], prefix: str, count: int, now: datetime, offset: int = 0) -> list[ArticleRecord]:
    texts = [texts[(offset + i) % len(texts)] for i in range(count)]
    prints = [fingerprint(text) for text in texts]
    return [ArticleRecord(
        watch=WATCH, url=f"https://{prefix}.example/{i}", status="new", first_seen_at=now, title=f"Article {i}",
        site=f"{prefix}.example", text=text, text_source="page", content_hash=f"{fp.content_hash[:48]}{i:016d}",
        relevance=0.5, reason="bench", bands=fp.bands) for i, (text, fp) in enumerate(zip(texts, prints))]


def batch_write_vs_archive(work: Path, texts: list[str], sizes: list[int], batch: int = 128,
                           repeats: int = 5) -> list[BatchWriteFigure]:
    """Grow one archive of real texts through `sizes`; time writing one pass's batch at each.

    DuckDB rewrites the last row group of a table with an index at each checkpoint, and a pass
    checkpoints every batch it writes (the file closes so readers get in): this shows what a batch
    costs as the archive grows (articles carry no index since migration 0004).
    """
    warehouse = Warehouse(work / "archive.duckdb")
    texts = [t for t in texts if t.strip()]
    cycle = pa.table({"i": pa.array(range(len(texts)), pa.int64()), "text": pa.array(texts, pa.string())})
    figures, stored = [], 0
    now = datetime.now(timezone.utc)
    for size in sorted(sizes):
        # The archive's own articles: the benchmark's texts, cycled.
        with warehouse.transaction() as con, registered(con, "bench_texts", cycle):
            for lo in range(stored, size, CHUNK):
                con.execute(
                    "INSERT INTO article (watch, url, status, first_seen_at, title, text, content_hash) "
                    "SELECT $watch, 'https://archive.example/' || r.i, 'irrelevant', now(), 'archived ' || r.i, "
                    "t.text || ' ' || r.i, md5(r.i::VARCHAR) "
                    "FROM range($lo, $hi) r(i) JOIN bench_texts t ON t.i = r.i % $n ORDER BY r.i",
                    {"watch": WATCH, "lo": lo, "hi": min(size, lo + CHUNK), "n": len(texts)})
        stored = size
        archive_mb = (work / "archive.duckdb").stat().st_size / 1e6
        run_id = warehouse.start_run(WATCH)
        times = []
        for r in range(repeats):
            records = _records(texts, f"batch-{size}-{r}", batch, now, offset=r * batch)
            began = time.perf_counter()
            warehouse.write_batch(WATCH, run_id, records)
            times.append(time.perf_counter() - began)
        figures.append(BatchWriteFigure(stored, batch, 1000 * statistics.median(times), archive_mb))
        LOGGER.info("a batch of %d into %d stored articles: %.0f ms", batch, stored, figures[-1].batch_ms)
    return figures


def _insert_synthetic(warehouse: Warehouse, start: int, stop: int, rng: np.random.Generator) -> None:
    with warehouse.transaction() as con:
        for lo in range(start, stop, CHUNK):
            hi = min(stop, lo + CHUNK)
            con.execute(
                "INSERT INTO article (id, watch, url, status, first_seen_at, title, text, content_hash) "
                "SELECT i, $watch, 'https://synthetic.example/a/' || i, 'irrelevant', now(), "
                "'synthetic ' || i, 'synthetic text ' || i, md5(i::VARCHAR) FROM range($lo, $hi) r(i)",
                {"watch": WATCH, "lo": lo, "hi": hi})
            n = hi - lo
            bands = pa.table({
                "article_id": pa.array(np.repeat(np.arange(lo, hi, dtype=np.int64), NUM_BANDS)),
                "band": pa.array(np.tile(np.arange(NUM_BANDS, dtype=np.int16), n)),
                "hash": pa.array(rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, n * NUM_BANDS,
                                              dtype=np.int64)),
            })
            con.register("synthetic_bands", bands)
            con.execute("INSERT INTO article_band SELECT article_id, band, hash FROM synthetic_bands")
            con.unregister("synthetic_bands")


def _probes(warehouse: Warehouse, stored: int, count: int, rng: np.random.Generator) -> list[tuple[str, list[int]]]:
    """`count` probe signatures; one in ten shares one band with a recent stored article, as a copy would."""
    probes = []
    # Copies name recent articles: the targets lie in the lookup's window, so every figure finds them.
    targets = rng.integers(max(0, stored - BAND_WINDOW), stored, count // 10)
    with warehouse.transaction() as con:
        shared = dict(con.execute(
            "SELECT article_id, hash FROM article_band JOIN unnest($ids::BIGINT[]) t(id) ON article_id = t.id "
            "WHERE band = 3", {"ids": [int(t) for t in targets]}).fetchall())
    for i in range(count):
        bands = [int(v) for v in rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, NUM_BANDS)]
        if i < len(targets) and int(targets[i]) in shared:
            bands[3] = shared[int(targets[i])]
        probes.append((f"https://probe.example/{i}", bands))
    return probes


def lookup_vs_archive(db_path: Path, sizes: list[int], probes: int = 1000, repeats: int = 5,
                      seed: int = 7) -> list[LookupFigure]:
    """Grow one archive through `sizes` stored articles; time a batch of `probes` lookups at each."""
    rng = np.random.default_rng(seed)
    warehouse = Warehouse(db_path)
    figures, stored = [], 0
    for size in sorted(sizes):
        began = time.perf_counter()
        _insert_synthetic(warehouse, stored, size, rng)
        LOGGER.info("inserted %d synthetic articles in %.1f s", size - stored, time.perf_counter() - began)
        stored = size
        batch = _probes(warehouse, stored, probes, rng)
        warehouse.band_candidates(WATCH, batch)  # warm the file cache once, as a running pass would have
        times, opens, wholes, hits = [], [], [], 0
        for _ in range(repeats):
            began = time.perf_counter()
            warehouse.band_candidates(WATCH, batch, window=None)
            wholes.append(time.perf_counter() - began)
            began = time.perf_counter()
            with warehouse.transaction():
                pass
            opens.append(time.perf_counter() - began)
            began = time.perf_counter()
            found = warehouse.band_candidates(WATCH, batch)
            times.append(time.perf_counter() - began)
            hits = sum(1 for rows in found.values() if rows)
        figures.append(LookupFigure(stored, probes, 1000 * statistics.median(times),
                                    1000 * statistics.median(opens), hits, 1000 * statistics.median(wholes)))
    return figures


def write_throughput(db_path: Path, texts: list[str], batch_size: int, rows: int) -> WriteFigure:
    """Write `rows` realistic articles (real texts, their bands, a few novel sentences) in batches."""
    warehouse = Warehouse(db_path)
    now = datetime.now(timezone.utc)
    prints = [fingerprint(text) for text in texts]
    records = []
    added = rows // 4
    for i in range(rows + added):
        text, fp = texts[i % len(texts)], prints[i % len(texts)]
        sentences = tuple(s.strip() for s in text.split(".")[:5] if s.strip())
        records.append(ArticleRecord(
            watch=WATCH, url=f"https://writes.example/{batch_size}/{i}", status="new", first_seen_at=now,
            title=f"Article {i}", site="writes.example", text=text, text_source="page",
            content_hash=f"{fp.content_hash[:48]}{i:016d}", source_url="https://writes.example/feed",
            relevance=0.5, query_matched=None, reason="bench", bands=fp.bands,
            aliases=(f"https://writes.example/{batch_size}/{i}?utm_source=feed",), novel_sentences=sentences))
    run_id = warehouse.start_run(WATCH)
    began = time.perf_counter()
    for lo in range(0, rows, batch_size):
        warehouse.write_batch(WATCH, run_id, records[lo:lo + batch_size])
    seconds = time.perf_counter() - began
    began = time.perf_counter()
    warehouse.rebuild_search_index()
    rebuild_s = time.perf_counter() - began
    later = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, later, records[rows:])
    began = time.perf_counter()
    warehouse.finish_run(later, {"new": added})  # adds the later pass's articles to the index
    return WriteFigure(batch_size, rows, seconds, rebuild_s, added, time.perf_counter() - began)
