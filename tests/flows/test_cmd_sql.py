"""The sql, search and export commands, through typer's runner and (when installed) the real CLI."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.cmd_sql import fit_widths, register
from warehouse.readonly import run_readonly_sql
from warehouse.records import ArticleRecord
from warehouse.store import Warehouse

REPO = Path(__file__).resolve().parents[2]
WATCH = "bachelet-xinjiang"
PUBLISHED = datetime(2022, 8, 31, 22, 0, tzinfo=timezone.utc)

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.duckdb"
    warehouse = Warehouse(path)
    run_id = warehouse.start_run(WATCH)
    seen = datetime(2022, 9, 1, 8, 0, tzinfo=timezone.utc)
    warehouse.write_batch(
        WATCH,
        run_id,
        [
            ArticleRecord(WATCH, "https://a.example/seed", "seed", seen, title="Bachelet seeks access to Xinjiang",
                          text="The UN rights chief is negotiating access."),
            ArticleRecord(WATCH, "https://a.example/report", "new", seen, published_at=PUBLISHED,
                          title="UN report finds possible crimes against humanity in Xinjiang",
                          text="The long-awaited assessment, " + "with many details " * 40, matched_terms=("xinjiang",)),
        ],
    )
    warehouse.finish_run(run_id, {"new": 1})
    return path


def _articles(db: Path):
    return run_readonly_sql(db, "SELECT * FROM articles ORDER BY id")


def test_json_output_is_a_list_of_objects_with_iso_dates(db: Path) -> None:
    result = runner.invoke(
        app, ["sql", "SELECT url, published_at, matched_terms FROM updates", "--db", str(db), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"url": "https://a.example/report", "published_at": "2022-08-31T22:00:00+00:00", "matched_terms": ["xinjiang"]}
    ]


def test_ndjson_output_is_one_object_per_line(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT id, status FROM articles ORDER BY id", "--db", str(db), "-f", "ndjson"])
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == ["seed", "new"]


def test_csv_output_has_a_header_and_the_rows(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT id, title, published_at FROM articles ORDER BY id", "--db", str(db),
                                 "--format", "csv"])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["id", "title", "published_at"]
    assert rows[1][1:] == ["Bachelet seeks access to Xinjiang", ""]
    assert rows[2][2] == "2022-08-31T22:00:00+00:00"


def test_markdown_output_is_a_pipe_table(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT status FROM articles ORDER BY id", "--db", str(db), "-f", "markdown"])
    assert result.stdout.splitlines() == ["| status |", "|---|", "| seed |", "| new |"]


def test_table_output_cuts_long_text_to_fit(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT id, text FROM articles", "--db", str(db)], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "UN rights chief" in result.stdout and "…" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_fit_widths_shrinks_the_widest_columns_first() -> None:
    assert fit_widths([2, 60, 10], 60) == [2, 38, 10]  # 60 minus 10 for borders and padding
    assert fit_widths([2, 6], 200) == [2, 6]


def test_query_from_stdin_and_named_parameters(db: Path) -> None:
    result = runner.invoke(
        app, ["sql", "-", "--db", str(db), "-p", "s", "seed", "-f", "json"],
        input="SELECT url FROM articles WHERE status = $s",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"url": "https://a.example/seed"}]


def test_the_database_comes_from_the_environment(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM articles", "-f", "json"], env={"NEWSWATCH_DB": str(db)})
    assert json.loads(result.stdout) == [{"n": 2}]


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM articles", "delete from article", "DROP VIEW articles", "COPY article TO '{dir}/leak.csv'",
     "ATTACH '{dir}/other.duckdb'"],
)
def test_writes_are_refused_with_exit_2_and_change_nothing(db: Path, tmp_path: Path, sql: str) -> None:
    before = _articles(db)
    result = runner.invoke(app, ["sql", sql.format(dir=tmp_path), "--db", str(db)])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "refused" in result.stderr
    assert _articles(db) == before
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_a_missing_database_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no warehouse at" in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


def test_a_query_mistake_is_a_usage_error(db: Path) -> None:
    result = runner.invoke(app, ["sql", "SELEC 1", "--db", str(db)])
    assert result.exit_code == 2 and "syntax error" in result.stderr


def test_search_finds_a_title_phrase(db: Path) -> None:
    result = runner.invoke(app, ["search", "crimes against humanity", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits[0]["url"] == "https://a.example/report" and hits[0]["published_at"] == "2022-08-31T22:00:00+00:00"
    assert runner.invoke(app, ["search", "Xinjiang", "--db", str(db), "--status", "seed", "-f", "json"]).stdout.count(
        "a.example/seed"
    ) == 1


def test_export_writes_one_file_per_view(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "out"), "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert {"articles.csv", "updates.csv", "sources.csv", "runs.csv"} <= {p.name for p in (tmp_path / "out").iterdir()}


@pytest.mark.parametrize("command", ["sql", "search", "export"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example: newswatch " + command in result.stdout


def _installed_cli() -> str | None:
    exe = REPO / ".venv" / "bin" / "newswatch"
    if not exe.exists() or not (REPO / "flows" / "cli.py").exists():
        return None
    probe = subprocess.run([str(exe), "sql", "--help"], capture_output=True, text=True, timeout=60)
    return str(exe) if probe.returncode == 0 else None


def test_the_installed_cli_refuses_a_delete(db: Path) -> None:
    exe = _installed_cli() or shutil.which("newswatch")
    if exe is None:
        pytest.skip("the newswatch CLI does not offer `sql` yet")
    refused = subprocess.run([exe, "sql", "DELETE FROM articles", "--db", str(db)], capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2 and "refused" in refused.stderr
    counted = subprocess.run([exe, "sql", "SELECT count(*) AS n FROM articles", "--db", str(db), "-f", "json"],
                             capture_output=True, text=True, timeout=60)
    assert json.loads(counted.stdout) == [{"n": 2}]
