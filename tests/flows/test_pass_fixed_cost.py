"""What a pass need not pay for: extraction workers when nothing is new, a wait on a server that stays up, FastAPI."""
from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from bench.corpus import BenchmarkPage
from bench.world import BenchWorld
from extractors import ExtractionPool
from flows.config import load_config
from flows.monitor import around_flow_run
from flows.plain_flow import PlainParameterFlow
from flows.runner import run_monitor_pass
from warehouse.connection import SMALL_LOG_BYTES, wal_path
from warehouse.errors import WarehouseError
from world import cli_env, newswatch

PARAGRAPH = ("The rights office said on Tuesday that its staff had met officials in the region and would "
             "report on what they found within weeks, after years of requests for access. ")
PAGES = [BenchmarkPage(f"page{i:02d}", f"https://example.org/{i}",
                       f"<html><head><title>Report {i}</title></head><body><article><p>{PARAGRAPH * 6}</p>"
                       f"<p>Report number {i} of the fixed-cost test.</p></article></body></html>".encode(),
                       PARAGRAPH * 6) for i in range(4)]


def test_a_pass_over_unchanged_feeds_starts_no_extraction_workers(tmp_path, prefect_api, monkeypatch):
    calls = []
    real = ExtractionPool.prepare
    monkeypatch.setattr(ExtractionPool, "prepare", staticmethod(lambda: calls.append(1) or real()))
    with BenchWorld(PAGES, sites=2) as world:
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        first = run_monitor_pass(watch, tmp_path / "nw.duckdb")
        assert first.counts.pages_fetched == len(PAGES) and calls
        calls.clear()
        again = run_monitor_pass(watch, tmp_path / "nw.duckdb")
    assert again.counts.sources_not_modified == 2 and again.counts.pages_fetched == 0
    assert calls == []  # every feed answered 304: no fork server was started for pages that never came


def test_the_collector_skips_what_was_alive_before_a_pass_and_is_as_it_was_after(tmp_path, prefect_api, monkeypatch):
    import flows.pipeline as pipeline
    from flows.monitor import PASS_GC_THRESHOLDS

    during, real = [], pipeline.fresh_candidates
    monkeypatch.setattr(pipeline, "fresh_candidates",
                        lambda *args: during.append((gc.get_freeze_count(), gc.get_threshold())) or real(*args))
    before = (gc.get_freeze_count(), gc.get_threshold())
    with BenchWorld(PAGES, sites=2) as world:
        done = run_monitor_pass(load_config(world.write_watch(tmp_path / "watch", len(PAGES))), tmp_path / "nw.duckdb")
    assert done.counts.pages_fetched == len(PAGES)
    [(frozen, thresholds)] = during
    assert frozen > 10_000 and thresholds == PASS_GC_THRESHOLDS  # Prefect and the imports, left alone
    assert (gc.get_freeze_count(), gc.get_threshold()) == before


def test_a_pass_on_a_server_that_stays_up_leaves_every_task_run_recorded(tmp_path, prefect_api):
    # The CLI does not wait for the records when the server outlives it; they must still all arrive.
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with BenchWorld(PAGES, sites=2) as world:
        config = world.write_watch(tmp_path / "watch", len(PAGES))
        done = newswatch("run", "--config", config, "--db", tmp_path / "nw.duckdb",
                         env=cli_env(PREFECT_API_URL=prefect_api))
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.monotonic() + 20
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}), get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(limit=200)
            ours = [r for r in runs if r.parameters.get("config_path") == str(config)]
            assert len(ours) == 1
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [ours[0].id]}))
            names = sorted(t.name for t in tasks if t.state is not None and t.state.is_completed())
            if len(names) == 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert [n.split(" ")[0] for n in names] == ["pages", "poll", "poll"], names


