"""The fast normalisation and shingling: the same output as the plain pipeline, stable hashes, order kept."""
from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np

from dedup import fingerprint, minhash_signature, normalize_text, shingles
from dedup.minhash import FINGERPRINT_VERSION, _tokens
from dedup.normalize import _PUNCT_MAP, WORD_RE

_SPACE_RE = re.compile(r"\s+")


def _plain_normalize(text: str) -> str:
    # The pipeline as first written (one step per line): the fast path must give the same bytes,
    # or every stored content hash would change.
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_PUNCT_MAP).casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACE_RE.sub(" ", text).strip()


VARIED = [
    "", " ", "\t\n", "Plain ASCII text, with `backticks` and  double  spaces.\n",
    "\u201cCurly\u201d \u2018quotes\u2019 \u2014 dashes \u2013 and a minus \u2212 1",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m", "e\u0301 combining accent written apart",
    "\ufb01nance \ufb02ow \ufb00 ligatures", "T\u00fcrk \u0130stanbul \u0131\u015f\u0131k dotless i",
    "Stra\u00dfe STRASSE \u1e9e capital sharp s", "non\u00a0breaking\u2009thin\u202fspace\u200bzero width",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cform feed", "control \x00\x01\x1c\x1d\x1e\x1f\x85 chars",
    "\u0391\u0398\u0397\u039d\u0391 \u03a3\u039f\u03a3 final sigma \u03c2",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u0401\u043b\u043a\u0430",
    "\u5317\u4eac \u6771\u4eac\u3000ideographic space", "\u2033double prime\u2032 prime \u00b4acute",
    "\u00f8 \u0142 \u0111 \u00e6 \u0153 \u00bd \u2460 \u00b2", "lone surrogate \ud800 kept",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u0651\u0629",
]


def test_normalize_text_gives_the_plain_pipelines_bytes_on_varied_texts():
    for text in VARIED:
        assert normalize_text(text) == _plain_normalize(text), repr(text)


def test_normalize_text_gives_the_plain_pipelines_bytes_for_every_code_point():
    # Runs of consecutive code points, each between letters and spaces, so marks have something to join.
    for start in range(0, sys.maxunicode + 1, 256):
        text = " ".join("a" + chr(c) + "B" for c in range(start, min(start + 256, sys.maxunicode + 1)))
        assert normalize_text(text) == _plain_normalize(text), hex(start)


def test_str_split_and_the_regex_agree_on_whitespace():
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1))
    assert " ".join(everything.split()) == _SPACE_RE.sub(" ", everything).strip()


def test_ascii_words_are_the_regex_words():
    ascii_text = "".join(chr(c) for c in range(128)) * 2 + " it's 3-grams, e.g. U.S. co-op_x 42nd"
    normal = normalize_text(ascii_text)
    assert _tokens(normal) == WORD_RE.findall(normal)
    mixed = normalize_text("Caf\u00e9 \u5317\u4eac_x \u0416\u0443\u043a 3\u00bd")
    assert _tokens(mixed) == WORD_RE.findall(mixed)


def test_word_order_matters_and_a_short_text_is_one_shingle():
    assert shingles("alpha beta gamma") != shingles("gamma beta alpha")
    assert shingles("alpha beta gamma") == shingles("Alpha, BETA \u2014 gamma!")
    assert len(shingles("two words")) == 1 and shingles("two words") != shingles("words two")
    assert shingles("") == frozenset()
    assert len(shingles("a b c d e f", size=4)) == 3


def test_shingle_hashes_are_fixed_constants_of_the_stored_format():
    # If this fails, stored bands no longer match: bump FINGERPRINT_VERSION so warehouses recompute them.
    assert FINGERPRINT_VERSION == 2
    assert sorted(shingles("Bachelet visits Xinjiang today")) == [4148796346938747642, 10939084703360041480]
    assert fingerprint("Bachelet visits Xinjiang today").bands[:2] == (-1186151781028250511, 5826178210989605081)


def test_minhash_of_an_array_equals_minhash_of_the_set():
    values = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=np.uint64)
    assert minhash_signature(values) == minhash_signature(frozenset(values.tolist()))
    long = np.arange(10_000, dtype=np.uint64) * np.uint64(7919)  # more than one block of permutations
    assert minhash_signature(long) == minhash_signature(set(long.tolist()))
