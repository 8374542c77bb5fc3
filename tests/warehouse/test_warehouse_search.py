"""Full-text search over stored articles, ranked by BM25."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import WATCH, article

from warehouse.connection import open_reader
from warehouse.search import search, snippet
from warehouse.store import Warehouse

ARTICLES = [
    ("https://a.example/seed", "seed", "Bachelet seeks access to Xinjiang",
     "UN human rights chief Michelle Bachelet said she is still negotiating unfettered access to China."),
    ("https://a.example/visit", "new", "Bachelet begins visit to China's Xinjiang region",
     "The UN High Commissioner arrived in Guangzhou on Monday for a six-day visit, the first in 17 years."),
    ("https://a.example/report", "new", "UN report finds possible crimes against humanity in Xinjiang",
     "The assessment published on 31 August 2022 found serious human rights violations."),
    ("https://a.example/vote", "new", "Human Rights Council rejects debate on Xinjiang report",
     "Members voted 19 to 17 against holding a debate, with 11 abstentions."),
    ("https://a.example/football", "irrelevant", "Local club wins the cup final",
     "A late goal settled the match in front of a full stadium."),
]


@pytest.fixture
def indexed(warehouse: Warehouse, db_path: Path) -> Path:
    run_id = warehouse.start_run(WATCH)
    warehouse.write_batch(
        WATCH, run_id, [article(url, status=status, title=title, text=text) for url, status, title, text in ARTICLES]
    )
    warehouse.finish_run(run_id, {"new": 3})  # adds the pass's articles to the index
    return db_path


def _search(path: Path, query: str, **options):
    con = open_reader(path)
    try:
        return search(con, query, **options)
    finally:
        con.close()


@pytest.mark.parametrize(
    "phrase, url",
    [
        ("crimes against humanity", "https://a.example/report"),
        ("Council rejects debate", "https://a.example/vote"),
        ("begins visit", "https://a.example/visit"),
    ],
)
def test_a_phrase_from_a_title_finds_the_article_in_the_top_three(indexed: Path, phrase: str, url: str) -> None:
    assert url in [hit.url for hit in _search(indexed, phrase, limit=3)]


def test_search_filters_by_status_and_limits(indexed: Path) -> None:
    hits = _search(indexed, "Xinjiang", status="new", limit=2)
    assert len(hits) == 2 and {h.status for h in hits} == {"new"}
    assert _search(indexed, "cup final", status="new") == []


def test_search_shows_a_snippet_around_the_match(indexed: Path) -> None:
    hit = _search(indexed, "abstentions")[0]
    assert hit.url == "https://a.example/vote" and "abstentions" in hit.snippet


def test_search_before_anything_was_indexed_finds_nothing(warehouse: Warehouse, db_path: Path) -> None:
    assert _search(db_path, "Xinjiang") == []


def test_snippet_is_a_window_around_the_first_match() -> None:
    text = "word " * 100 + "Xinjiang is mentioned here " + "filler " * 100
    piece = snippet(text, "xinjiang", width=60)
    assert "Xinjiang" in piece and piece.startswith("…") and piece.endswith("…") and len(piece) <= 62
