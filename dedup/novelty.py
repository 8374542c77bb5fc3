"""Novelty: the sentences of an update that say something the watch has not seen yet."""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable

from .minhash import shingles
from .normalize import split_sentences, words
from .similarity import containment

LOGGER = logging.getLogger(__name__)

__all__ = ["novel_sentences"]


def novel_sentences(text: str, known_texts: Iterable[str], threshold: float = 0.5,
                    min_words: int = 4, known_shingles: Collection[int] = frozenset()) -> tuple[str, ...]:
    """Sentences of `text` of which less than `threshold` of the word 3-grams occur in `known_texts`.

    `known_shingles` are shingles already known (e.g. kept by the Decider), so a caller need not
    shingle the same known texts again for every report.
    """
    known: set[int] = set(known_shingles)
    for other in known_texts:
        known |= shingles(other)
    out: list[str] = []
    seen: set[int] = set()
    for sentence in split_sentences(text):
        if len(words(sentence)) < min_words:
            continue  # bylines, datelines and fragments carry no news
        grams = shingles(sentence)
        if containment(grams, known) < threshold and containment(grams, seen) < threshold:
            out.append(sentence)
        seen |= grams
    return tuple(out)
