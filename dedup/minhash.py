"""Fingerprints of a text: a content hash for exact copies, MinHash and LSH bands for near copies.

Shingles are word 3-grams of the normalised text, hashed with BLAKE2b (stable across processes,
platforms and Python releases, unlike `hash()`). The MinHash uses `NUM_PERM` = 128 permutations,
each a fixed 64-bit mixing function keyed by a constant seed derived from its index, so a signature
computed today equals one computed by any later release that keeps these constants.

LSH splits the signature into `NUM_BANDS` = 32 bands of `ROWS_PER_BAND` = 4 rows; two documents
become candidates when any band hash is equal. For Jaccard similarity s the chance of that is
1 - (1 - s**4)**32, the S-curve:

    s:     0.1    0.2    0.3    0.4    0.5    0.6    0.7    0.8
    P:     0.003  0.05   0.23   0.56   0.87   0.98   >0.999 >0.999

so copies (Jaccard >= 0.5) are found with high probability while unrelated reports
(Jaccard < 0.1) almost never are. Excerpts of long stories can have a low Jaccard; the Decider
therefore also verifies against the seeds and accepted updates directly.
"""
from __future__ import annotations

import hashlib
import logging
import struct

import numpy as np

from .normalize import WORD_RE, normalize_text, words
from .types import Fingerprint

LOGGER = logging.getLogger(__name__)

__all__ = ["NUM_PERM", "NUM_BANDS", "ROWS_PER_BAND", "SHINGLE_SIZE", "content_hash", "shingles",
           "minhash_signature", "band_hashes", "fingerprint"]

NUM_PERM = 128
NUM_BANDS = 32
ROWS_PER_BAND = NUM_PERM // NUM_BANDS
SHINGLE_SIZE = 3

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


# One fixed 64-bit key per permutation: part of the on-disk format of stored bands.
_PERM_KEYS = np.array([_splitmix64(0x6E657773 + i) for i in range(NUM_PERM)], dtype=np.uint64)
_EMPTY_SIGNATURE = tuple([0xFFFFFFFF] * NUM_PERM)


def content_hash(text: str) -> str:
    """Hex SHA-256 of the normalised text: equal for exact copies, whatever their typography."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def shingles(text: str, size: int = SHINGLE_SIZE, normalized: bool = False) -> frozenset[int]:
    """Hashed word `size`-grams of the normalised text (a short text yields its words joined)."""
    tokens = WORD_RE.findall(text) if normalized else words(text)
    if not tokens:
        return frozenset()
    if len(tokens) < size:
        return frozenset({_hash64(" ".join(tokens))})
    return frozenset(_hash64(" ".join(tokens[i:i + size])) for i in range(len(tokens) - size + 1))


def _mix(values: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser, vectorised; uint64 arithmetic wraps modulo 2**64 as intended.
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        return values ^ (values >> np.uint64(31))


def minhash_signature(shingle_hashes: frozenset[int] | set[int]) -> tuple[int, ...]:
    """MinHash signature (NUM_PERM uint32 values) of a set of 64-bit shingle hashes."""
    if not shingle_hashes:
        return _EMPTY_SIGNATURE
    base = np.fromiter(shingle_hashes, dtype=np.uint64, count=len(shingle_hashes))
    mixed = _mix(base[None, :] ^ _PERM_KEYS[:, None])  # (NUM_PERM, n)
    minima = (mixed >> np.uint64(32)).min(axis=1)
    return tuple(int(v) for v in minima)


def band_hashes(signature: tuple[int, ...]) -> tuple[int, ...]:
    """One signed 64-bit hash per LSH band (band i at index i), for an equi-join in SQL."""
    out = []
    for band in range(NUM_BANDS):
        rows = signature[band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
        packed = struct.pack(f"<H{ROWS_PER_BAND}I", band, *rows)
        out.append(int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "little", signed=True))
    return tuple(out)


def fingerprint(text: str) -> Fingerprint:
    """Content hash, MinHash signature, LSH bands and shingles of `text` (normalised once)."""
    normal = normalize_text(text)
    grams = shingles(normal, normalized=True)
    signature = minhash_signature(grams)
    digest = hashlib.sha256(normal.encode("utf-8")).hexdigest()
    return Fingerprint(content_hash=digest, minhash=signature, bands=band_hashes(signature), shingles=grams)
