"""How a pass cuts its pages into batches: every page once, in order, and a short last batch."""
from __future__ import annotations

import pytest

from flows.monitor import BATCH_SIZE, TAIL_BATCHES, split_batches


@pytest.mark.parametrize("count", [0, 1, 31, 64, 100, BATCH_SIZE, BATCH_SIZE + 1, BATCH_SIZE + 40, 1000, 2000])
def test_every_page_lands_in_one_batch_in_order(count: int) -> None:
    batches = split_batches(list(range(count)))
    assert [page for batch in batches for page in batch] == list(range(count))
    assert all(batches)
    assert all(len(batch) < BATCH_SIZE + TAIL_BATCHES[-1] for batch in batches)


@pytest.mark.parametrize("count", [BATCH_SIZE, 1000, 2000])
def test_a_long_pass_ends_with_the_small_tail_batches(count: int) -> None:
    sizes = [len(batch) for batch in split_batches(list(range(count)))]
    assert sizes[-len(TAIL_BATCHES):] == list(TAIL_BATCHES)
    assert max(sizes) == BATCH_SIZE or count == BATCH_SIZE
    assert sum(TAIL_BATCHES) == BATCH_SIZE
