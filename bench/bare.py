"""Bare `trafilatura.extract`, timed in a process that has imported nothing of newswatch.

`python -m bench.bare JOB OUT` reads pages (url, bytes) and extraction modes from the pickle JOB,
times each call, and writes the seconds (and the texts, when asked) to the JSON file OUT.

The floor must be stock trafilatura. newswatch changes trafilatura's HTML parser for its own
extraction (extractors.extract gives it one element class, chosen in C), and that change is
process-wide: a floor timed in a process that imported the pipeline ran 8% faster than stock.
So this module imports only the standard library and trafilatura, and reports what it loaded.
"""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

OURS = ("extractors", "dedup", "flows", "warehouse", "alerts")
MODES = {"default": {}, "fast": {"fast": True}}


def time_pages(pages: list[tuple[str, bytes]], modes: list[str], keep_texts: bool) -> dict:
    """Seconds of each `trafilatura.extract` call per mode (and its text when `keep_texts`)."""
    import trafilatura
    from lxml.html import fromstring
    from trafilatura.utils import HTML_PARSER

    if pages:  # first-call set-up (lazy imports, stop lists) outside the clock, as a warm process has it
        trafilatura.extract(pages[0][1], url=pages[0][0])
    out: dict = {"seconds": {}, "texts": {}}
    for mode in modes:
        options = MODES[mode]
        seconds, texts = [], []
        for url, body in pages:
            began = time.perf_counter()
            text = trafilatura.extract(body, url=url, **options)
            seconds.append(time.perf_counter() - began)
            texts.append(text or "")
        out["seconds"][mode] = seconds
        if keep_texts:
            out["texts"][mode] = texts
    out["ours_loaded"] = sorted({m.split(".")[0] for m in sys.modules} & set(OURS))
    out["element_class"] = type(fromstring("<form></form>", parser=HTML_PARSER)).__name__
    return out


def run(pages: list[tuple[str, bytes]], modes: list[str], work: Path, keep_texts: bool = False) -> dict:
    """Time `pages` in a fresh `python -m bench.bare` process; raise if it ran anything but stock trafilatura."""
    job, out = work / "bare-job.pickle", work / "bare-out.json"
    job.write_bytes(pickle.dumps({"pages": pages, "modes": modes, "keep_texts": keep_texts}))
    done = subprocess.run([sys.executable, "-m", "bench.bare", str(job), str(out)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"bare extraction process exited with {done.returncode}:\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    job.unlink()
    out.unlink()
    if result["ours_loaded"]:
        raise RuntimeError(f"the bare extraction process loaded newswatch's {result['ours_loaded']}")
    return result


def main(argv: list[str]) -> int:
    job = pickle.loads(Path(argv[0]).read_bytes())
    result = time_pages(job["pages"], job["modes"], job["keep_texts"])
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
