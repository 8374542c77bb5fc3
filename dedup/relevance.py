"""Relevance: how close a report is to the watch's story (its seeds and accepted updates).

Texts become weighted bags of content words: English function words are dropped, words that
appear in almost any news report ("said", "officials", "week") count little, and everything else
(names, places, subject words) counts fully, with a log-scaled term frequency. Relevance is the
cosine between such bags. A fixed background keeps scores meaningful when a watch has one seed and
no updates yet, and makes a score independent of the order in which reports arrive.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .normalize import words

LOGGER = logging.getLogger(__name__)

__all__ = ["STOPWORDS", "COMMON_NEWS_WORDS", "TermVector", "term_vector", "cosine", "RelevanceModel"]

STOPWORDS = frozenset("""
a about above across after afterwards again against all almost alone along already also although
always am among amongst an and another any anyhow anyone anything anyway anywhere are around as at
back be became because become becomes becoming been before beforehand behind being below beside
besides between beyond both but by can cannot could did do does doing done down due during each
either else elsewhere enough etc even ever every everyone everything everywhere except few first
for former formerly from further had has have having he hence her here hereafter hereby herein
hers herself him himself his how however i if in indeed into is it its itself just last latter
least less many may me meanwhile might mine more moreover most mostly much must my myself namely
neither never nevertheless next no nobody none nor not nothing now nowhere of off often on once one
only onto or other others otherwise our ours ourselves out over own per perhaps please put rather
re same seem seemed seeming seems several she should since so some somehow someone something
sometime sometimes somewhere still such than that the their theirs them themselves then thence there
thereafter thereby therefore therein thereupon these they this those though through throughout thru
thus to together too toward towards under until up upon us very via was we well were what whatever
when whence whenever where whereafter whereas whereby wherein whereupon wherever whether which while
whither who whoever whole whom whose why will with within without would yet you your yours yourself
yourselves s t d ll m ve don didn doesn isn wasn weren won wouldn couldn shouldn hasn haven hadn
""".split())

# Words of almost every news report: evidence of news-ness, not of a topic.
COMMON_NEWS_WORDS = frozenset("""
said say says saying told tell tells telling according added asked called call calls statement
statements report reported reports reporting reporter reporters news press spokesman spokeswoman
spokesperson official officials government governments country countries state states people
year years month months week weeks day days today yesterday tomorrow monday tuesday wednesday
thursday friday saturday sunday january february march april may june july august september
october november december time times new old make made makes take took taken give gave given
world international national public general group groups leader leaders minister ministry
president office member members part number way including include includes including meeting
two three four five six seven eight nine ten hundred thousand million billion percent cent
early late earlier later former latest recent recently continue continued continues plan plans
planned also would could should might must like since many much well good high higher large
long short small big major key set sets open opened close closed end ended start started
issue issues matter question questions case cases point points move moved help helped
""".split())

_COMMON_WEIGHT = 0.3


def _stem(word: str) -> str:
    # Plural and third-person forms only: enough to join "camp"/"camps", cheap and predictable.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class TermVector:
    """A weighted bag of content words with its Euclidean norm."""

    weights: Mapping[str, float] = field(default_factory=dict)
    norm: float = 0.0


def term_vector(text: str) -> TermVector:
    """Weighted content-word vector of `text` (log term frequency × background weight)."""
    counts = Counter(_stem(w) for w in words(text)
                     if w not in STOPWORDS and len(w) > 1 and not w.isdigit())
    weights = {}
    for term, n in counts.items():
        base = _COMMON_WEIGHT if term in COMMON_NEWS_WORDS else 1.0
        weights[term] = base * (1.0 + math.log(n))
    norm = math.sqrt(sum(v * v for v in weights.values()))
    return TermVector(weights, norm)


def cosine(a: TermVector, b: TermVector) -> float:
    """Cosine similarity of two term vectors (0.0 when either is empty)."""
    if not a.norm or not b.norm:
        return 0.0
    small, big = (a, b) if len(a.weights) <= len(b.weights) else (b, a)
    dot = sum(v * big.weights.get(k, 0.0) for k, v in small.weights.items())
    return dot / (a.norm * b.norm)


class RelevanceModel:
    """Similarity of a report to the seeds and to the updates accepted so far."""

    def __init__(self, seeds: Iterable[str], updates: Iterable[str] = ()) -> None:
        self._seeds = [term_vector(t) for t in seeds]
        self._updates = [term_vector(t) for t in updates]

    def add_update(self, text: str) -> None:
        """Accept an update: later reports are also compared with it."""
        self._updates.append(term_vector(text))

    def seed_similarity(self, vector: TermVector) -> float:
        """Highest cosine to any seed."""
        return max((cosine(vector, s) for s in self._seeds), default=0.0)

    def update_similarity(self, vector: TermVector) -> float:
        """Highest cosine to any accepted update."""
        return max((cosine(vector, u) for u in self._updates), default=0.0)

    def similarities(self, text: str) -> tuple[float, float]:
        """(seed similarity, update similarity) of `text`."""
        v = term_vector(text)
        return self.seed_similarity(v), self.update_similarity(v)

    @property
    def updates(self) -> Sequence[TermVector]:
        """The vectors of the accepted updates."""
        return tuple(self._updates)
