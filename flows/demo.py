"""`newswatch demo`: the whole pipeline offline, on a small news world shipped with the project.

The world (flows/demo_world/) is a handful of outlets' feeds and pages about the bachelet-xinjiang
story: updates, republications of the seed and of each other (a wire copy, an excerpt, a
copy-edit, a tracking link, an AMP page), off-topic items and a dead feed. It is served on
127.0.0.1 from a thread; two monitor passes run on a temporary database (the second sees the
world "later"), then the demo prints what each pass did and every decision with its reason.
"""
from __future__ import annotations

import hashlib
import html
import logging
import shutil
import string
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from rich.console import Console
from rich.markup import escape
from rich.table import Table

LOGGER = logging.getLogger(__name__)

DEMO_WORLD = Path(__file__).resolve().parent / "demo_world"
REPO = Path(__file__).resolve().parents[1]
SHIPPED_WATCH = Path("watches") / "bachelet-xinjiang"
NOVEL_SENTENCES_SHOWN = 3


# --- the world: pages and feeds described in world.toml, rendered on request -------------------

@dataclass(frozen=True)
class WorldPage:
    id: str
    outlet: str
    path: str
    title: str
    author: str
    published: datetime
    paragraphs: tuple[str, ...]
    expect: str  # new | duplicate | irrelevant | alias
    original: str | None = None  # the page (or "seed") it copies, for duplicates and aliases
    amp_of: str | None = None
    why: str = ""


@dataclass(frozen=True)
class WorldFeed:
    name: str
    title: str
    format: str = "rss"  # rss | atom
    entries: tuple[str, ...] = ()
    later: tuple[str, ...] = ()  # added from batch 2 on
    status: int = 200  # anything but 200: the feed is broken and answers only that

    def links(self, batch: int) -> tuple[str, ...]:
        return self.entries + (self.later if batch >= 2 else ())


@dataclass(frozen=True)
class World:
    directory: Path
    outlets: dict[str, dict]
    feeds: dict[str, WorldFeed]
    pages: dict[str, WorldPage]

    def page_at(self, path: str) -> WorldPage | None:
        return next((p for p in self.pages.values() if p.path == path.rstrip("/")), None)

    def url(self, base: str, entry: str) -> str:
        """The absolute link of a feed entry: the page's URL plus the entry's own query string."""
        page_id, _, query = entry.partition("?")
        return base + self.pages[page_id].path + (f"?{query}" if query else "")


def load_world(directory: Path = DEMO_WORLD) -> World:
    """Read world.toml and the texts it names."""
    spec = tomllib.loads((directory / "world.toml").read_text(encoding="utf-8"))
    pages: dict[str, WorldPage] = {}
    raw_pages = spec.get("pages", {})
    for page_id, p in raw_pages.items():
        source = raw_pages[p["amp_of"]] if "amp_of" in p else p
        text = (directory / "texts" / source["text"]).read_text(encoding="utf-8")
        pages[page_id] = WorldPage(
            id=page_id, outlet=source["outlet"], path=p["path"], title=source["title"], author=source["author"],
            published=datetime.fromisoformat(source["published"]),
            paragraphs=tuple(part.strip() for part in text.split("\n\n") if part.strip()),
            expect=p["expect"], original=p.get("duplicate_of") or p.get("alias_of"), amp_of=p.get("amp_of"),
            why=p.get("why", ""),
        )
    feeds = {name: WorldFeed(name=name, title=f["title"], format=f.get("format", "rss"),
                             entries=tuple(f.get("entries", ())), later=tuple(f.get("later", ())),
                             status=int(f.get("status", 200)))
             for name, f in spec.get("feeds", {}).items()}
    return World(directory, spec.get("outlets", {}), feeds, pages)


