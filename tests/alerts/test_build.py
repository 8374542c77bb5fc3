"""Building digests from a real warehouse: grouping by story, copies, counts, empty periods, limits."""
from __future__ import annotations

from datetime import timedelta

from alerts_world import NOW, SCRIPT_TITLE, WATCH, add_update

from alerts import build_digest, digest_id


def test_updates_grouped_by_story_newest_first(world_db, reader):
    _, world = world_db
    digest = build_digest(reader, WATCH, now=NOW)
    assert [story.story_id for story in digest.stories] == [world.vote, world.visit]
    visit_story = digest.stories[1]
    assert visit_story.title == "Bachelet arrives in China for long-sought visit"
    assert [item.article_id for item in visit_story.items] == [world.assessment, world.visit]


def test_digest_lists_every_update_and_nothing_else(world_db, reader):
    path, world = world_db
    digest = build_digest(reader, WATCH, now=NOW)
    updates = {row[0] for row in reader.execute("SELECT id FROM updates").fetchall()}
    assert {item.article_id for item in digest.items} == updates
    assert not {world.seed, world.seed_copy, world.off_topic, world.broken} & digest.covered_ids


def test_copies_listed_once_per_other_outlet(world_db, reader):
    _, world = world_db
    visit = next(item for item in build_digest(reader, WATCH, now=NOW).items if item.article_id == world.visit)
    # The AMP page is the same outlet; the copy of a copy still counts for the original update.
    assert [(c.article_id, c.outlet) for c in visit.copies] == [
        (world.visit_copy, "Harbor Times"), (world.visit_copy_of_copy, "Northern Ledger"),
    ]


def test_whats_new_is_novel_sentences_else_an_extract(world_db, reader):
    _, world = world_db
    items = {item.article_id: item for item in build_digest(reader, WATCH, now=NOW).items}
    assert items[world.visit].novel_sentences[0].startswith("Michelle Bachelet arrived in Guangzhou")
    assert items[world.visit].extract == ""
    vote = items[world.vote]
    assert vote.novel_sentences == ()
    assert vote.extract.startswith("The Human Rights Council voted 19 to 17")
    assert len(vote.extract) <= 280


def test_header_counts(world_db, reader):
    digest = build_digest(reader, WATCH, now=NOW)
    assert (digest.counts.updates, digest.counts.copies_suppressed, digest.counts.off_topic,
            digest.counts.sources_failing) == (3, 4, 1, 1)
    assert digest.failing_sources[0].name == "Dead feed"
    assert digest.watch == digest.title == WATCH


def test_empty_period(world_db, reader):
    digest = build_digest(reader, WATCH, since=NOW - timedelta(hours=1), now=NOW)
    assert digest.is_empty
    assert digest.stories == ()
    assert (digest.counts.updates, digest.counts.copies_suppressed, digest.counts.off_topic) == (0, 0, 0)
    assert digest.counts.sources_failing == 1  # a failing source is news even in a quiet period


def test_excluded_articles_are_left_out(world_db, reader):
    _, world = world_db
    digest = build_digest(reader, WATCH, exclude_ids={world.visit, world.assessment}, now=NOW)
    assert [item.article_id for item in digest.items] == [world.vote]
    assert digest.items[0].title == SCRIPT_TITLE


def test_max_updates_keeps_the_newest_and_accounts_for_the_rest(world_db, reader):
    _, world = world_db
    digest = build_digest(reader, WATCH, max_updates=1, now=NOW)
    assert [item.article_id for item in digest.items] == [world.vote]
    assert set(digest.omitted_ids) == {world.assessment, world.visit}
    assert digest.counts.updates == 3
    assert digest.covered_ids == {world.vote, world.assessment, world.visit}


def test_digest_id_depends_only_on_watch_and_articles(world_db, reader):
    first = build_digest(reader, WATCH, now=NOW)
    again = build_digest(reader, WATCH, now=NOW + timedelta(days=3))
    assert first.id == again.id == digest_id(WATCH, first.covered_ids)
    assert digest_id(WATCH, [1, 2]) != digest_id("another-watch", [1, 2])


def test_titles_with_line_breaks_become_one_line(world_db):
    import duckdb

    path, world = world_db
    con = duckdb.connect(str(path))
    add_update(con, title="Line one\r\nBcc: victim@example.org\n", url="https://x.example/crlf", site="X",
               published=NOW - timedelta(days=1), seen=NOW - timedelta(hours=2))
    digest = build_digest(con, WATCH, since=NOW - timedelta(hours=3), now=NOW)
    con.close()
    assert digest.items[0].title == "Line one Bcc: victim@example.org"


def test_title_is_not_repeated_as_a_novel_sentence(world_db):
    import duckdb

    path, _ = world_db
    con = duckdb.connect(str(path))
    add_update(con, title="Türk follows up", url="https://x.example/turk", site="X", published=NOW,
               seen=NOW - timedelta(hours=1), novel=("Türk follows up", "Volker Türk met officials in Beijing."))
    digest = build_digest(con, WATCH, since=NOW - timedelta(hours=2), now=NOW)
    con.close()
    assert digest.items[0].novel_sentences == ("Volker Türk met officials in Beijing.",)
