"""The watch config: a TOML file, validated strictly, with defaults for everything optional.

Unknown keys are an error that names the key, so a typo never silently turns a setting off.
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOGGER = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("watches/bachelet-xinjiang/watch.toml")
DEFAULT_DB = Path("data/newswatch.duckdb")


class ConfigError(Exception):
    """The watch config cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class FeedConfig:
    url: str
    name: str = ""


@dataclass(frozen=True)
class FetchConfig:
    allow_private_hosts: bool | tuple[str, ...] = False  # True, or a list of "host:port"
    user_agent: str = "newswatch/0.1 (media monitoring; +https://example.org/newswatch)"
    timeout: float = 30.0  # total seconds per request
    max_feed_bytes: int = 10_000_000
    max_page_bytes: int = 5_000_000
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0
    respect_robots: bool = True
    max_redirects: int = 5


@dataclass(frozen=True)
class DecideConfig:
    """Thresholds of the decisions; None keeps the dedup room's tested default."""

    values: dict[str, float | bool | int] = field(default_factory=dict)


@dataclass(frozen=True)
class DigestConfig:
    notify: tuple[str, ...] = ()  # apprise URLs
    title: str = ""  # subject prefix; defaults to the watch name
    max_updates: int = 50


@dataclass(frozen=True)
class WatchConfig:
    path: Path
    name: str
    seeds: tuple[Path, ...]
    query: str | None
    feeds: tuple[FeedConfig, ...]
    fetch: FetchConfig = FetchConfig()
    decide: DecideConfig = DecideConfig()
    digest: DigestConfig = DigestConfig()


_WATCH_KEYS = {"name", "seeds", "query", "opml"}
_FEED_KEYS = {"url", "name"}


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, path: Path) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key '{key}' in [{where}] (allowed: {', '.join(sorted(allowed))})")


def _check_url(url: Any, where: str, path: Path) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{path}: {where}: url must be a non-empty string")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{path}: {where}: malformed URL {url!r} (need http:// or https:// and a host)")
    return url.strip()


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, path: Path, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"{path}: [{where}] {key} must be a number, not {value!r}")
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{path}: [{where}] {key} must be {name}, not {value!r}")
    return value


def _fetch(table: dict[str, Any], path: Path) -> FetchConfig:
    defaults = FetchConfig()
    allowed = {f for f in FetchConfig.__dataclass_fields__}
    _check_keys(table, allowed, "fetch", path)
    private = table.get("allow_private_hosts", False)
    if isinstance(private, list):
        for item in private:
            if not isinstance(item, str) or ":" not in item:
                raise ConfigError(f"{path}: [fetch] allow_private_hosts entries must be \"host:port\", not {item!r}")
        private = tuple(private)
    elif not isinstance(private, bool):
        raise ConfigError(f"{path}: [fetch] allow_private_hosts must be true, false or a list of \"host:port\"")
    values: dict[str, Any] = {"allow_private_hosts": private}
    for key in allowed - {"allow_private_hosts"}:
        default = getattr(defaults, key)
        kind: type | tuple[type, ...] = (int, float) if isinstance(default, float) else type(default)
        values[key] = _typed(table, key, kind, "fetch", path, default)
    for key in ("timeout", "max_feed_bytes", "max_page_bytes", "per_host_concurrency"):
        if values[key] <= 0:
            raise ConfigError(f"{path}: [fetch] {key} must be positive")
    return FetchConfig(**values)


def _digest(table: dict[str, Any], path: Path) -> DigestConfig:
    _check_keys(table, {"notify", "title", "max_updates"}, "digest", path)
    notify = table.get("notify", [])
    if isinstance(notify, str):
        notify = [notify]
    if not isinstance(notify, list) or not all(isinstance(n, str) and "://" in n for n in notify):
        raise ConfigError(f"{path}: [digest] notify must be a list of apprise URLs (scheme://...)")
    return DigestConfig(notify=tuple(notify), title=_typed(table, "title", str, "digest", path, ""),
                        max_updates=_typed(table, "max_updates", int, "digest", path, 50))