def test_plain_parameters_go_to_the_api_as_they_are_and_other_values_through_prefects_encoder():
    def fn(a, b=None):
        return None

    flow = PlainParameterFlow(fn=fn, name="plain")
    assert flow.serialize_parameters({"a": "watch.toml", "b": True}) == {"a": "watch.toml", "b": True}
    assert flow.serialize_parameters({"a": 3, "b": None}) == {"a": 3, "b": None}
    when = datetime(2022, 8, 31, 12, 0, tzinfo=timezone.utc)
    assert flow.serialize_parameters({"a": when, "b": Path("/srv/nw.duckdb")}) == {
        "a": "2022-08-31T12:00:00+00:00", "b": "/srv/nw.duckdb"}


CHILD = """
import json, sys
from pathlib import Path
from flows.config import load_config
from flows.runner import run_monitor_pass
summary = run_monitor_pass(load_config(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"fetched": summary.counts.pages_fetched, "fastapi": "fastapi" in sys.modules,
                  "arrow_scans": "pyarrow.dataset" in sys.modules}))
"""


def test_a_pass_process_loads_neither_fastapi_nor_arrow_scanning_when_it_need_not(tmp_path, prefect_api):
    # Prefect's generic parameter encoder imports FastAPI (about 0.3 s of every `newswatch run`), and
    # DuckDB imports pyarrow.dataset on its first Arrow scan (about 70 ms): a pass whose feeds all
    # answer 304 only looks up a few sources and seeds, and needs neither.
    def run_child(config: Path) -> dict:
        done = subprocess.run([sys.executable, "-c", CHILD, str(config), str(tmp_path / "nw.duckdb")],
                              capture_output=True, text=True, env=cli_env(PREFECT_API_URL=prefect_api),
                              cwd=Path(__file__).resolve().parents[2], timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    with BenchWorld(PAGES, sites=2) as world:
        config = world.write_watch(tmp_path / "watch", len(PAGES))
        first, unchanged = run_child(config), run_child(config)
    assert first == {"fetched": len(PAGES), "fastapi": False, "arrow_scans": True}
    assert unchanged == {"fetched": 0, "fastapi": False, "arrow_scans": False}


def test_the_first_database_session_runs_while_prefect_starts_the_flow_run(tmp_path, prefect_api, monkeypatch):
    import flows.monitor as monitor

    moments = {}
    real_begin, real_take = monitor.begin_pass, monitor._take_handoff

    def begin_pass(*args):
        moments["session began"] = time.monotonic()
        return real_begin(*args)

    def take_handoff(*args):  # the first thing the flow's body does with the pass
        moments.setdefault("flow body began", time.monotonic())
        return real_take(*args)

    with BenchWorld(PAGES, sites=2) as world:
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        run_monitor_pass(watch, tmp_path / "nw.duckdb")
        monkeypatch.setattr(monitor, "begin_pass", begin_pass)
        monkeypatch.setattr(monitor, "_take_handoff", take_handoff)
        called = time.monotonic()
        again = run_monitor_pass(watch, tmp_path / "nw.duckdb")
    assert again.counts.sources_not_modified == 2
    con = duckdb.connect(str(tmp_path / "nw.duckdb"), read_only=True)
    status, = con.execute("SELECT status FROM runs WHERE id = ?", [again.run_id]).fetchone()
    con.close()
    assert status == "completed"
    # Begun as the CLI called for the flow run, not once Prefect had started it and entered its body.
    assert called <= moments["session began"] < moments["flow body began"]
    assert moments["session began"] - called < moments["flow body began"] - moments["session began"]


def test_a_pass_whose_flow_run_never_starts_is_recorded_failed_not_running(tmp_path):
    with BenchWorld(PAGES, sites=2) as world:
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        with around_flow_run(watch, tmp_path / "nw.duckdb"):
            pass  # as when Prefect refuses to create the flow run: nothing takes the pass begun
    con = duckdb.connect(str(tmp_path / "nw.duckdb"), read_only=True)
    runs = con.execute("SELECT status, finished_at IS NOT NULL FROM runs").fetchall()
    seeds = con.execute("SELECT count(*) FROM articles WHERE status = 'seed'").fetchone()[0]
    con.close()
    assert runs == [("failed", True)] and seeds == 1


class TimedWorld(BenchWorld):
    """A news world that notes when each feed was asked (wall clock) and what it answered."""

    def __init__(self, pages, sites: int) -> None:
        super().__init__(pages, sites=sites)
        self.asked: list[tuple[str, datetime]] = []

    def count(self, what: str) -> None:
        super().count(what)
        if what in ("feed", "not_modified"):
            with self._lock:
                self.asked.append((what, datetime.now(timezone.utc)))


def test_a_cli_pass_starts_the_feed_requests_beside_prefects_start_and_asks_each_feed_once(tmp_path, prefect_api,
                                                                                          monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    import flows.monitor as monitor

    handed, began_early, parsers = [], [], []
    real_poll, real_start = monitor.poll_source, monitor._start_early

    async def poll_source(fetcher, source, state=None, started=None, parse=None):
        handed.append(started is not None)
        parsers.append(getattr(parse, "__self__", None))
        return await real_poll(fetcher, source, state, started, parse)

    async def start_early(begun, fetcher):
        began_early.append(1)  # started by the CLI's loop once the first session is done, not by the flow
        return await real_start(begun, fetcher)

    monkeypatch.setattr(monitor, "poll_source", poll_source)
    monkeypatch.setattr(monitor, "_start_early", start_early)
    with TimedWorld(PAGES, sites=3) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        first = run_monitor_pass(watch, tmp_path / "nw.duckdb")
        world.asked.clear()
        handed.clear()
        again = run_monitor_pass(watch, tmp_path / "nw.duckdb")
        asked = list(world.asked)
    assert first.counts.pages_fetched == len(PAGES) and began_early == [1, 1]
    assert len(parsers) == 6 and all(isinstance(p, ExtractionPool) for p in parsers)  # feeds parse in the workers
    assert again.counts.sources_not_modified == 3 and again.task_runs == 3  # a poll-source task run each
    assert handed == [True] * 3  # each poll task took a request already started for it
    assert [what for what, _ in asked] == ["not_modified"] * 3  # one conditional GET per feed, no second


def test_feed_requests_of_a_flow_run_that_never_starts_are_cancelled_without_noise(tmp_path, caplog):
    from flows.monitor import polls_beside_start

    async def refused() -> None:  # as when Prefect cannot create the flow run, once the feeds have answered
        while handoff.early is None or not handoff.early.done():
            await asyncio.sleep(0.01)
        await asyncio.wait(handoff.early.result().requests.values())
        raise RuntimeError("Prefect refused the flow run")

    with TimedWorld(PAGES, sites=2) as world:
        config = world.write_watch(tmp_path / "watch", len(PAGES))
        with config.open("a") as handle:  # a feed whose request fails: its error is nobody's to report
            handle.write(f'\n[[feeds]]\nname = "gone"\nurl = "{world.base_url(0)}/gone.xml"\n')
        watch = load_config(config)
        with caplog.at_level("WARNING"), pytest.raises(RuntimeError, match="refused"):
            with around_flow_run(watch, tmp_path / "nw.duckdb") as handoff:
                asyncio.run(polls_beside_start(handoff, watch, refused()))
        gc.collect()
    con = duckdb.connect(str(tmp_path / "nw.duckdb"), read_only=True)
    runs = con.execute("SELECT status FROM runs").fetchall()
    con.close()
    assert runs == [("failed",)] and handoff.early is None and len(world.asked) == 2
    assert "never retrieved" not in caplog.text and "Task was destroyed" not in caplog.text, caplog.text


def test_a_wait_on_the_first_session_that_is_cancelled_leaves_the_session_to_finish_and_be_recorded(tmp_path):
    async def interrupted(handoff) -> None:  # Ctrl-C while the flow waits for the first session
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.wrap_future(handoff.begun), timeout=0.001)

    with BenchWorld(PAGES, sites=2) as world:
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        with around_flow_run(watch, tmp_path / "nw.duckdb") as handoff:
            asyncio.run(interrupted(handoff))
    assert not handoff.begun.cancelled()
    con = duckdb.connect(str(tmp_path / "nw.duckdb"), read_only=True)
    runs = con.execute("SELECT status, finished_at IS NOT NULL FROM runs").fetchall()
    con.close()
    assert runs == [("failed", True)]  # the run the session recorded is ended, not left running


HOLD_READ_ONLY = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


class ReaderDuringPolls(BenchWorld):
    """A news world whose first 304 waits until another process reads the warehouse, for `seconds`:
    the pass's last session finds the file taken, as when a user runs `newswatch sql` at that moment."""

    def __init__(self, pages, db_path: Path, seconds: float, sites: int) -> None:
        super().__init__(pages, sites=sites)
        self.db_path, self.seconds = db_path, seconds
        self.reader: subprocess.Popen | None = None
        self._started = threading.Lock()

    def count(self, what: str) -> None:
        super().count(what)
        with self._started:
            if what == "not_modified" and self.reader is None:
                self.reader = subprocess.Popen([sys.executable, "-c", HOLD_READ_ONLY, str(self.db_path),
                                                str(self.seconds)], stdout=subprocess.PIPE, text=True)
                assert self.reader.stdout.readline().strip() == "held"

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        if self.reader is not None:
            self.reader.wait(timeout=30)


def _flow_runs_of(api_url: str, config: Path):
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200)
    return sorted((r for r in runs if r.parameters.get("config_path") == str(config)), key=lambda r: r.start_time)


