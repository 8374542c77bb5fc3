"""A served news world for the flows tests: the demo's world (or any world directory) on 127.0.0.1.

The server is the demo's own (`flows.demo.WorldServer`): set `server.batch = 2` to move the world
on, read `server.requests` to see what the pipeline asked for. The helpers here add what tests need
around it: the truth of every page as URLs, the CLI as a subprocess, and dumps of the warehouse.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.demo import DEMO_WORLD, WorldRequest, WorldServer, load_world, write_watch_config

REPO = Path(__file__).resolve().parents[2]
NEWSWATCH = REPO / ".venv" / "bin" / "newswatch"
CLI_TIMEOUT = 240

__all__ = ["DEMO_WORLD", "Expected", "WorldRequest", "WorldServer", "articles_by_url", "cli_env", "dump",
           "expected_pages",
           "feed_requests", "newswatch", "page_requests", "served_world", "write_watch_config"]


@contextmanager
def served_world(directory: Path = DEMO_WORLD) -> Iterator[WorldServer]:
    """Serve the world in `directory` (batch 1) until the block ends."""
    with WorldServer(load_world(directory)) as server:
        yield server


@dataclass(frozen=True)
class Expected:
    """The right decision for one page of the world, with URLs resolved against the server."""

    page_id: str
    url: str
    status: str  # new | duplicate | irrelevant | alias
    original_url: str | None  # for duplicates and aliases; "seed" for copies of the seed
    batch: int  # the first batch whose feeds link to it
    links: tuple[str, ...]  # every link the feeds give for it (tracking links included)


def expected_pages(server: WorldServer) -> dict[str, Expected]:
    """The truth of every page of the served world, keyed by page id."""
    world = server.world
    first: dict[str, int] = {}
    links: dict[str, set[str]] = {}
    for feed in world.feeds.values():
        for batch, entries in ((1, feed.entries), (2, feed.later)):
            for entry in entries:
                page_id = entry.partition("?")[0]
                first[page_id] = min(first.get(page_id, batch), batch)
                links.setdefault(page_id, set()).add(world.url(server.base_url, entry))
    result = {}
    for page in world.pages.values():
        original = page.original
        original_url = original if original in (None, "seed") else server.page_url(original)
        result[page.id] = Expected(page.id, server.page_url(page.id), page.expect, original_url,
                                   first.get(page.id, 0), tuple(sorted(links.get(page.id, ()))))
    return result


def feed_requests(requests: Iterable[WorldRequest]) -> list[WorldRequest]:
    """The requests for feeds, in order."""
    return [r for r in requests if r.path.startswith("/feeds/")]


def page_requests(requests: Iterable[WorldRequest]) -> list[WorldRequest]:
    """The requests for article pages (not feeds, not robots.txt), in order."""
    return [r for r in requests if not r.path.startswith("/feeds/") and r.path != "/robots.txt"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI child: this session's Prefect home and server, no NEWSWATCH_* defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env.update(extra)
    return env


def newswatch(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run the installed `newswatch` command and capture its output."""
    command = [str(NEWSWATCH) if NEWSWATCH.exists() else sys.executable, *([] if NEWSWATCH.exists() else
               ["-m", "flows.cli"]), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=env or cli_env(), cwd=cwd,
                          timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL)


def dump(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on the warehouse, read-only."""
    from warehouse.connection import open_reader

    with open_reader(db_path) as con:
        return con.execute(sql, params or []).fetchall()


def articles_by_url(db_path: Path) -> dict[str, dict]:
    """The `articles` view as {url: row as dict}."""
    from warehouse.connection import open_reader

    with open_reader(db_path) as con:
        cur = con.execute("SELECT * FROM articles ORDER BY id")
        names = [d[0] for d in cur.description]
        return {row[names.index("url")]: dict(zip(names, row)) for row in cur.fetchall()}
