"""Records of the dedup room: documents to judge and the decisions about them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["seed", "new", "duplicate", "irrelevant", "error"]


@dataclass(frozen=True)
class Document:
    """Text to judge or to compare with: a stored article or a candidate."""

    key: str  # stable id: the warehouse's article id for stored ones, the canonical URL for candidates
    title: str
    text: str
    published_at: datetime | None = None
    status: Status | None = None  # for stored documents
    duplicate_of: str | None = None  # for stored duplicates: key of their original
    story_key: str | None = None  # for stored documents: key of their story's first article


@dataclass(frozen=True)
class Fingerprint:
    """Everything dedup needs to find and verify copies, computed once per document."""

    content_hash: str  # hex digest of the normalised text
    minhash: tuple[int, ...]  # MinHash signature (uint32 values)
    bands: tuple[int, ...]  # one signed 64-bit hash per LSH band, band i at index i
    shingles: frozenset[int] = frozenset()  # the hashed word 3-grams, kept so nothing shingles the text again


@dataclass(frozen=True)
class Decision:
    """The verdict for one document, with the evidence that drove it."""

    status: Status
    duplicate_of: str | None = None  # key of the original
    relevance: float = 0.0  # combined relevance score
    query_matched: bool | None = None  # None when the watch has no query
    matched_terms: tuple[str, ...] = ()
    seed_similarity: float = 0.0
    similarity: float | None = None  # the similarity that made it a copy
    similarity_kind: str | None = None  # exact | jaccard | containment | same_event
    reason: str = ""  # one readable sentence
    novel_sentences: tuple[str, ...] = ()
    story_key: str | None = None  # key of the story's first article
