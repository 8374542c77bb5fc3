"""What keeps a pass cheap: one open file per step, a bounded band lookup, a search index rebuilt when due."""
from __future__ import annotations

from pathlib import Path

import subprocess
import sys

import pytest
from conftest import WATCH, article

from warehouse import store
from warehouse.connection import open_reader
from warehouse.search import search
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


def test_a_large_archive_rebuilds_its_search_index_when_it_grew_enough(
        warehouse: Warehouse, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "SEARCH_ALWAYS_REINDEX_BELOW", 10)  # as if 20 articles were a large archive
    _stored_pass(warehouse, [f"https://a.example/{i}" for i in range(20)])
    assert warehouse.unindexed_articles() == 0  # the first index is always built
    _stored_pass(warehouse, ["https://a.example/late"])  # 1 new < 10% of 20: the index waits
    assert warehouse.unindexed_articles() == 1
    _stored_pass(warehouse, ["https://a.example/later", "https://a.example/latest"])  # 3 >= 2: rebuilt
    assert warehouse.unindexed_articles() == 0
    con = open_reader(db_path)
    assert any(hit.url == "https://a.example/late" for hit in search(con, "late", limit=50))
    con.close()


def test_a_small_archive_is_searchable_after_every_pass(warehouse: Warehouse, db_path: Path) -> None:
    _stored_pass(warehouse, [f"https://a.example/{i}" for i in range(20)])
    _stored_pass(warehouse, ["https://a.example/zanzibar"])
    assert warehouse.unindexed_articles() == 0
