"""Held-out quality gate: a news world built from our own labeled corpus, replayed through the Decider.

The dev world (test_dedup_newsworld.py) is what the thresholds were tuned on; this corpus
(fixtures/holdout/articles.jsonl) shares no article, event angle or sentence with it, so it checks
that the decisions carry over to stories the rules were not written for. The replay follows the
pipeline: pages are extracted with trafilatura, titles come from the feed entry, a page behind a
wall is judged on its feed summary, reports are decided oldest first (ties by URL), and stored
articles are looked up by LSH band. Skipped when /work/shared (which holds the world builder) is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from newsworld_replay import NEWSWORLD, REPO, assert_targets, build_world, metrics, pages, replay

from dedup import parse_query

ARTICLES = Path(__file__).resolve().parent / "fixtures" / "holdout" / "articles.jsonl"
WATCH = REPO / "watches" / "bachelet-xinjiang" / "watch.toml"

pytestmark = pytest.mark.skipif(not (NEWSWORLD / "build.py").exists(), reason="shared newsworld tools not available")


def _watch_query() -> str:
    import tomllib

    return tomllib.loads(WATCH.read_text(encoding="utf-8"))["watch"]["query"]


def test_holdout_corpus_is_labeled_like_eval_dev():
    rows = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = {"id", "title", "published", "author", "outlet", "paragraphs", "label", "hard", "note"}
    assert all(set(r) == keys and r["id"].startswith("h-") and 5 <= len(r["paragraphs"]) <= 7 for r in rows)
    labels = [r["label"] for r in rows]
    assert labels.count("relevant") >= 8 and labels.count("same_event_as_seed") == 2
    assert sum(1 for r in rows if r["hard"]) >= 6 and all(r["label"] == "irrelevant" for r in rows if r["hard"])


@pytest.mark.parametrize("rng", [7, 123, 2024])
def test_holdout_world_meets_the_scorer_targets(tmp_path, rng):
    world = build_world(tmp_path / "world", rng, ARTICLES)
    assert_targets(metrics(replay(pages(world, ARTICLES), _watch_query())))


def test_hrc_business_that_merely_lists_china_among_voters_misses_the_watch_query():
    # The held-out Iran special session: Türk speaks, China votes against, in different sentences.
    iran = ("The resolution passed with 25 votes in favour and six against, including China and Pakistan, "
            "while 16 members abstained.\nVolker Türk, the UN High Commissioner for Human Rights, told the "
            "session that Iran was in a full-fledged human rights crisis.")
    call = ("Chinese President Xi Jinping spoke by video link on Wednesday with the UN High Commissioner "
            "for Human Rights, and state media presented the exchange as a vindication.")
    query = parse_query(_watch_query())
    assert not query.match("UN rights council orders inquiry into Iran's crackdown", iran).matched
    assert query.match("Xi speaks to visiting UN rights chief", call).matched


@pytest.mark.parametrize(("query", "text", "expected"), [
    ("china NEAR/3 bachelet", "Bachelet urged China to act.", True),          # either order
    ("china NEAR/3 bachelet", "China, said the envoy of Chile, told Bachelet.", False),  # 6 words apart
    ("china NEAR/10 bachelet", "China voted against. Bachelet spoke.", False),  # never across sentences
    ("china NEAR/10 bachelet", "China voted no\nBachelet spoke", False),      # nor paragraphs
    ('(china OR beijing) NEAR/3 "rights chief"', "Beijing and the UN rights chief met.", True),
    ("uyghur* NEAR/0 groups", "Uyghurs groups", True),
    ("NOT china NEAR/5 bachelet", "Bachelet urged China to act.", False),     # NEAR binds tighter than NOT
    ("a NEAR/1 b OR c", "c", True),
])
def test_near_needs_both_sides_in_one_sentence_within_the_distance(query, text, expected):
    assert parse_query(query).match("", text).matched is expected


@pytest.mark.parametrize(("query", "message"), [
    ("china NEAR bachelet", "write NEAR/n"),
    ("china NEAR/3", "expected a term after NEAR/3"),
    ("(a b) NEAR/3 c", "a term or an OR of terms"),
    ("a NEAR/2 b NEAR/2 c", "NEAR joins two terms"),
])
def test_near_errors_say_what_to_write(query, message):
    from dedup import QueryError

    with pytest.raises(QueryError, match=message):
        parse_query(query)
