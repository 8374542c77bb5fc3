"""The 181 pages of the article-extraction benchmark, their copies for a bench world, and the F1 metric.

The shingle metric is the benchmark's own (scrapinghub/article-extraction-benchmark `evaluate.py`):
F1 of word 4-shingles of prediction against truth, summed over the corpus.
"""
from __future__ import annotations

import functools
import gzip
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LOGGER = logging.getLogger(__name__)

BENCHMARK = Path("corpora") / "article-extraction-benchmark"

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CANONICAL = re.compile(rb"<link\b[^>]*\bcanonical\b[^>]*>", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_FIRST_PARAGRAPH_END = re.compile(rb"</p\s*>", re.IGNORECASE)


class CorpusMissing(Exception):
    """../shared (or its article-extraction benchmark) is not there."""


@dataclass(frozen=True)
class BenchmarkPage:
    """One page of the benchmark: its HTML and the hand-checked article body."""

    key: str
    url: str
    html: bytes
    truth: str

    @property
    def title(self) -> str:
        found = _TITLE.search(self.html)
        raw = found.group(1).decode("utf-8", "replace") if found else ""
        return " ".join(raw.split())[:200] or self.key[:12]


def load_benchmark(shared: Path) -> list[BenchmarkPage]:
    """The benchmark's pages, sorted by key; CorpusMissing when the corpus is absent."""
    root = shared / BENCHMARK
    truth_file = root / "ground-truth.json"
    if not truth_file.is_file():
        raise CorpusMissing(f"{root} not found: `make bench` needs ../shared/corpora/article-extraction-benchmark")
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pages.append(BenchmarkPage(key, truth[key].get("url", ""), html, truth[key]["articleBody"]))
    return pages


def page_copy(page: BenchmarkPage, copy: int) -> bytes:
    """The page with one unique line in its article body and no rel=canonical.

    The line makes every copy a different text (a near-duplicate, as syndicated copies are);
    dropping rel=canonical keeps the copies from collapsing into one stored article.
    """
    head, tail = _copy_halves(page)
    line = f"<p>Bench copy {copy} of page {page.key[:16]}: filed under desk {copy * 7919 % 1000}.</p>".encode()
    return head + line + tail


@functools.lru_cache(maxsize=512)
def _copy_halves(page: BenchmarkPage) -> tuple[bytes, bytes]:
    # Once per page, not per copy: the bench's web server makes a copy for every request, on the
    # same two cores as the pass it measures.
    html = _CANONICAL.sub(b"", page.html)
    at = _article_paragraph_end(html, page.truth)
    return html[:at], html[at:]


def _article_paragraph_end(html: bytes, truth: str) -> int:
    """Where a paragraph of the article body ends (so the line is article text), else after the first one."""
    for sentence in truth.split(". ")[:8]:
        words = sentence.split()
        for start in range(0, max(1, len(words) - 5), 3):
            snippet = " ".join(words[start:start + 5]).encode("utf-8")
            found = html.find(snippet) if len(snippet) >= 20 else -1
            if found >= 0:
                end = _FIRST_PARAGRAPH_END.search(html, found)
                if end is not None:
                    return end.end()
    end = _FIRST_PARAGRAPH_END.search(html, max(html.lower().find(b"<body"), 0))
    return end.end() if end is not None else len(html)


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))


def _shingle_counts(truth: str, prediction: str) -> tuple[float, float, float]:
    true, pred = _shingles(truth), _shingles(prediction)
    tp = fp = fn = 0.0
    for key in true.keys() | pred.keys():
        t, p = true.get(key, 0), pred.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def corpus_f1(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(precision, recall, F1) over (truth, prediction) pairs, as the benchmark computes them."""
    counts = [_shingle_counts(t, p) for t, p in pairs]
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
