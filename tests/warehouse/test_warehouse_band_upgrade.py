"""An archive whose bands were made by the old fingerprint keeps finding copies after the upgrade."""
from __future__ import annotations

import hashlib
import logging
import random
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import WATCH

from dedup import band_hashes, fingerprint, words
from dedup.minhash import FINGERPRINT_VERSION
from warehouse.schema import MIGRATIONS_DIR, migrate, upgrade_bands
from warehouse.store import Warehouse


VOCAB = [f"w{i}" for i in range(5000)]


def _splitmix64(x: int) -> int:
    mask = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def _version1_bands(text: str) -> tuple[int, ...]:
    """The bands as fingerprint version 1 computed them: BLAKE2b per joined 3-gram, splitmix permutations."""
    tokens = words(text)
    grams = {" ".join(tokens[i:i + 3]) for i in range(len(tokens) - 2)} if len(tokens) >= 3 else {" ".join(tokens)}
    hashes = [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams if g]
    if not hashes:
        return band_hashes(tuple([0xFFFFFFFF] * 128))
    keys = np.array([_splitmix64(0x6E657773 + i) for i in range(128)], dtype=np.uint64)
    v = np.array(hashes, dtype=np.uint64)[None, :] ^ keys[:, None]
    v = v ^ (v >> np.uint64(30))
    v = v * np.uint64(0xBF58476D1CE4E5B9)
    v = v ^ (v >> np.uint64(27))
    v = v * np.uint64(0x94D049BB133111EB)
    v = v ^ (v >> np.uint64(31))
    return band_hashes(tuple(int(x) for x in (v >> np.uint64(32)).min(axis=1)))


def _story(rng: random.Random) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(300)]


def _old_archive(tmp_path: Path, texts: list[str], unbanded: set[int] = frozenset()) -> Path:
    """A warehouse as version 1 left it: migrations before 0003, bands of the old fingerprint."""
    old_migrations = tmp_path / "old_migrations"
    shutil.copytree(MIGRATIONS_DIR, old_migrations)
    for later in old_migrations.glob("0003_*.sql"):
        later.unlink()
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, old_migrations)
    for i, text in enumerate(texts, start=1):
        con.execute("INSERT INTO article (id, watch, url, first_seen_at, status, text) "
                    "VALUES (nextval('article_id_seq'), ?, ?, now(), 'new', ?)",
                    [WATCH, f"https://old.example/{i}", text])
        if i not in unbanded:
            con.executemany("INSERT INTO article_band VALUES (?, ?, ?)",
                            [(i, band, value) for band, value in enumerate(_version1_bands(text))])
    con.close()
    return path


def _near_copy(rng: random.Random, story: list[str]) -> str:
    copy = list(story)
    for i in rng.sample(range(len(copy)), 6):  # Jaccard ~0.89 with the original
        copy[i] = rng.choice(VOCAB)
    return " ".join(copy)


def test_after_the_upgrade_a_near_copy_of_an_old_article_is_found(tmp_path: Path) -> None:
    rng = random.Random(11)
    stories = [_story(rng) for _ in range(5)]
    path = _old_archive(tmp_path, [" ".join(s) for s in stories])
    copies = [(f"copy-{i}", fingerprint(_near_copy(rng, s)).bands) for i, s in enumerate(stories)]
    # Without the upgrade the new bands of a copy share nothing with the old stored bands.
    con = duckdb.connect(str(path))
    stored = set(con.execute("SELECT band, hash FROM article_band").fetchall())
    con.close()
    assert not stored & {(band, value) for _, bands in copies for band, value in enumerate(bands)}

    warehouse = Warehouse(path, wait_seconds=10.0)  # opening as the writer upgrades
    found = warehouse.band_candidates(WATCH, copies)
    assert {key: [a.id for a in found[key]] for key, _ in copies} == {f"copy-{i}": [i + 1] for i in range(5)}
    with warehouse.transaction() as con:
        assert con.execute("SELECT version, target FROM fingerprint_state").fetchone() == (FINGERPRINT_VERSION, None)


class _Killed(BaseException):
    """Stands for the process being killed right after a batch was committed."""


class _KillAfterFirstBatch(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if "articles checked" in record.getMessage():
            raise _Killed


def test_a_killed_upgrade_is_finished_by_the_next_writer_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    rng = random.Random(12)
    texts = [" ".join(_story(rng)) for _ in range(7)]
    path = _old_archive(tmp_path, texts, unbanded={4})  # article 4 was stored without bands (an error)
    con = duckdb.connect(str(path))
    migrate(con)
    killer = _KillAfterFirstBatch()
    logger = logging.getLogger("warehouse.schema")
    level = logger.level
    logger.addHandler(killer)
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(_Killed):
            upgrade_bands(con, batch_size=3)
    finally:
        logger.removeHandler(killer)
        logger.setLevel(level)
    state = con.execute("SELECT version, target, done_upto FROM fingerprint_state").fetchone()
    assert state == (1, FINGERPRINT_VERSION, 3)  # the first batch (articles 1-3) is done, the rest not
    con.close()

    with Warehouse(path, wait_seconds=10.0).transaction() as con:  # the next writer finishes it
        rows = con.execute("SELECT article_id, band, hash FROM article_band ORDER BY article_id, band").fetchall()
        state = con.execute("SELECT version, target, done_upto FROM fingerprint_state").fetchone()
    expected = [(i, band, value) for i, text in enumerate(texts, start=1) if i != 4
                for band, value in enumerate(fingerprint(text).bands)]
    assert rows == expected and state == (FINGERPRINT_VERSION, None, 0)

    con = duckdb.connect(str(path))
    assert upgrade_bands(con) == 0  # already current: nothing recomputed
    assert con.execute("SELECT count(*) FROM article_band").fetchone()[0] == len(expected)
    con.close()


def test_a_new_warehouse_records_the_current_fingerprint_version(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "new.duckdb")
    with warehouse.transaction() as con:
        assert con.execute("SELECT version, target FROM fingerprint_state").fetchone() == (FINGERPRINT_VERSION, None)
