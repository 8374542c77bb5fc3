"""Quality gate: the real pipeline over labelled news worlds, scored by the shared scorer.

Each world is built by ../shared/tools/newsworld (outlets with boilerplate, syndicated copies,
excerpts, copy-edits, AMP pages, tracking links, search redirects, a wall, dead and slow feeds),
served by its serve.py, and polled by `newswatch run` three times: batch 1, batch 1 again, batch 2.
The dev world comes from ../shared/eval-dev; the held-out one from our own labelled corpus
(tests/dedup/fixtures/holdout), which shares no text with it. Skips without ../shared.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from world import NEWSWATCH, REPO, cli_env

HOLDOUT = REPO / "tests" / "dedup" / "fixtures" / "holdout" / "articles.jsonl"
TARGETS = {"F1": 0.95, "seed_dup_recall": 1.0, "pointer_acc": 0.95, "irrelevant_rejected": 0.95,
           "same_event_rejected": 0.5, "coverage": 1.0}


def _watch_query() -> str:
    text = (REPO / "watches" / "bachelet-xinjiang" / "watch.toml").read_text(encoding="utf-8")
    return re.search(r"query = '''(.*?)'''", text, re.S).group(1)


@pytest.mark.parametrize("corpus, rng", [("dev", 7), ("holdout", 123)])
def test_the_pipeline_meets_the_quality_targets_on_a_labelled_world(corpus, rng, shared_dir, prefect_api, tmp_path):
    tools = shared_dir / "tools" / "newsworld"
    articles = shared_dir / "eval-dev" / "articles.jsonl" if corpus == "dev" else HOLDOUT
    world = tmp_path / "world"
    subprocess.run([sys.executable, str(tools / "build.py"), "--articles", str(articles),
                    "--seed", str(shared_dir / "seed" / "bachelet-xinjiang-2021-09-14.txt"),
                    "--out", str(world), "--rng", str(rng)], check=True, capture_output=True)
    log = world / "requests.jsonl"
    server = subprocess.Popen([sys.executable, str(tools / "serve.py"), "--world", str(world), "--log", str(log)],
                              stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip().rsplit(" ", 1)[-1]
        feeds = "".join(f'[[feeds]]\nname = "{n}"\nurl = "{base}/feeds/{n}"\n'
                        for n in ("wire", "world", "regional", "asia", "search", "dead", "slow"))
        config = tmp_path / "watch.toml"
        config.write_text(f'[watch]\nname = "bachelet-xinjiang"\n'
                          f'seeds = ["{REPO / "watches" / "bachelet-xinjiang" / "seed.txt"}"]\n'
                          f"query = '''{_watch_query()}'''\n{feeds}[fetch]\nallow_private_hosts = true\n")
        db = tmp_path / "nw.duckdb"

        def run_pass() -> None:
            done = subprocess.run([str(NEWSWATCH), "run", "--config", str(config), "--db", str(db)],
                                  cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr

        run_pass()
        before = log.read_text().count("\n")
        run_pass()
        again = [json.loads(line) for line in log.read_text().splitlines()[before:]]
        (world / "state.json").write_text('{"batch": 2}')
        run_pass()
    finally:
        server.terminate()
        server.wait(timeout=10)
    # The unchanged world: every feed that sends validators answers 304, and no page is fetched again.
    assert {r["status"] for r in again if r["path"] in {f"/feeds/{n}" for n in ("wire", "world", "regional",
                                                                              "asia", "search")}} == {304}
    assert not [r for r in again if not r["path"].startswith("/feeds/")]
    scored = subprocess.run([sys.executable, str(tools / "score.py"), "--world", str(world), "--db", str(db),
                             "--json"], check=True, capture_output=True, text=True).stdout
    result = json.loads(scored[: scored.rindex("}") + 1])
    print(scored.splitlines()[-1])
    for metric, floor in TARGETS.items():
        assert result[metric] >= floor, (metric, result)