def test_the_last_database_session_runs_while_prefect_ends_the_flow_run(tmp_path, prefect_api):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    db = tmp_path / "nw.duckdb"
    with ReaderDuringPolls(PAGES, db, seconds=1.5, sites=2) as world, \
            temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        run_monitor_pass(watch, db)
        again = run_monitor_pass(watch, db)  # its feeds answer 304 once a reader holds the file
    assert world.reader is not None and again.counts.sources_not_modified == 2
    con = duckdb.connect(str(db), read_only=True)
    status, finished_at = con.execute("SELECT status, finished_at FROM runs WHERE id = ?", [again.run_id]).fetchone()
    statuses = con.execute("SELECT DISTINCT last_status FROM sources").fetchall()
    con.close()
    assert status == "completed" and statuses == [("not_modified",)]  # waited for the reader, lost nothing
    flow_run = _flow_runs_of(prefect_api, watch.path)[-1]
    assert flow_run.state.is_completed()
    # Prefect ended the flow run while the session waited for the reader (on the old code the flow
    # run ended only after the session, a second and a half later).
    assert flow_run.end_time < finished_at


def test_a_pass_leaves_its_last_few_writes_in_the_log_for_the_next_pass_to_fold_in(tmp_path, prefect_api):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    db = tmp_path / "nw.duckdb"
    wal = wal_path(db)
    with BenchWorld(PAGES, sites=2) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        first = run_monitor_pass(watch, db)
        assert 0 < wal.stat().st_size <= SMALL_LOG_BYTES  # the run's end and the feeds' ETags, synced
        con = duckdb.connect(str(db), read_only=True)  # what `newswatch sql` sees between passes
        status = con.execute("SELECT status FROM runs WHERE id = ?", [first.run_id]).fetchone()[0]
        etags = con.execute("SELECT count(*) FROM source WHERE etag IS NOT NULL").fetchone()[0]
        con.close()
        assert status == "completed" and etags == 2
        again = run_monitor_pass(watch, db)  # its first session folds the log into the file
    assert again.counts.sources_not_modified == 2  # the ETags kept in the log were sent
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status FROM runs ORDER BY id").fetchall() == [("completed",), ("completed",)]
    con.close()
    assert wal.stat().st_size <= SMALL_LOG_BYTES  # a pass's log, not two: the first was folded in


