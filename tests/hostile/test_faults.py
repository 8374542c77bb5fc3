"""Faults, end to end: a pass killed at random moments, two passes at once, a source that keeps failing.

Each test serves a small world on 127.0.0.1 and drives the installed `newswatch` command as a child
process against a real DuckDB file, with the session's Prefect server (the `prefect_api` fixture).
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from extractors_testkit import LocalServer
from warehouse.passlock import exclusive_pass
from hostile_world import (REPO, Item, SmallWorld, article_page, cli_env, conditional, live_group_members, newswatch,
                           rows, rss, small_world, start_newswatch, wait_for, write_watch)

pytestmark = pytest.mark.slow

KILL_ROUNDS = 5
KILL_SEED = 20220831
PAGE_DELAY = 0.3  # seconds per page: a pass spends a while fetching, so a kill can land in it


@pytest.fixture
def env(prefect_api: str) -> dict[str, str]:
    return cli_env(prefect_api)


@pytest.fixture
def world_server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    yield srv
    srv.stop()


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the pass itself, then whatever it left behind in its process group (pool workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # orphans would hold the output pipes open
    except ProcessLookupError:
        pass
    proc.communicate(timeout=60)


def _assert_consistent(db: Path) -> None:
    """The file opens and no table holds twice a row that must be there once.

    Reads the tables, not the public views: a pass killed between the first migration and the
    views (recreated by every writer) leaves a file whose views come with the next pass.
    """
    tables = {name for (name,) in rows(db, "SELECT table_name FROM information_schema.tables")}
    if "article" not in tables:
        return  # killed before the schema was created: nothing was committed
    assert rows(db, "SELECT watch, url, count(*) FROM article GROUP BY ALL HAVING count(*) > 1") == []
    assert rows(db, "SELECT watch, url, count(*) FROM article_url GROUP BY ALL HAVING count(*) > 1") == []
    assert rows(db, "SELECT id, count(*) FROM article GROUP BY id HAVING count(*) > 1") == []
    assert rows(db, "SELECT count(*) FROM article_url u ANTI JOIN article a ON a.id = u.article_id") == [(0,)]
    assert rows(db, "SELECT count(*) FROM article_band b ANTI JOIN article a ON a.id = b.article_id") == [(0,)]
    assert rows(db, "SELECT article_id, position, count(*) FROM novel_sentence GROUP BY ALL "
                    "HAVING count(*) > 1") == []
    assert rows(db, "SELECT count(*) FROM article WHERE status = 'seed'")[0][0] <= 1


def _pages_stored(db: Path, server: LocalServer) -> dict[str, int]:
    return dict(rows(db, "SELECT url, count(*) FROM articles WHERE url LIKE ? GROUP BY url",
                     [f"http://{server.host_port}/%"]))


def test_a_pass_killed_at_random_moments_loses_and_duplicates_nothing(
        world_server: LocalServer, env: dict[str, str], tmp_path: Path) -> None:
    # Pages one at a time, 0.2 s each: fetching and storing spans about two fifths of a pass, so
    # whatever the machine's speed, at least one of the five spread kills lands in it.
    world: SmallWorld = small_world(world_server, page_delay=0.2)
    config = write_watch(tmp_path / "watch.toml", world.feeds, [world_server.host_port], timeout=10.0,
                         per_host_concurrency=1)

    # One undisturbed pass on a scratch database says how long a pass lasts, so kills spread over it.
    started = time.monotonic()
    probe = newswatch("run", "--config", config, "--db", tmp_path / "probe.duckdb", env=env)
    duration = time.monotonic() - started
    assert probe.returncode == 0, probe.stderr
    print(f"an undisturbed pass took {duration:.1f} s")

    db = tmp_path / "killed.duckdb"
    rng = random.Random(KILL_SEED)
    outcomes = []
    for round_ in range(KILL_ROUNDS):
        delay = duration * (round_ + rng.random()) / KILL_ROUNDS  # one kill in each fifth of a pass
        proc = start_newswatch("run", "--config", config, "--db", db, env=env)
        try:
            proc.wait(timeout=delay)
            proc.communicate(timeout=60)
            outcomes.append(f"{delay:.1f} s: finished first (exit {proc.returncode})")
        except subprocess.TimeoutExpired:
            _kill(proc)
            outcomes.append(f"{delay:.1f} s: killed")
        if db.exists():
            _assert_consistent(db)
    print("kills:", "; ".join(outcomes))

    final = newswatch("run", "--config", config, "--db", db, env=env)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stdout + final.stderr

    _assert_consistent(db)
    assert rows(db, "SELECT url, count(*) FROM articles GROUP BY url HAVING count(*) > 1") == []
    assert rows(db, "SELECT count(*) FROM articles WHERE status = 'seed'") == [(1,)]
    runs = rows(db, "SELECT id, status FROM run ORDER BY id")
    assert runs[-1][1] == "completed"
    assert {status for _, status in runs[:-1]} <= {"running", "failed", "completed"}
    assert len(runs) <= KILL_ROUNDS + 1
    assert _pages_stored(db, world_server) == {url: 1 for url in world.pages}


def test_a_pass_killed_while_fetching_pages_is_completed_by_the_next(
        world_server: LocalServer, env: dict[str, str], tmp_path: Path) -> None:
    # The feeds answer conditional GETs: had the killed pass kept their new ETags, the next one would
    # get 304 Not Modified and never see the entries whose pages were not stored yet.
    world = small_world(world_server, page_delay=PAGE_DELAY)
    config = write_watch(tmp_path / "watch.toml", world.feeds, [world_server.host_port], timeout=10.0)
    db = tmp_path / "killed.duckdb"

    proc = start_newswatch("run", "--config", config, "--db", db, env=env)
    # Pages are asked for only after every feed was polled: the kill lands between polling and storing.
    fetching = wait_for(lambda: any(p.startswith("/news/") for p in world_server.paths()) or proc.poll() is not None,
                        timeout=120)
    assert fetching and proc.poll() is None, "the pass never started fetching pages"
    _kill(proc)
    _assert_consistent(db)

    final = newswatch("run", "--config", config, "--db", db, env=env)
    assert final.returncode == 0, final.stderr
    assert _pages_stored(db, world_server) == {url: 1 for url in world.pages}
    _assert_consistent(db)


def test_a_killed_pass_leaves_no_extraction_workers_behind(
        world_server: LocalServer, env: dict[str, str], tmp_path: Path) -> None:
    # Spawned pool workers hold both ends of their call-queue pipe: unless they watch their parent,
    # they wait for work forever after a SIGKILL, a pair per killed pass.
    world = small_world(world_server, page_delay=PAGE_DELAY)
    config = write_watch(tmp_path / "watch.toml", world.feeds, [world_server.host_port], timeout=10.0)
    proc = start_newswatch("run", "--config", config, "--db", tmp_path / "killed.duckdb", env=env)
    try:
        workers = wait_for(lambda: len(live_group_members(proc.pid)) > 2 or proc.poll() is not None, timeout=120)
        assert workers and proc.poll() is None, "the pass never started its extraction workers"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        gone = wait_for(lambda: not live_group_members(proc.pid), timeout=5)
        left = live_group_members(proc.pid)
    finally:
        _kill(proc)
    assert gone, f"processes of the killed pass still running: {left}"


@dataclass(frozen=True)
class TwoPasses:
    """Two passes started on one database, the second while the first is inside its pass."""

    db: Path
    page: str
    first: subprocess.CompletedProcess
    first_pid: int
    second: subprocess.CompletedProcess
    first_was_running: bool  # when the second had exited


@pytest.fixture(scope="module")
def two_passes(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoPasses]:
    tmp = tmp_path_factory.mktemp("two-passes")
    server = LocalServer().start()
    release = threading.Event()
    try:
        slow_path = "/feeds/slow.xml"
        page = server.url("/news/slow-story")
        server.add("/news/slow-story", article_page("A slow story", ["A slow story with slow words. " * 20]),
                   content_type="text/html")
        # The feed answers only when the test says so: the first pass holds its lock until then.
        server.add_handler(slow_path, conditional(rss([Item(page, "A slow story")]), "application/rss+xml",
                                                  release=release))
        config = write_watch(tmp / "watch.toml", [("slow", server.url(slow_path))], [server.host_port],
                             timeout=150.0)
        db = tmp / "shared.duckdb"
        env = cli_env(prefect_api)
        first = start_newswatch("run", "--config", config, "--db", db, env=env)
        try:
            asked = wait_for(lambda: slow_path in server.paths() or first.poll() is not None, timeout=120)
            assert asked and first.poll() is None, "the first pass never polled its feed"
            second = newswatch("run", "--config", config, "--db", db, env=env, timeout=120)
            first_was_running = first.poll() is None
        finally:
            release.set()
        out, err = first.communicate(timeout=180)
        yield TwoPasses(db, page, subprocess.CompletedProcess(first.args, first.returncode, out, err), first.pid,
                        second, first_was_running)
    finally:
        release.set()
        server.stop()


def test_a_second_pass_on_the_same_database_gives_up_naming_the_first(two_passes: TwoPasses) -> None:
    second = two_passes.second
    assert second.returncode == 1
    assert f"another monitor pass is running on {two_passes.db}" in second.stderr
    assert f"pid {two_passes.first_pid}" in second.stderr
    assert two_passes.first_was_running, "the second pass waited for the first instead of giving up"


def test_the_first_of_two_passes_completes_and_nothing_is_corrupted(two_passes: TwoPasses) -> None:
    assert two_passes.first.returncode == 0, two_passes.first.stderr
    db = two_passes.db
    assert rows(db, "SELECT status FROM run") == [("completed",)]  # the second pass recorded no run
    assert [url for (url,) in rows(db, "SELECT url FROM articles WHERE status <> 'seed'")] == [two_passes.page]
    _assert_consistent(db)


def test_the_second_pass_says_so_in_one_line(two_passes: TwoPasses) -> None:
    lines = two_passes.second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newswatch: another monitor pass is running on "), lines


def test_the_pass_lock_taken_again_in_its_process_is_the_same_lock_even_for_a_new_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI takes the lock before the flow does; on a fresh clone `data/` does not exist yet when
    # the CLI takes it, and does when the flow takes it again: the flow once refused its own pass.
    monkeypatch.chdir(tmp_path)
    db = Path("data") / "newswatch.duckdb"
    with exclusive_pass(db), exclusive_pass(db), exclusive_pass(tmp_path / "data" / "newswatch.duckdb"):
        assert (tmp_path / "data").is_dir()  # and no WarehouseBusyError naming this very process
    with exclusive_pass(db):  # let go when the outer one ended
        pass


def test_the_monitor_deployment_runs_one_at_a_time() -> None:
    deployments = yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]
    monitor = next(d for d in deployments if d["name"] == "monitor")
    assert monitor["concurrency_limit"] == 1


def test_a_source_that_keeps_failing_is_backed_off_and_shows_in_sources(
        world_server: LocalServer, env: dict[str, str], tmp_path: Path) -> None:
    broken_path = "/feeds/broken.xml"
    world_server.add(broken_path, b"internal server error", status=500, content_type="text/plain")
    page = world_server.url("/news/fine")
    world_server.add("/news/fine", b"<html><body><article><p>" + b"Fine words here. " * 40 + b"</p></article>"
                     b"</body></html>", content_type="text/html")
    world_server.add_handler("/feeds/fine.xml", conditional(rss([Item(page, "Fine")]), "application/rss+xml"))
    feeds = [("broken", world_server.url(broken_path)), ("fine", world_server.url("/feeds/fine.xml"))]
    config = write_watch(tmp_path / "watch.toml", feeds, [world_server.host_port], timeout=10.0)
    db = tmp_path / "backoff.duckdb"

    def broken_polls() -> int:
        return world_server.paths().count(broken_path)

    for attempt in (1, 2, 3):
        done = newswatch("run", "--config", config, "--db", db, env=env)
        assert done.returncode == 0, done.stderr  # a failing source never fails the pass
        assert broken_polls() == attempt
        assert "broken" in done.stdout and "HTTP 500" in done.stdout
        (failures, status, retry_after), = rows(
            db, "SELECT consecutive_failures, last_status, retry_after FROM sources WHERE name = 'broken'")
        assert (failures, status) == (attempt, "error")
    assert retry_after is not None and retry_after > datetime.now(timezone.utc)

    fourth = newswatch("run", "--config", config, "--db", db, env=env)
    assert fourth.returncode == 0, fourth.stderr
    assert broken_polls() == 3, "a source in back-off was polled again"
    assert "1 backing off" in fourth.stdout
    assert world_server.paths().count("/feeds/fine.xml") == 4  # the others are still polled

    listing = newswatch("sources", "--config", config, "--db", db, env={**env, "COLUMNS": "250"})
    assert listing.returncode == 0, listing.stderr
    broken_line = next(line for line in listing.stdout.splitlines() if "broken" in line)
    assert "error" in broken_line and "HTTP 500" in listing.stdout
    assert " 3 " in broken_line