def render_page(world: World, page: WorldPage, base: str) -> bytes:
    """The page as its outlet serves it: navigation, article, a most-read list, a footer."""
    outlet = world.outlets[page.outlet]
    canonical = base + (world.pages[page.amp_of].path if page.amp_of else page.path)
    layout = "amp.html" if page.amp_of else "layout.html"
    amp_path = next((p.path for p in world.pages.values() if p.amp_of == page.id), None)
    values = {
        "title": html.escape(page.title), "outlet": html.escape(outlet["name"]), "canonical": canonical,
        "amp_link": f'<link rel="amphtml" href="{base}{amp_path}">' if amp_path else "",
        "author": html.escape(page.author), "published": page.published.isoformat(),
        "published_human": page.published.strftime("%d %B %Y, %H:%M UTC"), "year": str(page.published.year),
        "sections": "".join(f'<li><a href="/{s.lower()}">{html.escape(s)}</a></li>' for s in outlet["sections"]),
        "most_read": "".join(f'<li><a href="/most-read/{i}">{html.escape(t)}</a></li>'
                             for i, t in enumerate(outlet["most_read"], 1)),
        "body": "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs),
    }
    template = string.Template((world.directory / layout).read_text(encoding="utf-8"))
    return template.substitute(values).encode("utf-8")


def _summary(page: WorldPage, words: int = 30) -> str:
    first = page.paragraphs[0].split()
    return " ".join(first[:words]) + (" …" if len(first) > words else "")


def render_feed(world: World, feed: WorldFeed, batch: int, base: str) -> bytes:
    """The feed's RSS 2.0 or Atom document as it stands in `batch`, newest entry first."""
    entries = sorted(feed.links(batch), key=lambda e: world.pages[e.partition("?")[0]].published, reverse=True)
    items = []
    for entry in entries:
        page = world.pages[entry.partition("?")[0]]
        link = xml_escape(world.url(base, entry))
        title, summary = xml_escape(page.title), xml_escape(_summary(page))
        if feed.format == "atom":
            stamp = page.published.isoformat().replace("+00:00", "Z")
            items.append(f'<entry><title>{title}</title><link rel="alternate" href="{link}"/><id>{link}</id>'
                         f"<published>{stamp}</published><updated>{stamp}</updated>"
                         f"<author><name>{xml_escape(page.author)}</name></author><summary>{summary}</summary></entry>")
        else:
            items.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                         f"<pubDate>{format_datetime(page.published)}</pubDate><description>{summary}</description></item>")
    title = xml_escape(feed.title)
    if feed.format == "atom":
        updated = max((world.pages[e.partition("?")[0]].published for e in entries), default=None)
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
               f'<title>{title}</title><id>{base}/feeds/{feed.name}</id><link rel="self" href="{base}/feeds/{feed.name}"/>'
               f"<updated>{updated.isoformat() if updated else '2023-01-01T00:00:00+00:00'}</updated>"
               + "".join(items) + "</feed>")
    else:
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{title}</title>'
               f"<link>{base}/</link><description>{title}</description>" + "".join(items) + "</channel></rss>")
    return doc.encode("utf-8")


# --- serving it -----------------------------------------------------------------------------

@dataclass(frozen=True)
class WorldRequest:
    """One request the world answered, for tests that check politeness and conditional GETs."""

    method: str
    path: str
    status: int
    if_none_match: str | None
    user_agent: str | None


