"""Search is never stale: articles stored since the last index build are found too."""
from __future__ import annotations

from datetime import datetime, timezone

from warehouse.records import ArticleRecord
from warehouse.search import search
from warehouse.store import Warehouse

NOW = datetime(2022, 9, 1, tzinfo=timezone.utc)


def _article(n: int, title: str, text: str) -> ArticleRecord:
    return ArticleRecord(watch="w", url=f"https://example.org/{n}", status="new", first_seen_at=NOW,
                         title=title, text=text)


def test_an_article_stored_after_the_index_was_built_is_found(tmp_path):
    wh = Warehouse(tmp_path / "nw.duckdb")
    wh.write_batch("w", None, [_article(i, f"Market report {i}", "Shares rose and fell in quiet trading.")
                               for i in range(20)])
    wh.rebuild_search_index()
    wh.write_batch("w", None, [_article(100, "Council rejects Xinjiang debate",
                                        "The Human Rights Council voted against a debate on Xinjiang.")])
    with wh.transaction() as con:
        hits = search(con, "Xinjiang debate", limit=3)
        assert [h.title for h in hits] == ["Council rejects Xinjiang debate"]
        assert "Xinjiang" in hits[0].snippet
        # Indexed and fresh articles rank together, best first.
        mixed = search(con, "market report xinjiang", limit=25)
    assert len(mixed) == 21 and len({h.id for h in mixed}) == 21
    assert [h.score for h in mixed] == sorted((h.score for h in mixed), reverse=True)


def test_articles_are_found_before_any_index_was_built(tmp_path):
    wh = Warehouse(tmp_path / "nw.duckdb")
    wh.write_batch("w", None, [_article(1, "Council rejects Xinjiang debate", "The vote was close."),
                               _article(2, "Market report", "Shares rose in quiet trading.")])
    with wh.transaction() as con:
        hits = search(con, "xinjiang vote", limit=5)
    assert [h.title for h in hits] == ["Council rejects Xinjiang debate"]
