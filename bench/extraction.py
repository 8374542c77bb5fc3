"""Bare extraction, timed page by page in this process: the floor a pass is measured against."""
from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass

import trafilatura

from bench.corpus import BenchmarkPage, corpus_f1
from bench.world import BenchWorld
from extractors import extract_article

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class QualityFigure:
    """One extraction path on the 181 original pages: speed and the benchmark's F1."""

    path: str
    median_ms: float
    total_s: float
    precision: float
    recall: float
    f1: float


def _timed(pages: list[BenchmarkPage], extract) -> tuple[list[float], list[str]]:
    times, texts = [], []
    for page in pages:
        began = time.perf_counter()
        text = extract(page)
        times.append(time.perf_counter() - began)
        texts.append(text or "")
    return times, texts


def quality(pages: list[BenchmarkPage]) -> list[QualityFigure]:
    """The pipeline's extract_article and bare trafilatura.extract (default and fast) on the benchmark."""
    paths = {
        "extract_article (pipeline)": lambda p: extract_article(p.html, p.url).text,
        "trafilatura.extract": lambda p: trafilatura.extract(p.html, url=p.url),
        "trafilatura.extract fast=True": lambda p: trafilatura.extract(p.html, url=p.url, fast=True),
    }
    figures = []
    for name, extract in paths.items():
        times, texts = _timed(pages, extract)
        precision, recall, f1 = corpus_f1([(p.truth, t) for p, t in zip(pages, texts)])
        figures.append(QualityFigure(name, 1000 * statistics.median(times), sum(times), precision, recall, f1))
    return figures


def bare_extraction_seconds(world: BenchWorld, indices: Iterable[int]) -> float:
    """Seconds of bare sequential `trafilatura.extract` (its defaults) over the served pages `indices`.

    The issue's floor: what extraction alone costs, with nothing of ours around it. The pipeline's
    own `extract_article` (fast mode, recall focus, metadata from the page head) is cheaper than this floor.
    """
    elapsed = 0.0
    for index in indices:
        body = world.page_body(index)  # made outside the clock, as the pass gets it from the network
        began = time.perf_counter()
        trafilatura.extract(body, url=world.page_url(index))
        elapsed += time.perf_counter() - began
    return elapsed
