"""The watch config: defaults, paths relative to the file, OPML feeds, strict keys, and where the CLI
finds its config and database (flag, else environment, else default)."""
from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import resolve_config, resolve_db
from flows.config import DEFAULT_CONFIG, DEFAULT_DB, ConfigError, FetchConfig, load_config
from world import REPO, cli_env, newswatch

MINIMAL = '[watch]\nname = "w"\nseeds = ["seed.txt"]\n'


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "seed.txt").write_text("date 2021-09-14 Bachelet regrets no access to Xinjiang.", encoding="utf-8")
    return tmp_path


def write(home: Path, text: str, name: str = "watch.toml") -> Path:
    path = home / name
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_takes_every_default(home: Path) -> None:
    config = load_config(write(home, MINIMAL))
    assert config.name == "w" and config.seeds == (home / "seed.txt",)
    assert config.query is None and config.feeds == ()
    assert config.fetch == FetchConfig() and config.fetch.allow_private_hosts is False
    assert config.decide.values == {} and config.digest.notify == () and config.digest.max_updates == 50


def test_seed_paths_are_relative_to_the_config_file(home: Path, tmp_path_factory) -> None:
    sub = home / "watches" / "w"
    sub.mkdir(parents=True)
    (sub / "seed.txt").write_text("text", encoding="utf-8")
    other = tmp_path_factory.mktemp("elsewhere") / "other-seed.txt"
    other.write_text("text", encoding="utf-8")
    config = load_config(write(sub, f'[watch]\nname = "w"\nseeds = ["seed.txt", "{other}"]\n'))
    assert config.seeds == (sub / "seed.txt", other)


def test_shipped_watch_loads() -> None:
    config = load_config(REPO / DEFAULT_CONFIG)
    assert config.name == "bachelet-xinjiang" and config.query and config.feeds
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert config.fetch.allow_private_hosts is False


def test_opml_feeds_join_the_listed_ones_without_repeats(home: Path) -> None:
    (home / "feeds.opml").write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><head><title>feeds</title></head><body>'
        '<outline text="UN"><outline text="un-news" type="rss" xmlUrl="https://news.example.org/rss.xml"/>'
        '<outline title="wire" type="rss" xmlUrl="https://wire.example.org/feed"/></outline>'
        '</body></opml>', encoding="utf-8")
    config = load_config(write(home, MINIMAL.replace('["seed.txt"]', '["seed.txt"]\nopml = "feeds.opml"')
                               + '\n[[feeds]]\nname = "wire"\nurl = "https://wire.example.org/feed"\n'))
    assert [(f.name, f.url) for f in config.feeds] == [
        ("wire", "https://wire.example.org/feed"), ("un-news", "https://news.example.org/rss.xml")]


def test_missing_opml_file_is_named(home: Path) -> None:
    with pytest.raises(ConfigError, match="OPML file not found: .*nothere.opml"):
        load_config(write(home, MINIMAL.replace('["seed.txt"]', '["seed.txt"]\nopml = "nothere.opml"')))


def test_allow_private_hosts_as_a_list_of_host_port(home: Path) -> None:
    config = load_config(write(home, MINIMAL + '[fetch]\nallow_private_hosts = ["127.0.0.1:8080", "10.0.0.5:443"]\n'))
    assert config.fetch.allow_private_hosts == ("127.0.0.1:8080", "10.0.0.5:443")
    assert load_config(write(home, MINIMAL + "[fetch]\nallow_private_hosts = true\n")).fetch.allow_private_hosts is True


@pytest.mark.parametrize("value", ['["127.0.0.1"]', '"yes"', "[8080]"])
def test_allow_private_hosts_rejects_other_forms(home: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="allow_private_hosts"):
        load_config(write(home, MINIMAL + f"[fetch]\nallow_private_hosts = {value}\n"))


@pytest.mark.parametrize("text, names", [
    (MINIMAL.replace('name = "w"', 'name = "w"\nseed = ["x"]'), "unknown key 'seed' in [watch]"),
    (MINIMAL + "[fetch]\ntimeuot = 3\n", "unknown key 'timeuot' in [fetch]"),
    (MINIMAL + '[[feeds]]\nurl = "https://a.example/feed"\ntitle = "a"\n', "unknown key 'title' in [feeds #1]"),
    (MINIMAL + "[schedule]\nevery = 30\n", "unknown key 'schedule' in [top level]"),
    (MINIMAL + "[decide]\njacard_threshold = 0.4\n", "unknown key 'jacard_threshold' in [decide]"),
])
def test_unknown_keys_are_named(home: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(home, text))
    assert names in str(info.value) and str(home / "watch.toml") in str(info.value)


@pytest.mark.parametrize("text, names", [
    ("[watch\nname = 1", "not valid TOML"),
    ('[feeds]\nurl = "x"\n', "missing [watch] table"),
    ('[watch]\nname = ""\n', "name must be a non-empty string"),
    (MINIMAL.replace('"seed.txt"', '"gone.txt"'), "seed file not found"),
    (MINIMAL + 'query = "(xinjiang AND"\n', "[watch] query"),
    (MINIMAL + '[[feeds]]\nurl = "ftp://a.example/feed"\n', "malformed URL 'ftp://a.example/feed'"),
    (MINIMAL + '[[feeds]]\nurl = "https:///feed"\n', "malformed URL"),
    (MINIMAL + "[fetch]\ntimeout = 0\n", "timeout must be positive"),
    (MINIMAL + "[fetch]\ntimeout = true\n", "timeout must be a number"),
])
def test_bad_values_are_named(home: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(home, text))
    assert names in str(info.value)


def test_missing_config_file(home: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(home / "absent.toml")


def test_flag_overrides_environment_overrides_default(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    monkeypatch.delenv("NEWSWATCH_DB", raising=False)
    assert (resolve_config(None), resolve_db(None)) == (DEFAULT_CONFIG, DEFAULT_DB)
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "env.toml"))
    monkeypatch.setenv("NEWSWATCH_DB", str(tmp_path / "env.duckdb"))
    assert (resolve_config(None), resolve_db(None)) == (tmp_path / "env.toml", tmp_path / "env.duckdb")
    assert resolve_config(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    assert resolve_db(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_cli_reads_config_from_environment_unless_flagged(home: Path) -> None:
    good = write(home, MINIMAL + '[[feeds]]\nname = "from-good"\nurl = "https://good.example/feed"\n', "good.toml")
    bad = write(home, MINIMAL + "oops = 1\n", "bad.toml")
    env = cli_env(NEWSWATCH_CONFIG=str(bad), NEWSWATCH_DB=str(home / "never.duckdb"), COLUMNS="200")
    from_env = newswatch("sources", env=env)
    assert from_env.returncode == 2 and str(bad) in from_env.stderr and "oops" in from_env.stderr
    flagged = newswatch("sources", "--config", good, env=env)
    assert flagged.returncode == 0, flagged.stderr
    assert "from-good" in flagged.stdout and "never polled" in flagged.stdout
    assert not (home / "never.duckdb").exists()  # `sources` only reads the database named by NEWSWATCH_DB
