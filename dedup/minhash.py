"""Fingerprints of a text: a content hash for exact copies, MinHash and LSH bands for near copies.

Shingles are word 3-grams of the normalised text. Each distinct word is hashed once with BLAKE2b
(8 bytes, little-endian; stable across processes, platforms and Python releases, unlike `hash()`),
and a 3-gram's hash is splitmix64(seed_3 + w1*m0 + w2*m1 + w3*m2) modulo 2**64, with fixed odd
multipliers m_k per position (so word order counts); a text of fewer words is one gram of all of
them. The MinHash uses `NUM_PERM` = 128 permutations: each shingle hash x is mixed once
(y = splitmix64(x)) and permutation i keeps the top 32 bits of a_i*y + b_i modulo 2**64, with fixed
constants a_i (odd) and b_i derived from its index. Every constant here is part of the on-disk
format of the stored bands: a change that alters any band for the same text must bump
`FINGERPRINT_VERSION`, and the warehouse then recomputes its stored bands when the writer opens it
(version 1: BLAKE2b of each joined 3-gram and splitmix64-keyed permutations).

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

from .normalize import WORD_RE, normalize_text
from .types import Fingerprint

LOGGER = logging.getLogger(__name__)

__all__ = ["FINGERPRINT_VERSION", "NUM_PERM", "NUM_BANDS", "ROWS_PER_BAND", "SHINGLE_SIZE", "content_hash", "shingles",
           "minhash_signature", "band_hashes", "fingerprint"]

NUM_PERM = 128
NUM_BANDS = 32
ROWS_PER_BAND = NUM_PERM // NUM_BANDS
SHINGLE_SIZE = 3
# Bump whenever a stored band would change for the same text: the warehouse recomputes its bands then.
# 1: BLAKE2b of each joined 3-gram, splitmix permutations; 2: per-word BLAKE2b mixed into 3-grams,
# multiply-add permutations.
FINGERPRINT_VERSION = 2

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


# Fixed constants, part of the on-disk format of stored bands (see FINGERPRINT_VERSION): permutation i
# maps a mixed shingle hash x to (a_i * x + b_i) mod 2**64, a_i odd, and keeps the top 32 bits.
_PERM_MUL = np.array([[_splitmix64(0x6E657773 + i) | 1] for i in range(NUM_PERM)], dtype=np.uint64)
_PERM_ADD = np.array([[_splitmix64(0x6D696E68 + i)] for i in range(NUM_PERM)], dtype=np.uint64)
_GRAM_SEED = 0x73686E67
_POSITION_SEED = 0x706F7369
_GRAM_SEEDS = tuple(np.uint64(_splitmix64(_GRAM_SEED + width)) for width in range(8))
_POSITION_MULTIPLIERS = tuple(np.uint64(_splitmix64(_POSITION_SEED + k) | 1) for k in range(8))
_EMPTY_SIGNATURE = tuple([0xFFFFFFFF] * NUM_PERM)
_SIGNATURE_CHUNK = 4096

_WORD_HASHES: dict[str, int] = {}  # word -> BLAKE2b-64 as a signed int, per process
_WORD_CACHE_SIZE = 1 << 16  # ~65k words, ~10 MB
# Every ASCII character that is not a letter or digit separates words, as in WORD_RE.
_ASCII_WORD_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def content_hash(text: str) -> str:
    """Hex SHA-256 of the normalised text: equal for exact copies, whatever their typography."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def _hash64(token: str, signed: bool = False) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little", signed=signed)


