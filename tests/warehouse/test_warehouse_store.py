"""The writer's API on a real DuckDB file: batches, URLs, bands, sources, runs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SEEN_AT, WATCH, article

from dedup.types import Document, Fingerprint
from extractors.types import Entry, PollResult, Source, SourceState
from warehouse.arrow import FEW_ROWS
from warehouse.connection import open_reader
from warehouse.errors import WarehouseError
from warehouse.records import RunCounts
from warehouse.store import Warehouse


def _counts(path: Path) -> dict[str, int]:
    con = open_reader(path)
    try:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("article", "article_url", "article_band", "novel_sentence")
        }
    finally:
        con.close()


def _batch():
    return [
        article(
            "https://news.example/bachelet-visit",
            bands=(11, 12, 13, 14),
            aliases=("https://news.example/bachelet-visit?utm_source=rss", "https://amp.news.example/bachelet-visit"),
            novel_sentences=("Bachelet arrived in Guangzhou.", "The visit lasts six days."),
            story_id="https://news.example/bachelet-visit",
            matched_terms=("bachelet", "xinjiang"),
        ),
        article(
            "https://wire.example/copy",
            status="duplicate",
            duplicate_of="https://news.example/bachelet-visit",
            story_id="https://news.example/bachelet-visit",
            similarity=0.93,
            similarity_kind="jaccard",
            bands=(11, 99, 98, 97),
        ),
    ]


def test_writing_the_same_batch_twice_adds_no_rows(warehouse: Warehouse, db_path: Path) -> None:
    first = warehouse.write_batch(WATCH, None, _batch())
    after_first = _counts(db_path)
    second = warehouse.write_batch(WATCH, None, _batch())
    assert _counts(db_path) == after_first == {"article": 2, "article_url": 4, "article_band": 8, "novel_sentence": 2}
    assert first == second


def test_references_within_a_batch_resolve_to_the_ids_assigned(warehouse: Warehouse, db_path: Path) -> None:
    ids = warehouse.write_batch(WATCH, None, _batch())
    original, copy = ids["https://news.example/bachelet-visit"], ids["https://wire.example/copy"]
    con = open_reader(db_path)
    rows = dict(
        (row[0], row[1:]) for row in con.execute("SELECT url, duplicate_of, story_id, matched_terms FROM articles").fetchall()
    )
    con.close()
    assert rows["https://wire.example/copy"][:2] == (original, original)
    assert rows["https://news.example/bachelet-visit"] == (None, original, ["bachelet", "xinjiang"])
    assert copy != original


def test_a_reference_to_nothing_is_refused_and_nothing_is_written(warehouse: Warehouse, db_path: Path) -> None:
    rows = [article("https://a.example/1"), article("https://a.example/2", duplicate_of="https://nowhere.example/")]
    with pytest.raises(WarehouseError, match="nowhere.example"):
        warehouse.write_batch(WATCH, None, rows)
    assert _counts(db_path)["article"] == 0


def test_known_urls_finds_canonical_and_alias_urls_in_one_call(warehouse: Warehouse) -> None:
    ids = warehouse.write_batch(
        WATCH, None, _batch(), aliases=[("https://t.co/abc", "https://news.example/bachelet-visit")]
    )
    original = ids["https://news.example/bachelet-visit"]
    found = warehouse.known_urls(
        WATCH,
        [
            "https://news.example/bachelet-visit",
            "https://amp.news.example/bachelet-visit",
            "https://t.co/abc",
            "https://wire.example/copy",
            "https://unseen.example/",
        ],
    )
    assert found == {
        "https://news.example/bachelet-visit": original,
        "https://amp.news.example/bachelet-visit": original,
        "https://t.co/abc": original,
        "https://wire.example/copy": ids["https://wire.example/copy"],
    }
    assert warehouse.known_urls("another-watch", ["https://t.co/abc"]) == {}


def test_an_alias_of_a_stored_article_is_written_later(warehouse: Warehouse) -> None:
    ids = warehouse.write_batch(WATCH, None, _batch())
    warehouse.write_batch(WATCH, None, [], aliases=[("https://short.example/x", ids["https://wire.example/copy"])])
    assert warehouse.known_urls(WATCH, ["https://short.example/x"]) == {
        "https://short.example/x": ids["https://wire.example/copy"]
    }


def test_a_record_seen_under_a_stored_alias_is_not_stored_again(warehouse: Warehouse, db_path: Path) -> None:
    ids = warehouse.write_batch(WATCH, None, _batch())
    again = warehouse.write_batch(WATCH, None, [article("https://amp.news.example/bachelet-visit")])
    assert again == {"https://amp.news.example/bachelet-visit": ids["https://news.example/bachelet-visit"]}
    assert _counts(db_path)["article"] == 2


def test_band_candidates_need_one_shared_band(warehouse: Warehouse) -> None:
    ids = warehouse.write_batch(
        WATCH,
        None,
        [article("https://a.example/one", bands=(1, 2, 3, 4)), article("https://a.example/two", bands=(5, 6, 7, 8))],
    )
    found = warehouse.band_candidates(
        WATCH,
        [
            ("shares-band-2", (100, 101, 3, 102)),  # band 2 equals article one's band 2
            ("same-hash-other-band", (3, 100, 100, 100)),  # hash 3 but in band 0: no match
            ("shares-none", (0, 0, 0, 0)),
        ],
    )
    assert [a.id for a in found["shares-band-2"]] == [ids["https://a.example/one"]]
    assert found["shares-band-2"][0].title == "Title of https://a.example/one"
    assert found["same-hash-other-band"] == []
    assert found["shares-none"] == []
    assert warehouse.band_candidates("another-watch", [("k", (1, 2, 3, 4))]) == {"k": []}


def test_band_matches_give_ids_and_stored_articles_the_rows(warehouse: Warehouse) -> None:
    ids = warehouse.write_batch(
        WATCH,
        None,
        [article("https://a.example/one", bands=(1, 2, 3, 4)), article("https://a.example/two", bands=(1, 6, 7, 8))],
    )
    one, two = ids["https://a.example/one"], ids["https://a.example/two"]
    matches = warehouse.band_matches(WATCH, [("both", (1, 0, 0, 0)), ("two", (0, 6, 0, 0)), ("none", (9, 9, 9, 9))])
    assert matches == {"both": sorted([one, two]), "two": [two], "none": []}
    rows = warehouse.stored_articles([two, 10_000_000])  # an unknown id is left out
    assert list(rows) == [two]
    assert (rows[two].url, rows[two].title) == ("https://a.example/two", "Title of https://a.example/two")
    assert warehouse.stored_articles([]) == {}


def test_stored_documents_are_the_seeds_and_updates(warehouse: Warehouse) -> None:
    warehouse.write_batch(
        WATCH,
        None,
        [
            article("https://a.example/seed", status="seed"),
            article("https://a.example/new"),
            article("https://a.example/dup", status="duplicate", duplicate_of="https://a.example/new"),
            article("https://a.example/off", status="irrelevant"),
        ],
    )
    stored = warehouse.stored_documents(WATCH)
    assert [s.url for s in stored] == ["https://a.example/seed", "https://a.example/new"]
    document = stored[0].to_document()
    assert isinstance(document, Document) and document.key == str(stored[0].id) and document.status == "seed"


def test_ensure_seed_stores_the_seed_once(warehouse: Warehouse, db_path: Path) -> None:
    doc = Document(key="seed", title="Bachelet seeks access to Xinjiang", text="The UN rights chief ...")
    fingerprint = Fingerprint(content_hash="abc", minhash=(1, 2), bands=(7, 8))
    first = warehouse.ensure_seed(WATCH, doc, fingerprint, "file:///seed.txt")
    second = warehouse.ensure_seed(WATCH, doc, fingerprint, "file:///seed.txt")
    assert first == second
    assert _counts(db_path)["article"] == 1
    assert [a.status for a in warehouse.band_candidates(WATCH, [("k", (7, 0))])["k"]] == ["seed"]
    assert warehouse.articles_by_content_hash(WATCH, ["abc", "zzz"]) == {"abc": first}


def _poll(url: str, status: str, **fields) -> PollResult:
    return PollResult(source=Source(url, name="feed"), status=status, **fields)


def test_record_polls_keeps_validators_counts_failures_and_entries(warehouse: Warehouse, db_path: Path) -> None:
    feed = "https://feeds.example/rss"
    entry = Entry(source_url=feed, link="https://a.example/1")
    t0 = datetime(2022, 6, 1, tzinfo=timezone.utc)
    warehouse.record_polls(WATCH, [_poll(feed, "ok", entries=(entry, entry), etag='"v1"', http_status=200)], t0)
    warehouse.record_polls(WATCH, [_poll(feed, "not_modified", http_status=304)], t0 + timedelta(hours=1))
    assert warehouse.source_states(WATCH, [feed])[feed] == SourceState(etag='"v1"', consecutive_failures=0)

    retry = t0 + timedelta(hours=5)
    for hour in (2, 3):
        warehouse.record_polls(
            WATCH, [_poll(feed, "error", error="HTTP 503", http_status=503, retry_after=retry)], t0 + timedelta(hours=hour)
        )
    state = warehouse.source_states(WATCH, [feed, "https://new.example/rss"])
    assert state[feed] == SourceState(etag='"v1"', consecutive_failures=2, retry_after=retry)
    assert state["https://new.example/rss"] == SourceState()

    con = open_reader(db_path)
    row = con.execute(
        "SELECT last_status, last_error, last_success_at, entries_seen FROM sources WHERE url = ?", [feed]
    ).fetchone()
    con.close()
    assert row == ("error", "HTTP 503", t0 + timedelta(hours=1), 2)

    warehouse.record_polls(WATCH, [_poll(feed, "ok", entries=(entry,), etag='"v2"')], t0 + timedelta(hours=6))
    assert warehouse.source_states(WATCH, [feed])[feed] == SourceState(etag='"v2"', consecutive_failures=0)


@pytest.mark.parametrize("count", [3, FEW_ROWS + 8])
def test_few_and_many_sources_are_recorded_and_read_back_alike(warehouse: Warehouse, db_path: Path,
                                                               count: int) -> None:
    # Up to FEW_ROWS rows go through a temporary table, more through Arrow: the same rows either way.
    feeds = [f"https://feeds{i}.example/rss" for i in range(count)]
    t0 = datetime(2022, 8, 31, 12, tzinfo=timezone.utc)
    polls = [_poll(url, "error", error="HTTP 503", http_status=503, retry_after=t0 + timedelta(hours=i))
             if i % 2 else _poll(url, "ok", etag=f'"e{i}"', last_modified="Wed, 31 Aug 2022 12:00:00 GMT",
                                 http_status=200, entries=(Entry(source_url=url, link=f"{url}/{i}"),))
             for i, url in enumerate(feeds)]
    warehouse.record_polls(WATCH, polls, t0)
    states = warehouse.source_states(WATCH, [*feeds, "https://unknown.example/rss"])
    assert states == {
        **{url: SourceState(consecutive_failures=1, retry_after=t0 + timedelta(hours=i)) if i % 2 else
           SourceState(etag=f'"e{i}"', last_modified="Wed, 31 Aug 2022 12:00:00 GMT") for i, url in enumerate(feeds)},
        "https://unknown.example/rss": SourceState(),
    }
    with open_reader(db_path) as con:
        rows = con.execute("SELECT count(*), sum(entries_seen), count(last_success_at), max(http_status) "
                           "FROM sources").fetchone()
    assert rows == (count, (count + 1) // 2, (count + 1) // 2, 503)

    run_id = warehouse.start_run(WATCH)
    stored = [article(f"https://news.example/{i}", title=f"Report {i}") for i in range(count)]
    warehouse.write_batch(WATCH, run_id, stored)
    wanted = [a.url for a in stored[::2]] + ["https://news.example/never"]
    assert sorted(warehouse.known_urls(WATCH, wanted)) == sorted(a.url for a in stored[::2])


def test_a_run_is_recorded_with_its_counts(warehouse: Warehouse, db_path: Path) -> None:
    run_id = warehouse.start_run(WATCH)
    warehouse.write_batch(WATCH, run_id, [article("https://a.example/1", title="Council vote on Xinjiang")])
    warehouse.finish_run(run_id, RunCounts(sources_ok=2, entries=5, new=1), "completed")
    con = open_reader(db_path)
    row = con.execute("SELECT status, sources_ok, entries, new, finished_at IS NOT NULL FROM runs").fetchone()
    article_run = con.execute("SELECT run_id FROM articles").fetchone()[0]
    con.close()
    assert row == ("completed", 2, 5, 1, True)
    assert article_run == run_id
    with pytest.raises(WarehouseError, match="unknown run counts"):
        warehouse.finish_run(run_id, {"novel": 1})


def test_naive_times_are_stored_as_utc(warehouse: Warehouse, db_path: Path) -> None:
    warehouse.write_batch(WATCH, None, [article("https://a.example/1", published_at=datetime(2022, 8, 31, 23, 0))])
    con = open_reader(db_path)
    published, seen = con.execute("SELECT published_at, first_seen_at FROM articles").fetchone()
    con.close()
    assert published == datetime(2022, 8, 31, 23, 0, tzinfo=timezone.utc)
    assert seen == SEEN_AT


def test_one_record_of_polls_updates_known_sources_and_adds_new_ones(warehouse: Warehouse, db_path: Path) -> None:
    known, new = "https://known.example/rss", "https://new.example/rss"
    t0 = datetime(2022, 9, 1, tzinfo=timezone.utc)
    warehouse.record_polls(WATCH, [_poll(known, "ok", etag='"k1"', http_status=200)], t0)
    warehouse.record_polls("other-watch", [_poll(known, "ok", etag='"other"', http_status=200)], t0)

    warehouse.record_polls(WATCH, [_poll(known, "not_modified", http_status=304),
                                   _poll(new, "error", error="HTTP 500", http_status=500)], t0 + timedelta(hours=1))

    states = warehouse.source_states(WATCH, [known, new])
    assert states == {known: SourceState(etag='"k1"'), new: SourceState(consecutive_failures=1)}
    assert warehouse.source_states("other-watch", [known])[known] == SourceState(etag='"other"')
    with open_reader(db_path) as con:
        rows = con.execute("SELECT watch, url, last_status, http_status, last_checked_at FROM sources "
                           "ORDER BY watch, url").fetchall()
    assert rows == [
        (WATCH, known, "not_modified", 304, t0 + timedelta(hours=1)),
        (WATCH, new, "error", 500, t0 + timedelta(hours=1)),
        ("other-watch", known, "ok", 200, t0),
    ]