class _QuietServer(ThreadingHTTPServer):
    """The world's HTTP server: a client that hangs up mid-request is the client's business."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # reset or broken pipe: nobody is listening
            LOGGER.debug("client %s went away mid-request", client_address)
            return
        super().handle_error(request, client_address)


@dataclass
class WorldServer:
    """A world served on 127.0.0.1 from a thread; set `batch` to move the world on."""

    world: World
    batch: int = 1
    requests: list[WorldRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None, "the world is not being served"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def feed_url(self, name: str) -> str:
        return f"{self.base_url}/feeds/{name}"

    def page_url(self, page_id: str, query: str = "") -> str:
        return self.world.url(self.base_url, page_id + (f"?{query}" if query else ""))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def _answer(self, target: str, headers) -> tuple[int, dict[str, str], bytes, str]:
        path = urlsplit(target).path
        base = self.base_url
        if path == "/robots.txt":
            return 200, {}, b"User-agent: *\nAllow: /\n", "text/plain"
        if path.startswith("/feeds/"):
            feed = self.world.feeds.get(path[len("/feeds/"):])
            if feed is None:
                return 404, {}, b"no such feed", "text/plain"
            if feed.status != 200:
                return feed.status, {}, b"internal server error", "text/plain"
            body = render_feed(self.world, feed, self.batch, base)
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag}, b"", ""
            ctype = "application/atom+xml" if feed.format == "atom" else "application/rss+xml"
            return 200, {"ETag": etag}, body, ctype
        page = self.world.page_at(path)  # like most sites, pages ignore the query string
        if page is None:
            return 404, {}, b"<html><body><h1>Not found</h1></body></html>", "text/html; charset=utf-8"
        return 200, {}, render_page(self.world, page, base), "text/html; charset=utf-8"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        world_server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # the request log replaces stderr chatter
                pass

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                status, headers, body, ctype = world_server._answer(self.path, self.headers)
                with world_server._lock:  # logged before answering, so a client that got its answer finds it here
                    world_server.requests.append(WorldRequest(
                        self.command, self.path, status, self.headers.get("If-None-Match"),
                        self.headers.get("User-Agent")))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304 and self.command != "HEAD":
                    self.wfile.write(body)

        return Handler

    def __enter__(self) -> WorldServer:
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, name="demo-world", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def shipped_watch_dir() -> Path:
    """The shipped bachelet-xinjiang watch: next to the package in a checkout, else under the working directory."""
    for root in (REPO, Path.cwd()):
        if (root / SHIPPED_WATCH / "seed.txt").is_file():
            return root / SHIPPED_WATCH
    raise FileNotFoundError(f"the shipped watch {SHIPPED_WATCH} was not found next to the package or here")


def write_watch_config(path: Path, server: WorldServer, name: str = "bachelet-xinjiang",
                       seeds: tuple[Path, ...] | None = None, query: str | None = None) -> Path:
    """A watch config polling every feed of the served world, with the shipped watch's seed and query."""
    from flows.config import load_config

    shipped = shipped_watch_dir()
    seeds = seeds or (shipped / "seed.txt",)
    if query is None:
        query = load_config(shipped / "watch.toml").query or ""
    lines = ["[watch]", f"name = {_toml(name)}", "seeds = [" + ", ".join(_toml(str(s)) for s in seeds) + "]"]
    if query:
        lines.append(f"query = {_toml(' '.join(query.split()))}")
    for feed in server.world.feeds.values():
        lines += ["", "[[feeds]]", f"name = {_toml(feed.name)}", f"url = {_toml(server.feed_url(feed.name))}"]
    lines += ["", "[fetch]", f"allow_private_hosts = [{_toml(f'127.0.0.1:{server.port}')}]", "timeout = 10.0", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def serve_world(directory: Path = DEMO_WORLD) -> Iterator[WorldServer]:
    """Serve the world in `directory` on 127.0.0.1 until the block ends."""
    with WorldServer(load_world(directory)) as server:
        yield server


# --- the demo -------------------------------------------------------------------------------

STATUS_STYLE = {"seed": "cyan", "new": "bold green", "duplicate": "yellow", "irrelevant": "dim", "error": "red"}


def run_demo(out: Console, keep: Path | None) -> None:
    """Serve the demo world, run two monitor passes on a fresh database, print what was found and why."""
    import typer

    from flows.config import load_config
    from flows.prefect_api import local_prefect_api
    from flows.report import print_summary
    from flows.runner import run_monitor_pass

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if keep is not None and keep.exists():
        err.print(f"newswatch: {keep} exists already; --keep needs a new path", markup=False)
        raise typer.Exit(2)
    workdir = Path(tempfile.mkdtemp(prefix="newswatch-demo-"))
    db_path = keep if keep is not None else workdir / "demo.duckdb"
    try:
        with serve_world() as server:
            config = load_config(write_watch_config(workdir / "watch.toml", server))
            _introduce(out, server, config)
            try:
                with local_prefect_api():  # one Prefect server for both passes
                    out.rule("Pass 1: the world as the watch first sees it")
                    print_summary(out, run_monitor_pass(config, db_path, progress=out.is_terminal))
                    server.batch = 2
                    out.rule("Pass 2: the same world later, with more stories and copies")
                    print_summary(out, run_monitor_pass(config, db_path, progress=out.is_terminal))
            except Exception as exc:  # as `newswatch run` does: one line and exit 1, the details in the log
                LOGGER.debug("demo pass failed", exc_info=True)
                err.print(f"newswatch: the demo failed: {type(exc).__name__}: {exc}", markup=False)
                raise typer.Exit(1) from None
        out.rule("What was found, and why")
        print_findings(out, db_path, config.name)
        out.print()
        if keep is not None:
            out.print(f"The database is kept at {keep}. Try:", markup=False)
            out.print(f'  newswatch sql --db {keep} "SELECT id, status, duplicate_of, title FROM articles"', markup=False)
            out.print(f"  newswatch explain --db {keep} <an id or URL from the tables above>", markup=False)
        else:
            out.print("The database was temporary and is removed now; `newswatch demo --keep demo.duckdb` keeps it.",
                      markup=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _introduce(out: Console, server: WorldServer, config) -> None:
    world = server.world
    live = [f for f in world.feeds.values() if f.status == 200]
    out.print(f"newswatch demo: a small news world about watch '{config.name}', served at {server.base_url}",
              markup=False)
    out.print(f"  {len(live)} feeds and {len(world.pages)} pages, plus one dead feed; "
              f"the seed (what the reader already knows): {config.seeds[0]}", markup=False)
    out.print("  Each report becomes: new (an update), duplicate (a copy of something known), "
              "irrelevant (off topic) or error.", markup=False)
    out.print("  Pass 2 sees the world later; feeds that did not change answer 304 and cost nothing.", markup=False)


def print_findings(out: Console, db_path: Path, watch: str) -> None:
    """Every article with its decision and reason, pass by pass, then the updates and what was new in each."""
    from warehouse.connection import open_reader

    with open_reader(db_path) as con:
        rows = con.execute(
            "SELECT id, run_id, status, coalesce(title, ''), url, reason, duplicate_of, left(text, 60) FROM articles "
            "WHERE watch = ? ORDER BY id", [watch]).fetchall()
        updates = con.execute("SELECT id, title, url, published_at FROM updates WHERE watch = ?", [watch]).fetchall()
        novel = {aid: [s for (s,) in con.execute(
            "SELECT sentence FROM novel_sentence WHERE article_id = ? ORDER BY position", [aid]).fetchall()]
            for aid, *_ in updates}
        aliases = con.execute(
            "SELECT url, article_id FROM article_url WHERE watch = ? AND kind = 'alias' ORDER BY article_id, url",
            [watch]).fetchall()
    ids = {url: aid for aid, _, _, _, url, *_ in rows}
    for run_id in sorted({r[1] for r in rows}, key=lambda r: (r is not None, r)):
        title = "what the reader already knows" if run_id is None else f"found in pass {run_id}"
        table = Table(title=title, title_justify="left", expand=True)
        table.add_column("#", justify="right")
        table.add_column("status")
        table.add_column("title", ratio=2, overflow="fold")
        table.add_column("why", ratio=3, overflow="fold")
        table.add_column("copy of", justify="right")
        for aid, _run, status, label, url, reason, dup, opening in (r for r in rows if r[1] == run_id):
            if status == "seed":
                label = f"{url.rsplit('/', 1)[-1]}: {opening} …"
            reason = reason or ""
            for other, other_id in ids.items():  # a copy found in the same pass names its original by URL
                reason = reason.replace(other, f"#{other_id}")
            style = STATUS_STYLE.get(status, "")
            table.add_row(str(aid), f"[{style}]{status}[/]" if style else status, escape(label or url),
                          escape(reason), f"#{dup}" if dup else "")
        out.print(table)
    if aliases:
        out.print("Other links of stored articles (tracking parameters, AMP pages), stored once:")
        for url, aid in aliases:
            out.print(f"  {url}  ->  #{aid}", markup=False)
    out.print()
    out.print(f"Updates: {len(updates)} (what a digest would send), newest first, with what was new in each:")
    for aid, title, url, published in updates:
        day = published.strftime("%Y-%m-%d") if published else "undated"
        out.print(f"  #{aid} [bold]{escape(title or url)}[/] ({day})")
        out.print(f"      {url}", markup=False)
        sentences = novel.get(aid, [])
        for sentence in sentences[:NOVEL_SENTENCES_SHOWN]:
            out.print(f"      + {sentence}", markup=False)
        if len(sentences) > NOVEL_SENTENCES_SHOWN:
            out.print(f"      (and {len(sentences) - NOVEL_SENTENCES_SHOWN} more new sentences)", markup=False)
