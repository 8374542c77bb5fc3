"""Replay a news world built by ../shared/tools/newsworld through the Decider, as the pipeline would.

Shared by the dev-world and held-out quality gates: pages are extracted with trafilatura, titles
come from the feed entry, a page behind a wall is judged on its feed summary, reports are decided
oldest first (whole pages before feed-only texts at one moment, then by URL), and stored articles
are looked up by LSH band. `metrics` computes score.py's figures from the replay.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from dedup import Decider, Document, fingerprint, parse_query, seed_document

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
NEWSWORLD = SHARED / "tools" / "newsworld"
SEED = REPO / "watches" / "bachelet-xinjiang" / "seed.txt"
BASE = "http://world.invalid"
MIN_FEED_TEXT_WORDS = 25  # as the pipeline: a shorter feed text cannot stand in for a page


def _feed_summaries(world: Path) -> dict[str, str]:
    """Link path -> the summary its feed gives (the last batch's feeds list every item)."""
    import xml.etree.ElementTree as ET

    out = {}
    for name in ("wire", "world", "regional", "asia", "search"):
        for f in (world / "www" / "feeds" / "b2").glob(f"{name}.*"):
            raw = f.read_text(encoding="utf-8").replace("regional news & more", "regional news and more")
            root = ET.fromstring(raw)
            for el in root.iter():
                tag = el.tag.rsplit("}", 1)[-1]
                if tag not in ("item", "entry"):
                    continue
                link = summary = ""
                for child in el:
                    ctag = child.tag.rsplit("}", 1)[-1]
                    if ctag == "link":
                        link = child.get("href") or child.text or ""
                    elif ctag in ("description", "summary"):
                        summary = child.text or ""
                out[link.removeprefix(BASE)] = summary
    return out


def pages(world: Path, articles: Path, unfollowable_redirects: bool = False) -> list[dict]:
    """Every report of the world as the pipeline judges it, with its manifest labels.

    A search-engine redirect link lands on a page listed anyway, so it is left out; with
    `unfollowable_redirects` it is judged on its feed summary instead, as happens when the
    redirect's target host cannot be resolved.
    """
    trafilatura = pytest.importorskip("trafilatura")
    manifest = json.loads((world / "manifest.json").read_text(encoding="utf-8"))
    published = {}
    for line in articles.read_text(encoding="utf-8").splitlines():
        if line.strip():
            a = json.loads(line)
            published[a["id"]] = a["published"]
    summaries = _feed_summaries(world)
    out = []
    for p in manifest["pages"]:
        if p["variant"] == "tracking":
            continue  # the same canonical URL as a page listed anyway
        stamp = published.get(p["item"].split("~")[0], "2021-09-14T09:30:00Z")
        # The pipeline takes the title from the feed entry, which carries the page's own headline.
        row = {**p, "published_at": datetime.fromisoformat(stamp.replace("Z", "+00:00"))}
        if p["variant"] == "redirect":
            if not unfollowable_redirects:
                continue
            text = summaries.get(p["path"], "")
            if len(text.split()) >= MIN_FEED_TEXT_WORDS:
                out.append({**row, "text": text, "from_feed": True})
            continue
        if p["path"] in manifest["blocked"]:
            out.append({**row, "text": summaries.get(p["path"], ""), "from_feed": True})
            continue
        html = (world / "www" / p["path"].lstrip("/") / "index.html").read_text(encoding="utf-8")
        doc = trafilatura.bare_extraction(html, url=BASE + p["path"], with_metadata=True)
        out.append({**row, "text": doc.text or ""})
    return out


def _status(doc: Document, decision) -> Document:
    return Document(key=doc.key, title=doc.title, text=doc.text, published_at=doc.published_at,
                    status=decision.status, duplicate_of=decision.duplicate_of, story_key=decision.story_key)


def replay(pages_: list[dict], query: str) -> dict[str, tuple]:
    """Decide batch 1, then batch 2, as two monitor passes would; key -> (doc, fp, decision, page)."""
    seed = seed_document("seed", SEED.read_text(encoding="utf-8"))
    parsed = parse_query(query)
    store: dict[str, tuple] = {}
    for batch in (1, 2):
        updates = [_status(d, dec) for d, _, dec, _ in store.values() if dec.status == "new"]
        decider = Decider([seed], updates, parsed)
        # As flows/pipeline.py does: oldest first; at one moment whole pages before feed-only texts.
        todo = sorted((p for p in pages_ if p["batch"] == batch),
                      key=lambda p: (p["published_at"], p.get("from_feed", False), p["path"]))
        for p in todo:
            doc = Document(key=str(len(store) + 1), title=p["title"], text=p["text"], published_at=p["published_at"])
            fp = fingerprint(doc.text)
            candidates = [(_status(d, dec), f) for d, f, dec, _ in store.values()
                          if any(x == y for x, y in zip(f.bands, fp.bands))]
            decision = decider.decide(doc, fp, candidates)
            decider.remember(doc, fp, decision)
            store[doc.key] = (doc, fp, decision, p)
    return store


def metrics(store: dict[str, tuple]) -> dict:
    """The scorer's metrics (score.py): redirect rows, which it cannot match to a page, count as it counts them."""
    rows = list(store.values())
    matched = [r for r in rows if r[3]["variant"] != "redirect"]
    new = [r for r in matched if r[2].status == "new"]
    unmatched_new = [r for r in rows if r[3]["variant"] == "redirect" and r[2].status == "new"]
    relevant = {r[3]["cluster"] for r in rows if r[3]["label"] == "relevant"}
    hit = {r[3]["cluster"] for r in new if r[3]["label"] == "relevant"}
    alerts = len(new) + len(unmatched_new)
    precision, recall = len(hit) / max(alerts, 1), len(hit) / len(relevant)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def frac(sel, ok):
        return sum(1 for r in sel if ok(r)) / len(sel) if sel else 1.0

    def pointer_ok(r):
        target = r[2].duplicate_of
        if r[3]["cluster"] == "seed" and target == "seed":
            return True
        return target in store and store[target][3]["variant"] != "redirect" and store[target][3]["cluster"] == r[3]["cluster"]

    return {
        "F1": f1, "precision": precision, "recall": recall,
        "seed_dup_recall": frac([r for r in matched if r[3]["label"] == "seed" and r[3]["variant"] != "same_event"],
                                lambda r: r[2].status == "duplicate"),
        "same_event_rejected": frac([r for r in matched if r[3]["variant"] == "same_event"], lambda r: r[2].status != "new"),
        "pointer_acc": frac([r for r in matched if r[2].status == "duplicate"], pointer_ok),
        "irrelevant_rejected": frac([r for r in matched if r[3]["label"] == "irrelevant"], lambda r: r[2].status != "new"),
        "missed": sorted(relevant - hit),
        "false_alerts": sorted(f"{r[3]['item']}:{r[3]['variant']}" for r in new + unmatched_new
                               if r[3]["label"] != "relevant" or r[3]["variant"] == "redirect"),
    }


def build_world(out: Path, rng: int, articles: Path) -> Path:
    """Build a news world from `articles` with the shared builder."""
    subprocess.run([sys.executable, str(NEWSWORLD / "build.py"), "--articles", str(Path(articles).resolve()),
                    "--seed", str(SEED), "--out", str(Path(out).resolve()), "--rng", str(rng)],
                   check=True, capture_output=True, cwd=NEWSWORLD)
    return out


def assert_targets(m: dict) -> None:
    assert m["F1"] >= 0.95, m
    assert m["seed_dup_recall"] == 1.0, m
    assert m["pointer_acc"] >= 0.95, m
    assert m["irrelevant_rejected"] >= 0.95, m
    assert m["same_event_rejected"] >= 0.5, m
