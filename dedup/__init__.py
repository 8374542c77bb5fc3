"""dedup room: pure text logic that decides whether a report is news.

Normalisation, fingerprints (content hash, MinHash, LSH bands), similarities, the watch query
language, relevance, novelty and the Decider that combines them. No I/O.
"""
from .decide import Candidate, Decider, DecisionSettings
from .minhash import NUM_BANDS, NUM_PERM, ROWS_PER_BAND, band_hashes, content_hash, fingerprint, minhash_signature, shingles
from .normalize import content_lines, normalize_text, split_sentences, words
from .novelty import novel_sentences
from .query import Match, Query, QueryError, parse_query
from .relevance import RelevanceModel, cosine, term_vector
from .seeds import parse_seed_text, seed_document
from .similarity import NearDuplicateScore, containment, estimated_jaccard, jaccard, near_duplicate_score
from .types import Decision, Document, Fingerprint

__all__ = [
    "Candidate", "Decider", "Decision", "DecisionSettings", "Document", "Fingerprint", "Match",
    "NUM_BANDS", "NUM_PERM", "NearDuplicateScore", "Query", "QueryError", "ROWS_PER_BAND",
    "RelevanceModel", "band_hashes", "containment", "content_hash", "content_lines", "cosine",
    "estimated_jaccard", "fingerprint", "jaccard", "minhash_signature", "near_duplicate_score",
    "normalize_text", "novel_sentences", "parse_query", "parse_seed_text", "seed_document",
    "shingles", "split_sentences", "term_vector", "words",
]
