"""Quality gate: replay a generated news world through the Decider and check the scorer's targets.

Uses the shared newsworld tools (skipped when /work/shared is absent); the replay is newsworld_replay's.
"""
from __future__ import annotations

import pytest
from newsworld_replay import NEWSWORLD, SHARED, assert_targets, build_world, metrics, pages, replay

ARTICLES = SHARED / "eval-dev" / "articles.jsonl"
QUERY = ('(xinjiang OR uyghur* OR uighur*) AND (bachelet OR turk OR "high commissioner" OR ohchr '
         'OR "rights chief" OR "rights office" OR "human rights council") '
         'OR (china OR chinese OR beijing) AND (bachelet OR turk OR "high commissioner" OR ohchr '
         'OR "rights chief" OR "rights office")')

pytestmark = pytest.mark.skipif(not (NEWSWORLD / "build.py").exists() or not ARTICLES.exists(),
                                reason="shared newsworld tools not available")


@pytest.mark.parametrize("rng", [7, 123])
def test_dev_world_meets_the_scorer_targets(tmp_path, rng):
    world = build_world(tmp_path / "world", rng, ARTICLES)
    assert_targets(metrics(replay(pages(world, ARTICLES), QUERY)))
