"""A small warehouse for digest tests: a seed and its copies, two stories, off-topic noise, a failing source."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from warehouse.schema import migrate

WATCH = "bachelet-xinjiang"
SCRIPT_TITLE = 'Council vote <script>alert("x")</script> & *stars* [link](javascript:alert(1)) _under_ `tick`'
# Everything below was first seen on this day; digests are built "now" = one day later.
SEEN = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
NOW = SEEN + timedelta(days=1)


@dataclass(frozen=True)
class World:
    """Ids of the fixture articles."""

    seed: int
    seed_copy: int
    visit: int  # update, story of its own
    visit_copy: int  # another outlet's copy of the visit
    visit_amp: int  # the same outlet's AMP page: a copy, not another outlet
    visit_copy_of_copy: int  # a copy whose duplicate_of points at a copy
    assessment: int  # update in the visit's story
    vote: int  # update with a hostile title, no novel sentences
    off_topic: int
    broken: int


def insert_article(con: duckdb.DuckDBPyConnection, **values) -> int:
    """Insert one `article` row with sensible defaults; return its id."""
    row = {"watch": WATCH, "status": "new", "first_seen_at": SEEN, "text": "", "text_source": "page"} | values
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return con.execute(f"INSERT INTO article ({columns}) VALUES ({marks}) RETURNING id", list(row.values())).fetchone()[0]


def add_update(con: duckdb.DuckDBPyConnection, *, title: str, url: str, site: str, published: datetime,
               story_id: int | None = None, novel: tuple[str, ...] = (), text: str = "", seen: datetime = SEEN) -> int:
    """An update (status new) with its novel sentences."""
    article_id = insert_article(con, title=title, url=url, site=site, published_at=published, text=text,
                                first_seen_at=seen)
    con.execute("UPDATE article SET story_id = ? WHERE id = ?", [story_id or article_id, article_id])
    for position, sentence in enumerate(novel):
        con.execute("INSERT INTO novel_sentence VALUES (?, ?, ?)", [article_id, position, sentence])
    return article_id


def build_world(path: Path) -> World:
    """Create and fill the warehouse at `path`."""
    con = duckdb.connect(str(path))
    try:
        migrate(con)
        seed = insert_article(con, status="seed", title="UN rights chief says Xinjiang access still not agreed",
                              url="https://seed.example/bachelet", site="Seed Post", text_source="seed",
                              published_at=datetime(2021, 9, 14, tzinfo=timezone.utc))
        con.execute("UPDATE article SET story_id = id WHERE id = ?", [seed])
        seed_copy = insert_article(con, status="duplicate", duplicate_of=seed, story_id=seed,
                                   title="UN rights chief says Xinjiang access still not agreed (syndicated)",
                                   url="https://copycat.example/bachelet", site="Copycat Daily")
        visit = add_update(
            con, title="Bachelet arrives in China for long-sought visit", url="https://lakemont.example/visit",
            site="Lakemont Wire", published=datetime(2022, 5, 23, 9, 0, tzinfo=timezone.utc),
            novel=("Michelle Bachelet arrived in Guangzhou on Monday for a six-day visit.",
                   "It is the first visit by a UN High Commissioner for Human Rights since 2005."),
        )
        visit_copy = insert_article(con, status="duplicate", duplicate_of=visit, story_id=visit,
                                    title="Bachelet arrives in China", url="https://harbor.example/bachelet-china",
                                    site="Harbor Times", published_at=datetime(2022, 5, 23, 11, tzinfo=timezone.utc))
        visit_amp = insert_article(con, status="duplicate", duplicate_of=visit, story_id=visit,
                                   title="Bachelet arrives in China for long-sought visit",
                                   url="https://lakemont.example/amp/visit", site="Lakemont Wire")
        visit_copy_of_copy = insert_article(con, status="duplicate", duplicate_of=visit_copy, story_id=visit,
                                            title="Bachelet in China", url="https://northern.example/visit",
                                            site="Northern Ledger")
        assessment = add_update(
            con, title="UN office publishes Xinjiang assessment minutes before mandate ends",
            url="https://geneva.example/assessment", site="Geneva Courier",
            published=datetime(2022, 8, 31, 23, 50, tzinfo=timezone.utc), story_id=visit,
            novel=("The report says serious human rights violations have been committed in Xinjiang.",),
        )
        vote = add_update(
            con, title=SCRIPT_TITLE, url="https://ridge.example/vote?a=1&b=<2>", site="Ridge <b>Review</b>",
            published=datetime(2022, 10, 6, 15, 0, tzinfo=timezone.utc),
            text="The Human Rights Council voted 19 to 17 against holding a debate on the report. " * 8,
        )
        off_topic = insert_article(con, status="irrelevant", title="Bachelet speaks on Chile's new constitution",
                                   url="https://andes.example/chile", site="Andes Today")
        broken = insert_article(con, status="error", url="https://dead.example/x", error="HTTP 404")
        con.execute(
            "INSERT INTO source (watch, url, name, last_status, last_error, consecutive_failures) VALUES"
            " (?, 'https://wire.example/feed', 'Wire', 'ok', NULL, 0),"
            " (?, 'https://dead.example/feed', 'Dead feed', 'error', 'HTTP 500 from the server', 3)",
            [WATCH, WATCH],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return World(seed, seed_copy, visit, visit_copy, visit_amp, visit_copy_of_copy, assessment, vote, off_topic, broken)
