"""The README documents every command, config key and public view, and every command's --help has an example.

A command, setting or column added without documentation fails here, naming what is missing.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dedup import DecisionSettings
from flows.cli import app
from flows.config import _FEED_KEYS, _WATCH_KEYS, DigestConfig, FetchConfig
from warehouse.connection import open_writer
from warehouse.export import public_views
from warehouse.schema import MIGRATIONS_DIR

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(typer.main.get_command(app).commands)
_VIEW = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+\"?(\w+)\"?", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)


def _declared_views() -> list[str]:
    """Views created by views.sql and the migrations, in file order."""
    names: list[str] = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        for name in _VIEW.findall(path.read_text(encoding="utf-8")):
            if name not in names:
                names.append(name)
    return names


VIEWS = _declared_views()


@pytest.fixture(scope="module")
def view_columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every public view's columns, read with DESCRIBE from a freshly migrated, empty warehouse."""
    con = open_writer(tmp_path_factory.mktemp("docs") / "newswatch.duckdb")
    try:
        assert sorted(VIEWS) == public_views(con), "views.sql and the migrations disagree with the database"
        return {view: [row[0] for row in con.execute(f'DESCRIBE "{view}"').fetchall()] for view in VIEWS}
    finally:
        con.close()


def _section(heading: re.Pattern[str]) -> str:
    """The README text under the first heading matching `heading`, up to the next heading of its level or higher."""
    for match in _HEADING.finditer(README):
        line = README[match.start() : README.find("\n", match.start())]
        if heading.search(line):
            level = len(match.group(1))
            end = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE).search(README, match.end())
            return README[match.start() : end.start() if end else len(README)]
    return ""


def _config_example() -> dict:
    """The README's example watch config: the ```toml block that has a [watch] table."""
    for block in re.findall(r"```toml\n(.*?)```", README, re.DOTALL):
        config = tomllib.loads(block)
        if "watch" in config:
            return config
    raise AssertionError("README.md has no ```toml example with a [watch] table")


# -- commands ------------------------------------------------------------------------------


def test_there_are_commands_to_check() -> None:
    assert {"run", "sql", "search", "export"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert re.search(rf"newswatch {re.escape(command)}\b", README), f"README.md never shows `newswatch {command}`"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`newswatch {command} --help` shows no example"
    assert f"newswatch {command}" in result.output, f"the example of `{command} --help` does not show the command"


# -- config keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, keys",
    [
        ("watch", sorted(_WATCH_KEYS)),
        ("feeds", sorted(_FEED_KEYS)),
        ("fetch", [f.name for f in fields(FetchConfig)]),
        ("decide", [f.name for f in fields(DecisionSettings)]),
        ("digest", [f.name for f in fields(DigestConfig)]),
    ],
)
def test_every_config_key_is_in_the_readme_example(table: str, keys: list[str]) -> None:
    example = _config_example().get(table, {})
    documented = set().union(*(set(t) for t in example)) if isinstance(example, list) else set(example)
    missing = [key for key in keys if key not in documented]
    assert not missing, f"README.md's example config lacks [{table}] {', '.join(missing)}"


@pytest.mark.parametrize(
    "table, defaults",
    [("fetch", FetchConfig()), ("decide", DecisionSettings())],
    ids=["fetch", "decide"],
)
def test_the_readme_example_shows_the_defaults(table: str, defaults: object) -> None:
    example = _config_example().get(table, {})
    wrong = {
        f.name: (example[f.name], getattr(defaults, f.name))
        for f in fields(defaults)
        if f.name in example and example[f.name] != getattr(defaults, f.name)
    }
    assert not wrong, f"README.md's [{table}] values differ from the code's defaults (readme, code): {wrong}"


# -- public views --------------------------------------------------------------------------


def test_views_are_found_in_the_migrations() -> None:
    assert {"articles", "updates", "sources", "runs"} <= set(VIEWS)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_and_column_is_documented(view: str, view_columns: dict[str, list[str]]) -> None:
    section = _section(re.compile(rf"\bview `{re.escape(view)}`", re.IGNORECASE))
    assert section, f"README.md has no heading for the public view: add a section titled View `{view}`"
    same_as = re.search(r"same columns as `(\w+)`", section, re.IGNORECASE)
    if same_as and same_as.group(1) in view_columns:
        assert view_columns[view] == view_columns[same_as.group(1)], (
            f"README.md says `{view}` has the same columns as `{same_as.group(1)}`, but it has {view_columns[view]}"
        )
        return
    documented = set(re.findall(r"^\|\s*`(\w+)`\s*\|", section, re.MULTILINE))
    missing = [column for column in view_columns[view] if column not in documented]
    assert not missing, f"README.md's table for view `{view}` lacks the columns {', '.join(missing)}"
    stale = sorted(documented - set(view_columns[view]))
    assert not stale, f"README.md documents columns that view `{view}` does not have: {', '.join(stale)}"
