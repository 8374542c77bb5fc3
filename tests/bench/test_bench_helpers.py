"""Smoke tests of the bench's helpers: page copies, the F1 metric, the local world, memory sampling, report.

No timings are asserted: `make bench` measures, these only check that what it measures with works.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest
import httpx

from bench import bare
from bench.__main__ import main
from bench.corpus import BenchmarkPage, corpus_f1, page_copy
from bench.extraction import bare_extraction_seconds
from bench.micro import BatchWriteFigure, batch_write_vs_archive, lookup_vs_archive, write_throughput
from bench.procs import run_child, tree_memory_mb
from bench.report import BenchResults, PassCPU, PassFigure
from bench.world import BenchWorld

ARTICLE = ("Geneva officials met on Monday to discuss the report. The high commissioner said access "
           "had been requested many times. Observers expect a decision before the end of the session.")
HTML = (b"<html><head><title>Rights chief seeks access</title>"
        b"<link rel='canonical' href='https://news.example/original'></head><body>"
        b"<nav><p>Home</p></nav><article><p>" + ARTICLE.encode() + b"</p><p>More to follow.</p></article>"
        b"</body></html>")
PAGE = BenchmarkPage(key="ab" * 32, url="https://news.example/original", html=HTML, truth=ARTICLE)


def test_copies_differ_lose_rel_canonical_and_put_the_line_in_the_article() -> None:
    first, second = page_copy(PAGE, 0), page_copy(PAGE, 1)
    assert first != second
    assert b"canonical" not in first
    assert first.index(b"Bench copy 0") > first.index(b"Observers expect")  # after the article's paragraph
    assert first.index(b"Bench copy 0") > first.index(b"<article>")


def test_shingle_f1_is_one_for_equal_texts_and_zero_for_unrelated_ones() -> None:
    assert corpus_f1([(ARTICLE, ARTICLE)])[2] == 1.0
    assert corpus_f1([(ARTICLE, "completely different words are written here today")])[2] == 0.0


def test_world_serves_feeds_with_etags_pages_and_robots(tmp_path: Path) -> None:
    with BenchWorld([PAGE], sites=2) as world, httpx.Client() as client:
        feed_url = world.feed_urls(upto=4)[0]
        feed = client.get(feed_url)
        assert feed.status_code == 200 and feed.text.count("<item>") == 2
        again = client.get(feed_url, headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        page = client.get(world.page_url(3))
        assert b"Bench copy 3" in page.content
        assert client.get(world.base_url(1) + "/robots.txt").status_code == 200
        config = world.write_watch(tmp_path / "watch", upto=4)
    assert "allow_private_hosts = true" in config.read_text() and (tmp_path / "watch" / "seed.txt").exists()


def test_the_floor_is_stock_trafilatura_timed_in_a_process_of_its_own(tmp_path: Path) -> None:
    import extractors.extract  # noqa: F401 - gives trafilatura's parser newswatch's element lookup, process-wide
    from lxml.html import fromstring
    from trafilatura.utils import HTML_PARSER

    assert type(fromstring("<form></form>", parser=HTML_PARSER)).__name__ == "HtmlElement"  # changed here
    result = bare.run([(PAGE.url, PAGE.html)], ["default", "fast"], tmp_path, keep_texts=True)
    assert result["ours_loaded"] == [] and result["element_class"] == "FormElement"  # stock there
    assert "access had been requested" in result["texts"]["default"][0]
    assert len(result["seconds"]["default"]) == len(result["seconds"]["fast"]) == 1
    with BenchWorld([PAGE], sites=2) as world:
        assert bare_extraction_seconds(world, range(4), tmp_path) > 0
    assert list(tmp_path.iterdir()) == []  # the job and its answer are removed


def test_tree_memory_counts_this_process() -> None:
    rss, pss = tree_memory_mb(os.getpid())
    assert rss > 10 and pss > 0


def test_a_measured_pass_counts_the_cpu_of_its_process_its_workers_the_server_and_the_web(
        prefect_api, tmp_path: Path) -> None:
    with BenchWorld([PAGE], sites=2) as world:
        config = world.write_watch(tmp_path / "watch", upto=4)
        web = world.cpu_s
        run = run_child({"steps": [{"kind": "pass", "config": str(config), "db": str(tmp_path / "w.duckdb")}]},
                        tmp_path, dict(os.environ), "pass")
        web = world.cpu_s - web
    step = run.figures["steps"][0]
    assert step["counts"]["pages_fetched"] == 4 and step["cpu_s"] > 0
    # The workers are the fork server's children, not the pass's; the fork server alone imports
    # trafilatura and lxml, far more than this much CPU.
    assert run.helpers_cpu_s > 0.05
    assert run.server_cpu_s > 0  # the session's Prefect server recorded the flow run
    assert web > 0  # two feeds, four pages and their robots.txt were answered


def test_lookup_and_write_micro_benchmarks_run_on_small_archives(tmp_path: Path) -> None:
    figures = lookup_vs_archive(tmp_path / "lookup.duckdb", [200, 400], probes=20, repeats=1)
    assert [f.stored for f in figures] == [200, 400]
    assert all(f.hits >= 1 for f in figures)  # probes that share a band with a stored article find it
    write = write_throughput(tmp_path / "writes.duckdb", [ARTICLE, ARTICLE + " Another sentence here."], 8, 20)
    assert write.rows == 20 and write.rows_per_s > 0
    assert write.index_added == 5 and write.index_add_s > 0
    grown = batch_write_vs_archive(tmp_path, [ARTICLE, ARTICLE + " Another sentence here."], [50, 120], batch=8,
                                   repeats=2)
    assert [f.stored for f in grown] == [50, 120] and all(f.batch_ms > 0 and f.archive_mb > 0 for f in grown)
    con = duckdb.connect(str(tmp_path / "archive.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM article").fetchone()[0] == 120 + 2 * 2 * 8  # archive and batches
    con.close()


def test_report_lists_every_target_and_marks_misses() -> None:
    results = BenchResults(machine="test")
    results.passes = [PassFigure(1000, 9.0, 12.0, 10.0, 1.0, 650.0, 400.0, {"new": 3}),
                      PassFigure(2000, 20.0, 24.0, 20.0, 1.0, 820.0, 500.0, {"new": 5})]
    results.empty_flow_s, results.idle_pass_s = [1.0, 0.5], [1.2, 1.0]
    results.task_flow_s, results.task_flow_tasks = [1.1, 0.6], 10
    results.poll_flow_s = [1.15, 0.7]
    results.server_start_s, results.import_prefect_s, results.import_flows_s = 11.0, 0.8, 0.4
    results.fixed_repeats = 4
    text = results.markdown()
    assert "saves the server's start-up, **11.0 s per run**" in text and "pays the imports (1.2 s)" in text
    assert "A second flow run" not in text  # neither second run was slower than the first
    results.idle_pass_s = [1.2, 3.4]
    assert "As the second flow of its process, here: the all-304 pass 3.40 s." in results.markdown()
    assert "| flow of 10 no-op task runs #1 in one process (best of 4 processes) | 1.10 |" in text
    assert "| all-304 pass #1 in one process (best of 4 processes) | 1.20 |" in text
    assert "| flow of the pass's 10 polls alone, each a `poll-source` task run answered 304, no database #1 in " \
           "one process (best of 4 processes) | 1.15 |" in text
    assert "The four kinds of process ran side by side: 4 rounds of one of each" in text
    assert "cost 1.15× the empty flow, 1.15 s. The all-304 pass costs 0.05 s over that" in text
    assert "no work on the database can bring" not in text  # 1.15 is under the target
    assert "database work would have to fit in the 350 ms the polls leave (the polls alone 1.15× " in text
    results.poll_flow_s = [1.6, 0.7]
    assert "The polls alone are over the 1.5× target (1.60×)" in results.markdown()
    assert "1.10× the empty flow, 1.10 s. The all-304 pass costs 1.09× that floor" in text
    assert "| marginal cost per page ≤ 0.6 × bare extraction (1000 pages) | 0.800 | **no** |" in text
    assert "peak RSS of a 1000-page pass < 600 MB | 650 MB | **no**" in text
    assert "RSS growth 1000 → 2000 pages < 20% | +26% | **no**" in text
    assert "all-304 pass ≤ 1.5 × empty flow run (first flow of a process) | 1.20 | yes" in text
    results.poll_flow_s = [1.3, 0.7]
    assert "The all-304 pass costs 0.10 s under that" in results.markdown()
    # With rounds side by side, the target takes the median of each round's own ratio, not the best of each side.
    results.round_ratios = {"idle": [1.7, 1.4, 1.45, 1.9, 1.3], "polls": [1.2, 1.3, 1.25, 1.6, 1.1], "tasks": []}
    text = results.markdown()
    assert "| all-304 pass ≤ 1.5 × empty flow run (first flow of a process; median of 5 side-by-side rounds) " \
           "| 1.45 | yes |" in text
    assert "| all-304 pass | 1.45 | 1.70, 1.40, 1.45, 1.90, 1.30 |" in text
    assert "| polls-only flow | 1.25 |" in text and "no-op task runs |" not in text.split("| against the empty")[1]
    assert "Best of each side instead: the all-304 pass 1.20 s against the empty flow run's 1.00 s, 1.20×." in text
    assert "would have to fit in the 250 ms the polls leave (the polls alone 1.25× the empty" in text  # the median
    results.round_ratios["idle"] = [1.7, 1.6, 1.4]
    assert "side-by-side rounds) | 1.60 | **no** |" in results.markdown()
    results.batch_writes = [BatchWriteFigure(10_000, 128, 60.0, 60.0), BatchWriteFigure(100_000, 128, 90.0, 640.0)]
    assert "| 100,000 | 640 | 90 | 1.5x |" in results.markdown()


def test_report_says_where_a_passs_cpu_goes_and_the_floor_it_sets() -> None:
    results = BenchResults(machine="test")
    assert "CPU goes" not in results.markdown()
    results.passes = [PassFigure(1000, 8.0, 9.0, 16.0, 0.25, 500.0, 400.0, {"new": 3},
                                 PassCPU(main_s=5.0, extraction_s=8.5, server_s=1.0, web_s=0.5, cores=2))]
    text = results.markdown()
    assert "| 1000 | 8.0 | 5.0 | 8.5 | 1.0 | 0.5 | 15.0 | 1.88 of 2 | 15.0 | 16.0 |" in text
    assert "The 1000-page pass kept 1.88 of the machine's 2 cores busy" in text
    assert "15.0 ms a page (8.5 in extraction processes, 5.0 in the pass's own process, 1.5 in Prefect's" in text
    assert "that CPU alone would take 0.47× the bare extraction's time" in text
    assert "(0.50, before the idle pass is subtracted)" in text


def test_bench_without_shared_exits_2_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["--shared", str(tmp_path / "no-shared"), "--out", str(tmp_path / "b.md")]) == 2
    assert "article-extraction-benchmark" in capsys.readouterr().err
    assert not (tmp_path / "b.md").exists()


def test_the_task_flow_floor_runs_one_task_run_per_source(prefect_api) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from bench.child import run_steps

    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        figures = run_steps({"steps": [{"kind": "task_flow", "tasks": 3}]})
        assert figures["steps"][0]["kind"] == "task_flow" and figures["steps"][0]["seconds"] > 0
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["bench-tasks"])))
            assert len(runs) == 1 and runs[0].state.is_completed()
            deadline = time.monotonic() + 20
            while True:  # task runs reach the API as events, shortly after the flow run ends
                tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [runs[0].id]}))
                if len(tasks) == 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    assert sorted(t.name.split("-")[0] for t in tasks) == ["bench", "bench", "bench"]


def test_the_polls_only_flow_polls_every_feed_as_a_pass_does_and_never_writes(prefect_api, tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from bench.child import run_steps
    from flows.config import load_config
    from flows.runner import run_monitor_pass

    with BenchWorld([PAGE], sites=2) as world, temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        config = world.write_watch(tmp_path / "watch", upto=4)
        db = tmp_path / "w.duckdb"
        run_monitor_pass(load_config(config), db)  # stores the feeds' ETags
        con = duckdb.connect(str(db), read_only=True)
        runs_before = con.execute("SELECT count(*) FROM run").fetchone()[0]
        con.close()
        served = dict(world.requests)
        figures = run_steps({"steps": [{"kind": "poll_flow", "config": str(config), "db": str(db)}]})
        assert figures["steps"][0]["kind"] == "poll_flow" and figures["steps"][0]["seconds"] > 0
        # one conditional GET per feed, answered 304, and nothing else
        assert world.requests == {**served, "not_modified": served["not_modified"] + 2}
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["bench-polls"])))
            assert len(runs) == 1 and runs[0].state.is_completed()
            expected = sorted(f"poll {url}" for url in world.feed_urls(upto=4))
            deadline = time.monotonic() + 20
            while True:  # the server records a task run's events as they come: its name can come last
                tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [runs[0].id]}))
                if sorted(t.name for t in tasks) == expected or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    assert sorted(t.name for t in tasks) == expected
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM run").fetchone()[0] == runs_before  # no pass was recorded
    con.close()


def test_the_fixed_cost_processes_run_in_rounds_side_by_side(monkeypatch, tmp_path: Path) -> None:
    import bench.__main__ as bench_main

    started = []
    monkeypatch.setattr(bench_main, "run_child", lambda spec, work, env, label: started.append(label) or label)

    class World:
        sites = 3

    runs = bench_main._fixed_cost_rounds(World(), {"kind": "pass"}, 1000, tmp_path, {}, flows=True)
    rounds = bench_main.FIXED_REPEATS
    kinds = ("empty", "tasks", "polls", "idle")
    assert started == [f"{kind}-1000-{i}" for i in range(rounds) for kind in kinds]
    assert {kind: len(labels) for kind, labels in runs.items()} == dict.fromkeys(kinds, rounds)
    started.clear()
    runs = bench_main._fixed_cost_rounds(World(), {"kind": "pass"}, 2000, tmp_path, {}, flows=False)
    assert started == [f"idle-2000-{i}" for i in range(bench_main.REPEATS)] and runs["empty"] == []


def test_round_ratios_pair_each_process_with_the_empty_flow_of_its_own_round() -> None:
    import bench.__main__ as bench_main
    from bench.procs import ChildRun

    def run(*seconds: float) -> ChildRun:
        return ChildRun({"steps": [{"seconds": s} for s in seconds]}, 1.0, 0.0, 0.0)

    empty = [run(0.20, 0.1), run(0.30, 0.1)]
    idle = [run(0.30, 2.0), run(0.36, 2.0)]  # only each process's first flow run counts
    assert bench_main._round_ratios(idle, empty) == pytest.approx([1.5, 1.2])
    with pytest.raises(ValueError):  # a round missing a process is a broken measurement, not a shorter list
        bench_main._round_ratios(idle[:1], empty)
