"""End to end: the installed `newswatch` command against the demo's news world on 127.0.0.1.

One world, one database and three passes for the module (each pass costs seconds): the first
pass on batch 1, a second pass on the unchanged world, a third on batch 2. Each fixture snapshots
what its pass did right after it, so the tests can run in any order. The CLI children share the
session's Prefect server through PREFECT_API_URL.
"""
from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from world import (Expected, WorldRequest, WorldServer, articles_by_url, cli_env, dump, expected_pages,
                   feed_requests, newswatch, page_requests, served_world, write_watch_config)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Pass:
    """What one `newswatch run` printed, requested and left in the warehouse."""

    returncode: int
    stdout: str
    stderr: str
    requests: tuple[WorldRequest, ...]
    articles: dict[str, dict]
    aliases: dict[str, int]  # article_url: url -> article id
    sources: dict[str, tuple]  # feed name -> (last_status, last_error, http_status)


@pytest.fixture(scope="module")
def env(prefect_api) -> dict[str, str]:
    return cli_env(PREFECT_API_URL=prefect_api)


@pytest.fixture(scope="module")
def world():
    with served_world() as server:
        yield server


@pytest.fixture(scope="module")
def paths(world: WorldServer, tmp_path_factory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("e2e")
    return write_watch_config(home / "watch.toml", world), home / "newswatch.duckdb"


def _run_pass(world: WorldServer, paths, env) -> Pass:
    config, db = paths
    world.clear_log()
    proc = newswatch("run", "--config", config, "--db", db, env=env)
    sources = {name: (status, error, http) for name, status, error, http in
               dump(db, "SELECT name, last_status, last_error, http_status FROM sources")} if db.exists() else {}
    aliases = dict(dump(db, "SELECT url, article_id FROM article_url")) if db.exists() else {}
    return Pass(proc.returncode, proc.stdout, proc.stderr, tuple(world.requests),
                articles_by_url(db) if db.exists() else {}, aliases, sources)


@pytest.fixture(scope="module")
def first_pass(world, paths, env) -> Pass:
    world.batch = 1
    return _run_pass(world, paths, env)


@pytest.fixture(scope="module")
def unchanged_pass(first_pass, world, paths, env) -> Pass:
    world.batch = 1
    return _run_pass(world, paths, env)


@pytest.fixture(scope="module")
def later_pass(unchanged_pass, world, paths, env) -> Pass:
    world.batch = 2
    return _run_pass(world, paths, env)


@pytest.fixture(scope="module")
def truth(world) -> dict[str, Expected]:
    return expected_pages(world)


def _clean(p: Pass) -> None:
    assert p.returncode == 0, p.stderr
    for stream in (p.stdout, p.stderr):
        assert "Traceback" not in stream
        assert "ERROR" not in stream  # Prefect's log level names a failed task or flow run in capitals


def _seed(p: Pass) -> dict:
    seeds = [a for a in p.articles.values() if a["status"] == "seed"]
    assert len(seeds) == 1
    return seeds[0]


def _check_decisions(p: Pass, truth: dict[str, Expected], batch: int) -> None:
    seed_id = _seed(p)["id"]
    for exp in truth.values():
        if exp.batch != batch or exp.status == "alias":
            continue
        row = p.articles.get(exp.url)
        assert row is not None, f"{exp.page_id} was not stored under {exp.url}"
        assert row["status"] == exp.status, f"{exp.page_id}: {row['status']} ({row['reason']})"
        if exp.status == "duplicate":
            original = seed_id if exp.original_url == "seed" else p.articles[exp.original_url]["id"]
            assert row["duplicate_of"] == original, f"{exp.page_id}: copy of #{row['duplicate_of']} ({row['reason']})"
        else:
            assert row["duplicate_of"] is None
        assert row["reason"]


def test_first_pass_decides_every_report(first_pass: Pass, truth) -> None:
    _clean(first_pass)
    seed = _seed(first_pass)
    assert seed["url"].startswith("seed:") and seed["text"].startswith("The senior UN human rights official")
    _check_decisions(first_pass, truth, batch=1)
    statuses = sorted(a["status"] for a in first_pass.articles.values())
    expected = sorted(["seed"] + [e.status for e in truth.values() if e.batch == 1])
    assert statuses == expected
    assert "pass 1 of watch" in first_pass.stdout
    assert "articles: 1 new, 4 duplicates, 3 irrelevant, 0 errors" in first_pass.stdout


def test_a_first_pass_creates_the_default_folder_of_its_database(later_pass: Pass, paths, env, tmp_path) -> None:
    # As `make run` on a fresh clone: `data/` does not exist yet, and the path is relative.
    config, _db = paths
    proc = newswatch("run", "--config", config, "--db", Path("data") / "newswatch.duckdb", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "pass 1 of watch" in proc.stdout
    assert dump(tmp_path / "data" / "newswatch.duckdb", "SELECT status FROM runs") == [("completed",)]


def test_first_pass_records_the_dead_feed(first_pass: Pass, world) -> None:
    assert first_pass.sources["dead"][0] == "error"
    assert "500" in (first_pass.sources["dead"][1] or "")
    assert {name for name, (status, *_rest) in first_pass.sources.items() if status == "ok"} == (
        set(world.world.feeds) - {"dead"})
    assert "failed: dead" in first_pass.stdout


def test_first_pass_fetches_each_page_once(first_pass: Pass, truth) -> None:
    # wire-visit is linked by two feeds; it is still fetched once
    fetched = [r.path for r in page_requests(first_pass.requests)]
    assert len(fetched) == len(set(fetched)) == sum(1 for e in truth.values() if e.batch == 1)


def test_unchanged_world_changes_nothing(first_pass: Pass, unchanged_pass: Pass) -> None:
    _clean(unchanged_pass)
    feeds = [r for r in feed_requests(unchanged_pass.requests) if r.path != "/feeds/dead"]
    assert feeds and all(r.status == 304 and r.if_none_match for r in feeds), feeds
    assert page_requests(unchanged_pass.requests) == []
    assert unchanged_pass.articles == first_pass.articles
    assert unchanged_pass.aliases == first_pass.aliases
    assert "0 new, 0 duplicates, 0 irrelevant, 0 errors" in unchanged_pass.stdout


def test_later_world_adds_updates_and_copies(first_pass: Pass, later_pass: Pass, truth) -> None:
    _clean(later_pass)
    _check_decisions(later_pass, truth, batch=2)
    for url, row in first_pass.articles.items():  # what the first pass stored stays as it was
        assert later_pass.articles[url] == row
    new_later = {e.url for e in truth.values() if e.batch == 2 and e.status == "new"}
    assert {a["run_id"] for u, a in later_pass.articles.items() if u in new_later} == {
        max(a["run_id"] or 0 for a in later_pass.articles.values())}


def test_tracking_links_and_amp_pages_are_stored_once(later_pass: Pass, truth) -> None:
    for exp in truth.values():
        extra_links = [link for link in exp.links if link != exp.url]
        if exp.status != "alias" and not extra_links:
            continue
        original = exp.original_url if exp.status == "alias" else exp.url
        article_id = later_pass.articles[original]["id"]
        for link in extra_links + ([exp.url] if exp.status == "alias" else []):
            assert link not in later_pass.articles, f"{link} stored as its own article"
            assert later_pass.aliases.get(link) == article_id, f"{link} is not an alias of #{article_id}"
    vote = truth["wire-council-vote"]
    assert any("utm_source=" in link for link in vote.links)  # the world does carry a tracking link


def test_explain_prints_the_decision(later_pass: Pass, truth, paths, env) -> None:
    config, db = paths
    seed_id = _seed(later_pass)["id"]
    proc = newswatch("explain", truth["wire-seed-copy"].url, "--config", config, "--db", db, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "status:     duplicate" in proc.stdout
    assert f"copy of:    #{seed_id}" in proc.stdout
    tracking = next(link for link in truth["wire-council-vote"].links if "utm_" in link)
    proc = newswatch("explain", tracking, "--config", config, "--db", db, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "UN rights council rejects debate on Xinjiang" in proc.stdout
    assert "status:     new" in proc.stdout and "what's new:" in proc.stdout


def test_explain_unknown_url_exits_2(later_pass: Pass, paths, env) -> None:
    config, db = paths
    proc = newswatch("explain", "http://127.0.0.1:9/never-seen", "--config", config, "--db", db, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "newswatch: no article is known under http://127.0.0.1:9/never-seen"


def test_sources_prints_the_table(later_pass: Pass, world, paths, env) -> None:
    config, db = paths
    proc = newswatch("sources", "--config", config, "--db", db, env={**env, "COLUMNS": "220"})
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    for name in world.world.feeds:
        assert name in out
    assert "error" in out and "HTTP 500" in out
    assert "not_modified" in out  # the sports feed did not change in batch 2


# --- config errors: exit 2, one line naming the problem ------------------------------------

GOOD_WATCH = """
[watch]
name = "w"
seeds = ["seed.txt"]
query = "xinjiang AND bachelet"

[[feeds]]
url = "http://127.0.0.1:9/feed"
"""

BAD_CONFIGS = {
    "unknown key": (GOOD_WATCH.replace('name = "w"', 'name = "w"\nquerry = "x"'), "unknown key 'querry'"),
    "missing seed": (GOOD_WATCH.replace('"seed.txt"', '"nowhere.txt"'), "seed file not found"),
    "malformed feed URL": (GOOD_WATCH.replace("http://127.0.0.1:9/feed", "htp:/feed"), "malformed URL 'htp:/feed'"),
    "bad query syntax": (GOOD_WATCH.replace("xinjiang AND bachelet", "(xinjiang AND"), "query"),
}


MISSING_FILE = "missing config file"


@pytest.fixture(scope="module")
def config_error_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """`newswatch run` on each bad config, the children started together (each costs an interpreter start)."""
    home = tmp_path_factory.mktemp("bad-configs")
    (home / "seed.txt").write_text("date 2021-09-14 Bachelet and Xinjiang.", encoding="utf-8")
    configs = {}
    for i, (problem, (text, _)) in enumerate(BAD_CONFIGS.items()):
        configs[problem] = home / f"watch-{i}.toml"
        configs[problem].write_text(text, encoding="utf-8")
    configs[MISSING_FILE] = home / "absent.toml"
    with ThreadPoolExecutor(max_workers=len(configs)) as pool:
        runs = {problem: pool.submit(newswatch, "run", "--config", config, "--db", home / "db.duckdb")
                for problem, config in configs.items()}
        results = {problem: (configs[problem], run.result()) for problem, run in runs.items()}
    assert not (home / "db.duckdb").exists()  # a bad config never creates a database
    return results


@pytest.mark.parametrize("problem", [*BAD_CONFIGS, MISSING_FILE])
def test_config_errors_exit_2_with_one_line(problem: str, config_error_runs) -> None:
    config, proc = config_error_runs[problem]
    names = BAD_CONFIGS[problem][1] if problem in BAD_CONFIGS else "config file not found"
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"newswatch: {config}") and names in lines[0]


def test_good_config_of_the_error_tests_is_good(tmp_path: Path) -> None:
    """The bad configs above differ from this one only by their one problem."""
    from flows.config import load_config

    (tmp_path / "seed.txt").write_text("date 2021-09-14 Bachelet and Xinjiang.", encoding="utf-8")
    (tmp_path / "watch.toml").write_text(GOOD_WATCH, encoding="utf-8")
    assert load_config(tmp_path / "watch.toml").name == "w"


# --- the demo -----------------------------------------------------------------------------

def test_demo_runs_offline_and_explains_what_it_found(env, tmp_path: Path) -> None:
    from flows.demo import load_world

    kept = tmp_path / "demo.duckdb"
    proc = newswatch("demo", "--keep", kept, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "Pass 1" in out and "Pass 2" in out
    world = load_world()
    for page in world.pages.values():
        if page.expect == "new":
            assert page.title in out
    assert "Updates: 5" in out
    assert "failed: dead: HTTP 500" in out
    assert f"kept at {kept}" in out
    statuses = dict(dump(kept, "SELECT status, count(*) FROM articles GROUP BY status"))
    assert statuses == {"seed": 1, "new": 5, "duplicate": 5, "irrelevant": 3}