def _word_hashes(tokens: list[str]) -> np.ndarray:
    # A page repeats most of its words and a pass repeats most of its vocabulary: hash each word once.
    # Kept signed: numpy converts int64-range ints twice as fast as uint64 ones.
    cache = _WORD_HASHES
    values = list(map(cache.get, tokens))
    try:
        return np.fromiter(values, dtype=np.int64, count=len(values)).view(np.uint64)
    except TypeError:  # a None: words not hashed yet
        pass
    if len(cache) > _WORD_CACHE_SIZE:
        cache.clear()  # bounded memory; a miss only costs the BLAKE2b call again
    for i, value in enumerate(values):
        if value is None:
            values[i] = cache[tokens[i]] = _hash64(tokens[i], signed=True)
    return np.fromiter(values, dtype=np.int64, count=len(values)).view(np.uint64)


def _gram_seed(width: int) -> np.uint64:
    if width < len(_GRAM_SEEDS):
        return _GRAM_SEEDS[width]
    return np.uint64(_splitmix64(_GRAM_SEED + width))


def _position_multiplier(position: int) -> np.uint64:
    if position < len(_POSITION_MULTIPLIERS):
        return _POSITION_MULTIPLIERS[position]
    return np.uint64(_splitmix64(_POSITION_SEED + position) | 1)


def _tokens(normal: str) -> list[str]:
    if normal.isascii():  # the same words as WORD_RE, without the regex engine
        return normal.translate(_ASCII_WORD_SEPARATORS).split()
    return WORD_RE.findall(normal)


def _shingle_array(tokens: list[str], size: int = SHINGLE_SIZE) -> np.ndarray:
    """Sorted unique uint64 hashes of the word `size`-grams of `tokens` (fewer words: one gram of all)."""
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    words = _word_hashes(tokens)
    width = min(size, len(words))
    count = len(words) - width + 1
    # gram = mix(seed_width + sum of word_k * odd_k): order-sensitive (one odd multiplier per position),
    # and a few whole-array numpy operations, which also keeps one short sentence cheap.
    grams = words[:count] * _position_multiplier(0)
    for k in range(1, width):
        grams += words[k:k + count] * _position_multiplier(k)
    grams += _gram_seed(width)
    grams = _mix(grams)
    grams.sort()
    if count > 1:
        grams = grams[np.concatenate(([True], grams[1:] != grams[:-1]))]
    return grams


def shingles(text: str, size: int = SHINGLE_SIZE, normalized: bool = False) -> frozenset[int]:
    """Hashed word `size`-grams of the normalised text (a short text yields its words joined)."""
    tokens = _tokens(text if normalized else normalize_text(text))
    return frozenset(_shingle_array(tokens, size).tolist())


def _mix(values: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser, vectorised; uint64 array arithmetic wraps modulo 2**64 (numpy checks
    # overflow only for scalars, never for arrays).
    values = values ^ (values >> np.uint64(30))
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def minhash_signature(shingle_hashes: frozenset[int] | set[int] | np.ndarray) -> tuple[int, ...]:
    """MinHash signature (NUM_PERM uint32 values) of a set of 64-bit shingle hashes."""
    if isinstance(shingle_hashes, np.ndarray):
        base = shingle_hashes.astype(np.uint64, copy=False)
    else:
        base = np.fromiter(shingle_hashes, dtype=np.uint64, count=len(shingle_hashes))
    if not len(base):
        return _EMPTY_SIGNATURE
    # Mixed once, so the cheap multiply-add permutations below see well-spread values whatever the input.
    base = _mix(base)
    minima = np.full(NUM_PERM, _MASK64, dtype=np.uint64)
    for lo in range(0, len(base), _SIGNATURE_CHUNK):  # bounded memory for very long texts
        block = base[None, lo:lo + _SIGNATURE_CHUNK] * _PERM_MUL
        block += _PERM_ADD
        np.minimum(minima, block.min(axis=1), out=minima)
    return tuple((minima >> np.uint64(32)).tolist())


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
    grams = _shingle_array(_tokens(normal))
    signature = minhash_signature(grams)
    digest = hashlib.sha256(normal.encode("utf-8")).hexdigest()
    return Fingerprint(content_hash=digest, minhash=signature, bands=band_hashes(signature),
                       shingles=frozenset(grams.tolist()))
