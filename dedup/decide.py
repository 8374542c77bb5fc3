"""The decision for every report: seed, duplicate, irrelevant or new, with its reason.

Order of the checks, first hit wins:
1. exact copy: equal hash of the normalised text (of a seed, a stored article or one judged
   earlier in this batch);
2. near-duplicate: word 3-gram Jaccard >= `jaccard_threshold`, or containment of the smaller text
   in the bigger >= `containment_threshold` (excerpts, rewrites with a new opening); the copy
   points at the original: the earliest known version, and a copy of a copy at that one;
3. off topic: relevance (similarity to seeds and accepted updates, plus `query_boost` when the
   watch query matches) below the threshold;
4. same event as a seed: published within `same_event_days` of a seed and similar to it in words
   (`same_event_similarity`): a retelling of what the watch already knows;
5. otherwise new: it starts a story, with the sentences that are new to the watch.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from .minhash import content_hash, fingerprint, shingles
from .novelty import novel_sentences
from .query import Query
from .relevance import RelevanceModel, TermVector, cosine, term_vector
from .similarity import NearDuplicateScore
from .types import Decision, Document, Fingerprint

LOGGER = logging.getLogger(__name__)

__all__ = ["DecisionSettings", "Decider", "Candidate"]

STORED_CACHE = 20_000  # stored candidates kept compared-ready across batches (~6 KB each)


@dataclass(frozen=True)
class DecisionSettings:
    """Every threshold of the decision, with defaults calibrated on labeled news worlds."""

    jaccard_threshold: float = 0.5  # copies measured >= 0.59, distinct reports <= 0.03
    containment_threshold: float = 0.6  # excerpts and rewrites measured >= 0.93, distinct <= 0.08
    min_shingles: int = 20  # a shorter text is "contained" in too much to count as an excerpt
    query_boost: float = 0.30  # added to the similarity when the query matches
    relevance_threshold: float = 0.45  # so a query match needs similarity >= 0.15, no match >= 0.45
    relevance_threshold_without_query: float = 0.25  # for watches that have no query
    require_query: bool = False  # True: a report that misses the query is off topic, whatever its similarity
    same_event_days: float = 3.0  # retellings of the seed's event appear within days of it
    same_event_similarity: float = 0.30  # word similarity to the seed that marks a retelling
    novelty_threshold: float = 0.5  # a sentence is novel when less of it than this was seen


# A candidate from the warehouse: the stored document, optionally with its fingerprint or shingles,
# or only its key when the Decider remembers it (see Decider.remembers).
Candidate = Document | tuple[Document, Fingerprint | frozenset[int] | None] | str


@dataclass
class _Known:
    doc: Document  # without its text once it is only a candidate: the text is not needed to compare
    shingles: np.ndarray  # sorted unique uint64 shingle hashes: a tenth of a frozenset's memory
    content_hash: str
    status: str | None
    duplicate_of: str | None
    story_key: str | None


def _compact(grams: frozenset[int]) -> np.ndarray:
    return np.sort(np.fromiter(grams, dtype=np.uint64, count=len(grams)))


def _score(a: np.ndarray, b: np.ndarray) -> NearDuplicateScore:
    # near_duplicate_score on sorted unique arrays: the same figures, without building sets.
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    if not len(small):
        inter = 0
    else:
        at = np.searchsorted(big, small)
        at[at == len(big)] = 0
        inter = int(np.count_nonzero(big[at] == small)) if len(big) else 0
    union = len(a) + len(b) - inter
    return NearDuplicateScore(jaccard=inter / union if union else 0.0,
                              containment=inter / len(small) if len(small) else 0.0, smaller_size=len(small))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _label(key: str) -> str:
    return f"#{key}" if key.isdigit() else key


def _original_order(known: _Known) -> tuple:
    # Earliest first; undated last; on a tie the seed, then a stored update, is the original.
    published = _utc(known.doc.published_at)
    rank = {"seed": 0, "new": 1}.get(known.status or "", 2)
    return (published is None, published or datetime.max.replace(tzinfo=timezone.utc), rank, known.doc.key)


class Decider:
    """Judges reports of one watch against its seeds, stored articles and this batch."""

    def __init__(self, seeds: Sequence[Document], updates: Sequence[Document] = (),
                 query: Query | None = None, settings: DecisionSettings | None = None) -> None:
        self.settings = settings or DecisionSettings()
        self.query = query
        self._seeds = [self._known(s, None, "seed") for s in seeds]
        self._updates = [self._known(u, None, "new") for u in updates]
        self._relevance = RelevanceModel([_full_text(s) for s in seeds], [_full_text(u) for u in updates])
        self._known_shingles: set[int] = set()  # everything the watch has seen, for novelty
        for known in self._seeds + self._updates:
            self._known_shingles.update(known.shingles.tolist())
        self._batch: dict[str, _Known] = {}  # decided since the last forget_batch, not stored yet
        self._bands: dict[tuple[int, int], list[str]] = {}
        self._stored: dict[str, _Known] = {}  # stored candidates (and forgotten batches), shingled once
        self._seed_vectors = {s.key: term_vector(_full_text(s)) for s in seeds}

    def _known(self, doc: Document, fp: Fingerprint | frozenset[int] | None, status: str | None) -> _Known:
        if isinstance(fp, frozenset):
            grams = fp
        elif isinstance(fp, Fingerprint) and fp.shingles:
            grams = fp.shingles
        else:
            grams = shingles(doc.text)
        digest = fp.content_hash if isinstance(fp, Fingerprint) else content_hash(doc.text)
        status = status or doc.status
        story = doc.story_key or (doc.key if status in ("seed", "new") else None)
        return _Known(replace(doc, text=""), _compact(grams), digest, status, doc.duplicate_of, story)

    def remember(self, doc: Document, fp: Fingerprint | None, decision: Decision) -> None:
        """Record a decided report so later reports of the same batch are compared with it."""
        fp = fp or fingerprint(doc.text)
        grams = fp.shingles or shingles(doc.text)
        known = _Known(replace(doc, text=""), _compact(grams), fp.content_hash, decision.status,
                       decision.duplicate_of, decision.story_key)
        self._batch[doc.key] = known
        for band, value in enumerate(fp.bands):
            self._bands.setdefault((band, value), []).append(doc.key)
        if decision.status == "new":
            self._updates.append(known)
            self._relevance.add_update(_full_text(doc))
            self._known_shingles.update(grams)

    def forget_batch(self) -> None:
        """Drop what only this batch needed, once it is stored: its band index and full records.

        Seeds and accepted updates stay; stored reports come back as warehouse candidates, and their
        compact shingles are kept (up to STORED_CACHE) so they are not shingled again.
        """
        for key, known in self._batch.items():
            self._stored[key] = known
        self._batch.clear()
        self._bands.clear()
        while len(self._stored) > STORED_CACHE:  # oldest first: copies name recent articles
            self._stored.pop(next(iter(self._stored)))

    def remembers(self, key: str) -> bool:
        """True when the stored report `key` may be passed to decide() by its key alone.

        The Decider holds it compared-ready (this batch, or an earlier one it was shown), and keeps
        it at least until forget_batch(), so a caller need not read its text again.
        """
        return key in self._batch or key in self._stored

    def _pool(self, doc: Document, fp: Fingerprint, candidates: Iterable[Candidate]) -> list[_Known]:
        pool: dict[str, _Known] = {}
        for known in self._seeds + self._updates:
            pool.setdefault(known.doc.key, known)
        for cand in candidates:
            if isinstance(cand, str):
                if cand not in pool:
                    known = self._batch.get(cand) or self._stored.get(cand)
                    if known is None:
                        raise KeyError(f"candidate {cand!r} was passed by key, but the Decider does not remember it")
                    pool[cand] = known
                continue
            cdoc, cfp = (cand, None) if isinstance(cand, Document) else cand
            if cdoc.key not in pool:
                known = self._batch.get(cdoc.key) or self._stored.get(cdoc.key)
                if known is None:
                    known = self._stored[cdoc.key] = self._known(cdoc, cfp, None)  # trimmed in forget_batch
                pool[cdoc.key] = known
        for band, value in enumerate(fp.bands):
            for key in self._bands.get((band, value), ()):
                pool.setdefault(key, self._batch[key])
        pool.pop(doc.key, None)
        return list(pool.values())

    def decide(self, doc: Document, fp: Fingerprint | None = None,
               candidates: Sequence[Candidate] = ()) -> Decision:
        """Judge one report; `candidates` are stored documents whose LSH bands matched its own."""
        s = self.settings
        if doc.status == "seed" or any(k.doc.key == doc.key for k in self._seeds):
            return Decision(status="seed", relevance=1.0, seed_similarity=1.0, story_key=doc.key,
                            reason="seed of the watch")
        fp = fp or fingerprint(doc.text)
        pool = self._pool(doc, fp, candidates)

        exact = [k for k in pool if k.content_hash == fp.content_hash]
        if exact:
            return self._copy(min(exact, key=_original_order), None)
        grams = _compact(fp.shingles or shingles(doc.text))
        copies = []
        for known in pool:
            score = _score(grams, known.shingles)
            if score.is_copy(s.jaccard_threshold, s.containment_threshold, s.min_shingles):
                copies.append((known, score))
        if copies:
            known, score = min(copies, key=lambda pair: _original_order(pair[0]))
            return self._copy(known, score)

        vector = term_vector(_full_text(doc))
        seed_sim = self._relevance.seed_similarity(vector)
        similarity = max(seed_sim, self._relevance.update_similarity(vector))
        match = self.query.match(doc.title, doc.text) if self.query is not None else None
        if match is None:
            relevance, threshold = similarity, s.relevance_threshold_without_query
        else:
            relevance = similarity + (s.query_boost if match.matched else 0.0)
            threshold = s.relevance_threshold
        evidence = dict(relevance=round(relevance, 4), seed_similarity=round(seed_sim, 4),
                        query_matched=None if match is None else match.matched,
                        matched_terms=() if match is None else match.terms)
        query_note = ("no query" if match is None else
                      f"query matched ({', '.join(match.terms)})" if match.matched else "query not matched")
        if relevance < threshold or (s.require_query and match is not None and not match.matched):
            why = (f"{relevance:.2f} < {threshold:.2f}" if relevance < threshold
                   else f"{relevance:.2f}, but the query is required")
            return Decision(status="irrelevant", reason=f"off topic: relevance {why}; {query_note}", **evidence)

        same_event = self._same_event_seed(doc, vector)
        if same_event is not None:
            seed, sim, days = same_event
            return Decision(status="duplicate", duplicate_of=seed.doc.key, similarity=round(sim, 4),
                            similarity_kind="same_event", story_key=seed.story_key or seed.doc.key,
                            reason=(f"same event as the seed ({_label(seed.doc.key)}): published {days:.1f} days "
                                    f"from it, word similarity {sim:.2f}"), **evidence)

        novel = novel_sentences(doc.text, (), threshold=s.novelty_threshold,
                                known_shingles=self._known_shingles)
        return Decision(status="new", story_key=doc.key, novel_sentences=novel,
                        reason=f"new: {query_note}, relevance {relevance:.2f}", **evidence)

    def _copy(self, known: _Known, score: NearDuplicateScore | None) -> Decision:
        original = known.duplicate_of or known.doc.key
        story = known.story_key or original
        if score is None:
            kind, value = "exact", 1.0
            reason = f"exact copy of {_label(original)}"
        else:
            kind, value = score.kind, score.value
            reason = f"copy of {_label(original)} ({kind} {value:.2f}"
            reason += f" with {_label(known.doc.key)})" if original != known.doc.key else ")"
        return Decision(status="duplicate", duplicate_of=original, similarity=round(value, 4),
                        similarity_kind=kind, story_key=story, reason=reason,
                        relevance=0.0, seed_similarity=0.0)

    def _same_event_seed(self, doc: Document, vector: TermVector) -> tuple[_Known, float, float] | None:
        published = _utc(doc.published_at)
        if published is None:
            return None
        best = None
        for seed in self._seeds:
            seed_at = _utc(seed.doc.published_at)
            if seed_at is None:
                continue
            days = abs((published - seed_at).total_seconds()) / 86400
            if days > self.settings.same_event_days:
                continue
            sim = cosine(vector, self._seed_vectors[seed.doc.key])
            if sim >= self.settings.same_event_similarity and (best is None or sim > best[1]):
                best = (seed, sim, days)
        return best


def _full_text(doc: Document) -> str:
    return f"{doc.title}\n{doc.text}" if doc.title else doc.text
