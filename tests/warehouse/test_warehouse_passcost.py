"""What keeps a pass cheap: one open file per step, a bounded band lookup, a search index that grows with each pass."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import WATCH, article

from dedup.types import Document, Fingerprint
from warehouse import search as search_module
from warehouse import store
from warehouse.connection import open_reader
from warehouse.search import load_fts, search
from warehouse.store import Warehouse


def _reader_in_another_process(db_path: Path) -> str:
    code = ("import sys\nfrom warehouse.connection import open_reader\nfrom warehouse.errors import WarehouseBusyError\n"
            "try:\n    open_reader(sys.argv[1], wait_seconds=0).close()\nexcept WarehouseBusyError:\n"
            "    print('busy')\nelse:\n    print('read')\n")
    done = subprocess.run([sys.executable, "-c", code, str(db_path)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    return done.stdout.strip() or done.stderr


def test_a_session_keeps_one_connection_and_lets_readers_in_after_it(db_path: Path) -> None:
    warehouse = Warehouse(db_path, migrate_now=False)
    with warehouse.session():
        run_id = warehouse.start_run(WATCH)
        ids = warehouse.reserve_ids(2)
        warehouse.write_batch(WATCH, run_id, [article("https://a.example/one", id=ids[0])])
        assert warehouse.known_urls(WATCH, ["https://a.example/one"]) == {"https://a.example/one": ids[0]}
        assert _reader_in_another_process(db_path) == "busy"  # the file is held for the whole session
    assert _reader_in_another_process(db_path) == "read"  # and released at its end
    con = open_reader(db_path)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    con.close()


def test_a_failed_step_in_a_session_rolls_back_only_that_step(warehouse: Warehouse, db_path: Path) -> None:
    with warehouse.session():
        warehouse.write_batch(WATCH, None, [article("https://a.example/kept")])
        with pytest.raises(Exception):
            warehouse.write_batch(WATCH, None, [article("https://a.example/bad", duplicate_of="https://nowhere")])
        warehouse.write_batch(WATCH, None, [article("https://a.example/after")])
    assert set(warehouse.known_urls(WATCH, ["https://a.example/kept", "https://a.example/bad",
                                            "https://a.example/after"])) == {"https://a.example/kept",
                                                                             "https://a.example/after"}


def test_band_candidates_look_only_at_the_most_recent_articles(warehouse: Warehouse) -> None:
    old = warehouse.write_batch(WATCH, None, [article("https://a.example/old", bands=(1, 2))])
    warehouse.write_batch(WATCH, None, [article(f"https://a.example/{i}", bands=(100 + i, 200 + i)) for i in range(5)])
    probe = [("copy-of-old", (1, 999))]
    assert warehouse.band_candidates(WATCH, probe, window=5)["copy-of-old"] == []
    assert [a.id for a in warehouse.band_candidates(WATCH, probe, window=6)["copy-of-old"]] == list(old.values())
    assert [a.id for a in warehouse.band_candidates(WATCH, probe, window=None)["copy-of-old"]] == list(old.values())


def _stored_pass(warehouse: Warehouse, urls: list[str]) -> None:
    run_id = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, run_id, [article(u, title=f"Bachelet visit {u}") for u in urls])
    warehouse.finish_run(run_id, {"new": len(urls)})


WORDS = ("Bachelet Xinjiang Uyghur detention camps Geneva Council vote assessment access visit China "
         "rights crimes against humanity report delayed Türk successor Beijing Ürümqi évaluation 2022 31 "
         "the of and to a in is was were has been will would could").split()


def _text(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(w + rng.choice(("", "", ",", ".", "'s", "-")) for w in words)


def _scores(con, queries: list[str]) -> dict[str, list[tuple[int, float]]]:
    return {q: con.execute("SELECT id, score FROM (SELECT id, fts_main_article.match_bm25(id, ?) AS score FROM article) "
                           "WHERE score IS NOT NULL ORDER BY id", [q]).fetchall() for q in queries}


@pytest.mark.parametrize("chunk", [search_module.INDEX_CHUNK, 5])
def test_each_pass_adds_its_articles_to_the_index_with_the_scores_of_a_rebuild(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(search_module, "INDEX_CHUNK", chunk)  # 5: a pass's articles added in several chunks
    rng = random.Random(7)
    passes = [[article(f"https://a.example/{p}-{i}", title=_text(rng, 6), text=_text(rng, rng.randint(0, 80)))
               for i in range(12)] for p in range(3)]
    passes[2][0] = article("https://a.example/untitled", title=None, text="")  # nothing to index, still a doc
    for batch in passes:
        run_id = warehouse.start_run(WATCH)
        warehouse.write_batch(WATCH, run_id, batch[:5])
        warehouse.write_batch(WATCH, run_id, batch[5:])
        assert warehouse.unindexed_articles() == len(batch)
        warehouse.finish_run(run_id, {"new": len(batch)})  # the first pass builds the index, the others add to it
        assert warehouse.unindexed_articles() == 0
    seed = warehouse.ensure_seed(WATCH, Document(key="seed", title="Bachelet in Xinjiang", text=_text(rng, 40)),
                                 Fingerprint(content_hash="s", minhash=(1,), bands=(1,)), "file:///seed.txt")
    run_id = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, run_id, [article("https://a.example/last", title="Xinjiang report", text="Camps.")])
    warehouse.finish_run(run_id, {"new": 1})
    assert warehouse.unindexed_articles() == 0

    queries = ["Xinjiang", "crimes against humanity", "Türk visit", "evaluation urumqi", "the", "camps 2022"]
    with warehouse.transaction() as con:
        load_fts(con)
        incremental = _scores(con, queries)
        df = con.execute("SELECT term, df FROM fts_main_article.dict ORDER BY term").fetchall()
        stats = con.execute("SELECT num_docs, avgdl FROM fts_main_article.stats").fetchone()
    warehouse.rebuild_search_index()
    with warehouse.transaction() as con:
        load_fts(con)
        rebuilt = _scores(con, queries)
        assert con.execute("SELECT term, df FROM fts_main_article.dict ORDER BY term").fetchall() == df
        assert con.execute("SELECT num_docs, avgdl FROM fts_main_article.stats").fetchone() == pytest.approx(stats)
    assert any(seed == i for i, _ in incremental["Xinjiang"])
    for q in queries:
        assert [i for i, _ in incremental[q]] == [i for i, _ in rebuilt[q]], q
        assert [s for _, s in incremental[q]] == pytest.approx([s for _, s in rebuilt[q]], rel=1e-9), q


def test_a_small_archive_is_searchable_after_every_pass(warehouse: Warehouse, db_path: Path) -> None:
    _stored_pass(warehouse, [f"https://a.example/{i}" for i in range(20)])
    _stored_pass(warehouse, ["https://a.example/zanzibar"])
    assert warehouse.unindexed_articles() == 0


def test_a_failed_index_update_leaves_the_pass_completed_and_the_next_pass_catches_up(
        warehouse: Warehouse, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(con, parts=None):
        raise duckdb.IOException("disk full")

    run_id = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, run_id, [article(f"https://a.example/{i}", title=f"Türk visit {i}") for i in range(3)])
    with monkeypatch.context() as patched:
        patched.setattr(store, "index_new_articles", broken)
        warehouse.finish_run(run_id, {"new": 3})
    assert warehouse.unindexed_articles() == 3
    with open_reader(db_path) as con:
        assert con.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone() == ("completed",)
        assert len(search(con, "Türk visit", limit=10)) == 3  # found word by word meanwhile
    later = warehouse.start_run(WATCH)  # stores nothing new, still brings the index up to date
    warehouse.finish_run(later, {})
    assert warehouse.unindexed_articles() == 0


def _row_group_blocks(db_path: Path, row_group: int) -> set[int]:
    con = open_reader(db_path)
    try:
        return {row[0] for row in con.execute(
            "SELECT block_id FROM pragma_storage_info('article') WHERE row_group_id = ? AND block_id IS NOT NULL",
            [row_group]).fetchall()}
    finally:
        con.close()


def test_a_batch_written_into_the_archive_leaves_the_stored_articles_unwritten(warehouse: Warehouse,
                                                                               db_path: Path) -> None:
    # DuckDB rewrites the last row group of an indexed table at each checkpoint (each batch, when the
    # file closes): 2 s a batch at 100,000 stored articles. `article` has no index, so a batch's rows
    # land in a row group of their own and the archive's blocks stay as they were.
    text = " ".join(f"word{i % 997}" for i in range(400))
    run = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, run, [article(f"https://old.example/{i}", text=f"{i} {text}") for i in range(3000)])
    archive = _row_group_blocks(db_path, 0)
    assert archive
    for batch in range(3):
        warehouse.write_batch(WATCH, run, [article(f"https://new.example/{batch}/{i}", text=f"{i} {text}")
                                           for i in range(64)])
    assert _row_group_blocks(db_path, 0) == archive
    con = open_reader(db_path)
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM article").fetchone() == (3192, 3192)
    con.close()
