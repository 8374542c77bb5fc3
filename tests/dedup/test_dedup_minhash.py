"""MinHash signatures and LSH bands: stable, and catching the pairs they promise to catch."""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from dedup import (NUM_BANDS, NUM_PERM, containment, content_hash, estimated_jaccard, fingerprint, jaccard,
                   minhash_signature, near_duplicate_score, shingles)

REPO = Path(__file__).resolve().parents[2]
VOCAB = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def test_fingerprint_shape():
    fp = fingerprint("The UN rights chief said she would publish the review of Xinjiang this year.")
    assert len(fp.minhash) == NUM_PERM and len(fp.bands) == NUM_BANDS
    assert all(0 <= v < 2**32 for v in fp.minhash)
    assert all(-(2**63) <= b < 2**63 for b in fp.bands)
    assert len(fp.content_hash) == 64


def test_signature_is_the_same_in_another_process():
    text = "Stable across processes: Türk, Bachelet and the Xinjiang assessment of 31 August 2022."
    code = f"from dedup import fingerprint; fp = fingerprint({text!r}); print(fp.bands[:5], fp.minhash[:5])"
    # A different hash seed in the child would change any result built on Python's hash().
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip()
    fp = fingerprint(text)
    assert out == f"{fp.bands[:5]} {fp.minhash[:5]}"


def _band_hit(a: str, b: str) -> bool:
    return any(x == y for x, y in zip(fingerprint(a).bands, fingerprint(b).bands))


def test_bands_find_pairs_with_jaccard_08_and_ignore_unrelated_texts():
    rng = random.Random(3)
    found = 0
    for _ in range(50):
        base = _text(rng, 300)
        copy = list(base)
        for i in rng.sample(range(300), 6):  # 6 edited words break ~18 of ~300 3-grams: Jaccard ~0.89
            copy[i] = rng.choice(VOCAB)
        copy = copy[:270]  # and the tail is cut: Jaccard ~0.8
        assert 0.7 < jaccard(shingles(" ".join(base)), shingles(" ".join(copy))) < 0.9
        found += _band_hit(" ".join(base), " ".join(copy))
    assert found == 50
    unrelated = sum(_band_hit(" ".join(_text(rng, 300)), " ".join(_text(rng, 300))) for _ in range(50))
    assert unrelated == 0


def test_minhash_estimates_jaccard():
    rng = random.Random(5)
    a = set(rng.sample(range(10**9), 2000))
    b = set(list(a)[:1000]) | set(rng.sample(range(10**9), 1000))
    true = jaccard(a, b)  # 1/3
    est = estimated_jaccard(minhash_signature(frozenset(a)), minhash_signature(frozenset(b)))
    assert abs(est - true) < 0.12


def test_excerpt_is_contained_in_the_full_story():
    rng = random.Random(9)
    story = _text(rng, 600)
    excerpt = story[:150] + "continue reading the full story on our website".split()
    full, part = shingles(" ".join(story)), shingles(" ".join(excerpt))
    assert jaccard(full, part) < 0.3  # too low for Jaccard alone
    assert containment(part, full) > 0.9
    score = near_duplicate_score(full, part)  # argument order does not matter
    assert score.containment > 0.9 and score.kind == "containment"
    assert score.is_copy(jaccard_threshold=0.5, containment_threshold=0.6, min_shingles=20)


def test_tiny_text_is_not_an_excerpt_of_everything():
    story = shingles("the un human rights office said on tuesday that it would publish the report soon " * 3)
    tiny = shingles("the un human rights office said")
    score = near_duplicate_score(tiny, story)
    assert score.containment == 1.0
    assert not score.is_copy(jaccard_threshold=0.5, containment_threshold=0.6, min_shingles=20)


def test_fingerprint_keeps_the_shingles_of_the_text():
    text = "The UN rights chief visited Xinjiang on Monday, the first such visit in 17 years."
    assert fingerprint(text).shingles == shingles(text)
    assert fingerprint(text).content_hash == content_hash("the un rights chief  visited xinjiang on monday, "
                                                          "the first such visit in 17 years.")
