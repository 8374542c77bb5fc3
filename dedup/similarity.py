"""Similarities between shingle sets, and the verdict on whether one text copies another."""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

LOGGER = logging.getLogger(__name__)

__all__ = ["jaccard", "containment", "estimated_jaccard", "NearDuplicateScore", "near_duplicate_score"]


def _as_set(items: Collection[int]) -> set[int] | frozenset[int]:
    # Copying a set costs as much as intersecting it: novelty checks each sentence against a large one.
    return items if isinstance(items, (set, frozenset)) else set(items)


def jaccard(a: Collection[int], b: Collection[int]) -> float:
    """|A ∩ B| / |A ∪ B| (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    a, b = _as_set(a), _as_set(b)
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def containment(a: Collection[int], b: Collection[int]) -> float:
    """|A ∩ B| / |A|: how much of `a` lies inside `b` (0.0 when `a` is empty)."""
    if not a:
        return 0.0
    return len(_as_set(a) & _as_set(b)) / len(a)


def estimated_jaccard(sig_a: tuple[int, ...], sig_b: tuple[int, ...]) -> float:
    """Jaccard estimated from two MinHash signatures of equal length."""
    if not sig_a or len(sig_a) != len(sig_b):
        return 0.0
    return sum(1 for x, y in zip(sig_a, sig_b) if x == y) / len(sig_a)


@dataclass(frozen=True)
class NearDuplicateScore:
    """Both similarities of a pair, and the size of the smaller shingle set."""

    jaccard: float
    containment: float  # of the smaller document inside the bigger
    smaller_size: int

    def is_copy(self, jaccard_threshold: float, containment_threshold: float, min_shingles: int) -> bool:
        """True when the pair is a near-duplicate under these thresholds."""
        if self.jaccard >= jaccard_threshold:
            return True
        # A tiny text is "contained" in almost anything; only excerpts of real length count.
        return self.smaller_size >= min_shingles and self.containment >= containment_threshold

    @property
    def kind(self) -> str:
        """'jaccard' or 'containment': the similarity that speaks for the copy."""
        return "jaccard" if self.jaccard >= self.containment else "containment"

    @property
    def value(self) -> float:
        """The larger of the two similarities."""
        return max(self.jaccard, self.containment)


def near_duplicate_score(a: Collection[int], b: Collection[int]) -> NearDuplicateScore:
    """Jaccard and containment (smaller inside bigger) of two shingle sets."""
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    return NearDuplicateScore(jaccard=jaccard(a, b), containment=containment(small, big),
                              smaller_size=len(small))