def _decide(table: dict[str, Any], path: Path) -> DecideConfig:
    from dedup import DecisionSettings  # the thresholds' one home

    allowed = set(DecisionSettings.__dataclass_fields__)
    _check_keys(table, allowed, "decide", path)
    for key, value in table.items():
        if not isinstance(value, (int, float, bool)):
            raise ConfigError(f"{path}: [decide] {key} must be a number or boolean, not {value!r}")
    return DecideConfig(values=dict(table))


def _resolve(path: Path, relative: str) -> Path:
    p = Path(relative).expanduser()
    return p if p.is_absolute() else (path.parent / p)


def load_config(path: Path | str) -> WatchConfig:
    """Read and validate a watch config; raise ConfigError naming the problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    _check_keys(data, {"watch", "feeds", "fetch", "decide", "digest"}, "top level", path)
    watch = data.get("watch")
    if not isinstance(watch, dict):
        raise ConfigError(f"{path}: missing [watch] table")
    _check_keys(watch, _WATCH_KEYS, "watch", path)
    name = watch.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}: [watch] name must be a non-empty string")

    seeds_raw = watch.get("seeds", [])
    if isinstance(seeds_raw, str):
        seeds_raw = [seeds_raw]
    if not isinstance(seeds_raw, list) or not all(isinstance(s, str) for s in seeds_raw):
        raise ConfigError(f"{path}: [watch] seeds must be a list of file paths")
    seeds = tuple(_resolve(path, s) for s in seeds_raw)
    for seed in seeds:
        if not seed.is_file():
            raise ConfigError(f"{path}: seed file not found: {seed}")

    query = watch.get("query")
    if query is not None:
        if not isinstance(query, str):
            raise ConfigError(f"{path}: [watch] query must be a string")
        from dedup import QueryError, parse_query

        try:
            parse_query(query)
        except QueryError as exc:
            raise ConfigError(f"{path}: [watch] query: {exc}") from None
        query = query.strip() or None

    feeds_raw = data.get("feeds", [])
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{path}: [[feeds]] must be an array of tables")
    feeds: list[FeedConfig] = []
    for i, feed in enumerate(feeds_raw, 1):
        if not isinstance(feed, dict):
            raise ConfigError(f"{path}: [[feeds]] #{i} must be a table")
        _check_keys(feed, _FEED_KEYS, f"feeds #{i}", path)
        url = _check_url(feed.get("url"), f"[[feeds]] #{i}", path)
        feeds.append(FeedConfig(url=url, name=str(feed.get("name", ""))))
    if "opml" in watch:
        if not isinstance(watch["opml"], str):
            raise ConfigError(f"{path}: [watch] opml must be a file path")
        feeds.extend(_opml_feeds(_resolve(path, watch["opml"]), path))
    seen: set[str] = set()
    unique = []
    for feed in feeds:
        if feed.url not in seen:
            seen.add(feed.url)
            unique.append(feed)

    return WatchConfig(
        path=path, name=name.strip(), seeds=seeds, query=query, feeds=tuple(unique),
        fetch=_fetch(data.get("fetch", {}), path), decide=_decide(data.get("decide", {}), path),
        digest=_digest(data.get("digest", {}), path),
    )


def _opml_feeds(opml: Path, path: Path) -> list[FeedConfig]:
    from extractors import ExtractorError, read_opml

    if not opml.is_file():
        raise ConfigError(f"{path}: OPML file not found: {opml}")
    try:
        sources = read_opml(opml)
    except ExtractorError as exc:
        raise ConfigError(f"{path}: OPML {opml}: {exc}") from None
    return [FeedConfig(url=_check_url(s.url, f"OPML {opml.name}", path), name=s.name) for s in sources]
