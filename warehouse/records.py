"""Records that cross the warehouse's boundary: articles to write, articles read back, run counts."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from dedup.types import Document, Status

# A reference to an article: an int is a stored article id; a str is the canonical URL of another
# record in the same batch (or of a stored article), or a stored id in text form (dedup's Document.key).
ArticleRef = int | str


@dataclass(frozen=True)
class ArticleRecord:
    """One row of `article` to write, with its URLs, LSH bands and novel sentences."""

    watch: str
    url: str  # canonical
    status: Status
    first_seen_at: datetime
    title: str | None = None
    author: str | None = None
    site: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    duplicate_of: ArticleRef | None = None
    story_id: ArticleRef | None = None
    text: str | None = None
    text_source: str | None = None  # page | feed | seed
    content_hash: str | None = None
    source_url: str | None = None
    relevance: float | None = None
    query_matched: bool | None = None
    matched_terms: tuple[str, ...] = ()
    seed_similarity: float | None = None
    similarity: float | None = None
    similarity_kind: str | None = None
    reason: str | None = None
    error: str | None = None
    id: int | None = None  # an id from Warehouse.reserve_ids, or None to draw one at write time
    bands: tuple[int, ...] = ()  # signed 64-bit hash per LSH band, band i at index i
    aliases: tuple[str, ...] = ()  # every other URL the article was seen under
    novel_sentences: tuple[str, ...] = ()


# The columns of `article` an ArticleRecord fills (everything except id and run_id).
ARTICLE_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(ArticleRecord) if f.name not in ("id", "bands", "aliases", "novel_sentences")
)


@dataclass(frozen=True)
class StoredArticle:
    """An article read back from the warehouse, enough for dedup to compare with."""

    id: int
    url: str
    title: str
    text: str
    published_at: datetime | None
    status: Status
    story_id: int | None
    content_hash: str | None = None
    duplicate_of: int | None = None

    def to_document(self) -> Document:
        """The dedup view of this article (key = the article id as text), with its story and original."""
        return Document(
            key=str(self.id), title=self.title, text=self.text, published_at=self.published_at, status=self.status,
            duplicate_of=None if self.duplicate_of is None else str(self.duplicate_of),
            story_key=None if self.story_id is None else str(self.story_id),
        )


@dataclass(frozen=True)
class RunCounts:
    """What one monitor pass did, stored in `run`."""

    sources_ok: int = 0
    sources_not_modified: int = 0
    sources_failed: int = 0
    entries: int = 0
    new: int = 0
    duplicates: int = 0
    irrelevant: int = 0
    errors: int = 0
