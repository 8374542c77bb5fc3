"""`newswatch digest`: printing, formats, errors, and --send through the Prefect flow, delivered once."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "alerts"))  # the alerts room's fixture world
from alerts_servers import SMTP_PASSWORD, SmtpServer, WebhookServer, free_port  # noqa: E402
from alerts_world import SCRIPT_TITLE, WATCH, build_world  # noqa: E402

from flows.digest import artifact_key, register  # noqa: E402

app = typer.Typer()
register(app)
app.command("noop", hidden=True)(lambda: None)  # a second command keeps `digest` a subcommand
runner = CliRunner()


def write_config(tmp_path: Path, *notify: str) -> Path:
    (tmp_path / "seed.txt").write_text("Michelle Bachelet seeks access to Xinjiang.", encoding="utf-8")
    channels = ", ".join(json.dumps(url) for url in notify)
    path = tmp_path / "watch.toml"
    path.write_text(
        f'[watch]\nname = "{WATCH}"\nseeds = ["seed.txt"]\n\n[digest]\nnotify = [{channels}]\ntitle = "Xinjiang watch"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.duckdb"
    build_world(path)
    return path


def test_help_has_an_example():
    result = runner.invoke(app, ["digest", "--help"])
    assert result.exit_code == 0
    assert "newswatch digest --since 7d --format html --output digest.html" in result.stdout


def test_prints_markdown_by_default(tmp_path, db):
    result = runner.invoke(app, ["digest", "--config", str(write_config(tmp_path)), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Xinjiang watch: digest")
    assert "[Bachelet arrives in China for long-sought visit](<https://lakemont.example/visit>)" in result.stdout
    assert "<script>" not in result.stdout


def test_json_to_a_file_from_environment_paths(tmp_path, db, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(write_config(tmp_path)))
    monkeypatch.setenv("NEWSWATCH_DB", str(db))
    out = tmp_path / "out" / "digest.json"
    result = runner.invoke(app, ["digest", "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["stories"][0]["updates"][0]["title"] == SCRIPT_TITLE


def test_since_limits_the_period(tmp_path, db):
    result = runner.invoke(app, ["digest", "-c", str(write_config(tmp_path)), "--db", str(db), "--since", "1h",
                                 "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "No new updates in this period." in result.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--since", "last tuesday"], "--since 'last tuesday'"),
    (["--format", "pdf"], "--format 'pdf'"),
    (["--config", "/nonexistent/watch.toml"], "config file not found"),
    (["--db", "/nonexistent/x.duckdb"], "no warehouse at /nonexistent/x.duckdb"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, db, args, needle):
    base = ["digest", "--config", str(write_config(tmp_path)), "--db", str(db)]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_channel_url_is_a_config_error_without_its_secret(tmp_path, db):
    config = write_config(tmp_path, "nosuch://bot:hunter2hunter2@example.org/x")
    result = runner.invoke(app, ["digest", "--config", str(config), "--db", str(db)])
    assert result.exit_code == 2
    assert "not a usable apprise URL" in result.stderr
    assert "hunter2hunter2" not in result.output


def test_send_without_channels_says_so(tmp_path, db):
    result = runner.invoke(app, ["digest", "--config", str(write_config(tmp_path)), "--db", str(db), "--send"])
    assert result.exit_code == 2
    assert "notify lists no channels" in result.stderr


def test_send_twice_delivers_once(tmp_path, db, prefect_api):
    smtp = SmtpServer(port=free_port()).start()
    hook = WebhookServer(port=free_port()).start()
    try:
        config = write_config(tmp_path, smtp.url(), hook.url())
        args = ["digest", "--config", str(config), "--db", str(db), "--send"]
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        assert first.stdout.count("sent 3 updates to ") == 2
        second = runner.invoke(app, args)
        assert second.exit_code == 0, second.output
        assert second.stdout.count("nothing new for ") == 2
        assert len(smtp.messages) == 1 and len(hook.requests) == 1
        for result in (first, second):
            assert SMTP_PASSWORD not in result.output and "hook-Token-12345" not in result.output
    finally:
        smtp.stop()
        hook.stop()

    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key(WATCH)])))
    assert any("Bachelet arrives in China for long-sought visit" in (a.data or "") for a in artifacts)


def test_failed_channel_exits_1_and_is_retried(tmp_path, db, prefect_api):
    hook = WebhookServer(port=free_port()).start()
    try:
        hook.fail = True
        config = write_config(tmp_path, hook.url())
        args = ["digest", "--config", str(config), "--db", str(db), "--send"]
        first = runner.invoke(app, args)
        assert first.exit_code == 1
        assert "FAILED to send 3 updates to json://" in first.stdout
        hook.fail = False
        second = runner.invoke(app, args)
        assert second.exit_code == 0, second.output
        assert len(hook.requests) == 1
    finally:
        hook.stop()
