"""The digest as data: small frozen dataclasses that every renderer reads."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Copy:
    """Another outlet's copy of an update (syndicated, excerpted, AMP, tracking link …)."""

    article_id: int
    title: str
    outlet: str
    url: str
    published_at: datetime | None


@dataclass(frozen=True)
class StoryItem:
    """One update: what it is, where it ran, what is new in it, who else ran it."""

    article_id: int
    story_id: int
    title: str
    outlet: str
    url: str
    published_at: datetime | None
    first_seen_at: datetime
    novel_sentences: tuple[str, ...]  # sentences no earlier article of the watch had
    extract: str  # the opening of the text, shown when there are no novel sentences
    copies: tuple[Copy, ...]  # one per other outlet, earliest first

    @property
    def date(self) -> datetime:
        """The date to show: publication, else when newswatch first saw it."""
        return self.published_at or self.first_seen_at


@dataclass(frozen=True)
class Story:
    """Updates that belong to one story, newest first."""

    story_id: int
    title: str  # the title of the story's first article
    items: tuple[StoryItem, ...]


@dataclass(frozen=True)
class FailingSource:
    """A source whose last poll failed."""

    name: str
    url: str
    error: str
    consecutive_failures: int


@dataclass(frozen=True)
class DigestCounts:
    """The numbers of the header."""

    updates: int  # every update the digest covers, including those beyond max_updates
    copies_suppressed: int
    off_topic: int
    sources_failing: int


@dataclass(frozen=True)
class Digest:
    """The updates of one watch over one period, grouped by story, newest story first."""

    id: str  # stable: the same watch and covered articles give the same id
    watch: str
    title: str
    generated_at: datetime
    period_start: datetime | None  # None: from the beginning of the watch
    period_end: datetime
    counts: DigestCounts
    stories: tuple[Story, ...]
    failing_sources: tuple[FailingSource, ...]
    omitted_ids: tuple[int, ...] = ()  # covered but not shown (beyond max_updates)

    @property
    def items(self) -> tuple[StoryItem, ...]:
        """Every update shown, story by story."""
        return tuple(item for story in self.stories for item in story.items)

    @property
    def covered_ids(self) -> frozenset[int]:
        """The article ids this digest accounts for: shown plus omitted."""
        return frozenset(item.article_id for item in self.items) | frozenset(self.omitted_ids)

    @property
    def is_empty(self) -> bool:
        """True when the period has no update."""
        return not self.covered_ids