class SlowFeeds(BenchWorld):
    """A news world whose feeds take `seconds` to answer a conditional GET."""

    def __init__(self, pages, seconds: float, sites: int) -> None:
        super().__init__(pages, sites=sites)
        self.seconds = seconds

    def count(self, what: str) -> None:
        super().count(what)
        if what == "not_modified":
            time.sleep(self.seconds)


def test_the_time_a_pass_reports_counts_the_polls_it_started_beside_prefects_start(tmp_path, prefect_api):
    # The feeds are asked while Prefect starts the flow run, so the flow's body alone can be over in
    # no time ("done in 0.0 s" when every feed failed at once); the pass counts from its beginning.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    db = tmp_path / "nw.duckdb"
    with SlowFeeds(PAGES, seconds=1.0, sites=2) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        run_monitor_pass(watch, db)
        again = run_monitor_pass(watch, db)
    assert again.counts.sources_not_modified == 2
    assert again.seconds >= 1.0  # every answer took a second from its request, sent after the pass began


def test_a_last_session_that_fails_fails_the_pass_and_its_flow_run(tmp_path, prefect_api, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from warehouse.store import Warehouse

    real = Warehouse.finish_run

    def finish_run(self, run_id, counts, status="completed"):
        if status == "completed":  # the disk filled up as the run's end was written
            raise WarehouseError("could not write the run's end: no space left on device")
        return real(self, run_id, counts, status=status)

    db = tmp_path / "nw.duckdb"
    with BenchWorld(PAGES, sites=2) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        run_monitor_pass(watch, db)
        monkeypatch.setattr(Warehouse, "finish_run", finish_run)
        with pytest.raises(WarehouseError, match="no space left on device"):
            run_monitor_pass(watch, db)
    con = duckdb.connect(str(db), read_only=True)
    statuses = [s for (s,) in con.execute("SELECT status FROM runs ORDER BY id").fetchall()]
    con.close()
    assert statuses == ["completed", "failed"]  # recorded as failed, never left running
    failed = _flow_runs_of(prefect_api, watch.path)[-1]
    assert failed.state.is_failed() and "no space left on device" in failed.state.message


def test_a_warehouse_that_cannot_be_opened_fails_the_pass_with_its_error(tmp_path, prefect_api):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    bad = tmp_path / "nw.duckdb"
    bad.write_bytes(b"not a duckdb file, but a user's notes" * 100)
    with BenchWorld(PAGES, sites=2) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        watch = load_config(world.write_watch(tmp_path / "watch", len(PAGES)))
        with pytest.raises(WarehouseError, match="cannot open the warehouse"):
            run_monitor_pass(watch, bad)
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=15)  # the failed flow run's log lines, sent while the server is up
    assert bad.read_bytes() == b"not a duckdb file, but a user's notes" * 100  # left as it was


def test_the_workers_fork_server_starts_before_prefect_is_imported():
    # As `newswatch run` starts: the fork server imports trafilatura on the core Prefect's import leaves idle.
    script = (
        "import json, sys\n"
        "from flows.runner import start_workers_ahead\n"
        "start_workers_ahead()\n"
        "from multiprocessing import forkserver\n"
        "pid = forkserver._forkserver._forkserver_pid\n"
        "print(json.dumps({'pid': pid, 'prefect': 'prefect' in sys.modules,\n"
        "                  'cmdline': open(f'/proc/{pid}/cmdline').read()}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    started = json.loads(done.stdout.strip().splitlines()[-1])
    assert started["pid"] and not started["prefect"]
    assert "extractors.extract" in started["cmdline"]  # what it imports before forking workers
