"""Extraction timed page by page: the pipeline's path here, bare trafilatura (the floor a pass is
measured against) in a process of its own that never imported newswatch (bench.bare)."""
from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench import bare
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


def quality(pages: list[BenchmarkPage], work: Path) -> list[QualityFigure]:
    """The pipeline's extract_article and bare trafilatura.extract (default and fast) on the benchmark."""
    runs = {"extract_article (pipeline)": _timed(pages, lambda p: extract_article(p.html, p.url).text)}
    stock = bare.run([(p.url, p.html) for p in pages], ["default", "fast"], work, keep_texts=True)
    runs["trafilatura.extract"] = (stock["seconds"]["default"], stock["texts"]["default"])
    runs["trafilatura.extract fast=True"] = (stock["seconds"]["fast"], stock["texts"]["fast"])
    figures = []
    for name, (times, texts) in runs.items():
        precision, recall, f1 = corpus_f1([(p.truth, t) for p, t in zip(pages, texts)])
        figures.append(QualityFigure(name, 1000 * statistics.median(times), sum(times), precision, recall, f1))
    return figures


def bare_extraction_seconds(world: BenchWorld, indices: Iterable[int], work: Path) -> float:
    """Seconds of bare sequential `trafilatura.extract` (its defaults) over the served pages `indices`.

    The issue's floor: what extraction alone costs, with nothing of ours around it, so it runs in a
    process that never imported newswatch (bench.bare). The pipeline's own `extract_article` (fast
    mode, recall focus, metadata from the page head) is cheaper than this floor.
    """
    # The pages are made here, outside the clock, as the pass gets them from the network.
    pages = [(world.page_url(index), world.page_body(index)) for index in indices]
    return sum(bare.run(pages, ["default"], work)["seconds"]["default"])
