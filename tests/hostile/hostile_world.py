"""Worlds for the end-to-end fault tests: feeds, pages and hostile handlers on a LocalServer, a watch
config that polls them, the CLI as a child process, and a look at the warehouse it leaves.

The servers are the extractors room's `LocalServer` (a real ThreadingHTTPServer on 127.0.0.1 that
logs every request). Everything here is built from the project's own files; only the corpus sample
of the hostile world reads ../shared, and callers skip that part when it is absent.
"""
from __future__ import annotations

import gzip
import hashlib
import html
import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from extractors_testkit import SHARED, LocalServer

HERE = Path(__file__).resolve().parent
WORLD = HERE / "world"
REPO = HERE.parents[1]
NEWSWATCH = REPO / ".venv" / "bin" / "newswatch"
SHIPPED_WATCH = REPO / "watches" / "bachelet-xinjiang" / "watch.toml"
SHIPPED_SEED = SHIPPED_WATCH.parent / "seed.txt"
FEED_CORPUS = SHARED / "corpora" / "feedparser-feeds"

Handler = Callable[[BaseHTTPRequestHandler], None]


# --- feeds and pages --------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One feed item; `title_xml` is put into the feed as it is (CDATA, entities, markup)."""

    link: str
    title: str = ""
    description: str = ""
    published: str = ""  # the raw date string, however absurd
    title_xml: str | None = None


def rss(items: Iterable[Item], title: str = "A feed", prologue: str = "") -> bytes:
    """An RSS 2.0 document; `prologue` goes between the XML declaration and <rss> (a DOCTYPE)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?>{prologue}\n<rss version="2.0"><channel>',
             f"<title>{html.escape(title)}</title><link>http://feeds.example/</link><description>x</description>"]
    for item in items:
        item_title = item.title_xml if item.title_xml is not None else html.escape(item.title)
        parts.append(f"<item><title>{item_title}</title><link>{html.escape(item.link)}</link>"
                     f"<guid>{html.escape(item.link)}</guid>"
                     + (f"<description>{html.escape(item.description)}</description>" if item.description else "")
                     + (f"<pubDate>{html.escape(item.published)}</pubDate>" if item.published else "")
                     + "</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def atom_with_text_titles(entries: Iterable[tuple[str, str, str]], title: str = "An Atom feed") -> bytes:
    """An Atom feed whose titles are type="text": markup in them is literal text, kept as written."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<title>{html.escape(title)}</title><id>urn:hostile:atom</id><updated>2022-09-01T00:00:00Z</updated>"]
    for entry_title, link, updated in entries:
        parts.append(f'<entry><title type="text">{html.escape(entry_title)}</title>'
                     f'<link rel="alternate" href="{html.escape(link)}"/><id>{html.escape(link)}</id>'
                     f"<updated>{updated}</updated></entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode()


def article_page(title: str, paragraphs: Sequence[str]) -> bytes:
    """A plain news page: navigation, one article, a footer; every text escaped as a site would."""
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"</head><body><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a></nav>"
            f"<article><h1>{html.escape(title)}</h1>\n{body}</article>"
            f"<footer>Copyright the Hostile Herald</footer></body></html>").encode()


def text_paragraphs(name: str) -> list[str]:
    """The paragraphs of a text in tests/hostile/world/."""
    text = (WORLD / name).read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


_WORDS = ("council delegates harbour ministry river festival budget orchard railway tariff lantern "
          "engineers ferry drought vaccine archive glacier senate courier mural bakery pension satellite "
          "cabinet vineyard tunnel election refinery library turbine merchants canal auditors quarry "
          "orchestra harvest bridge clinic lighthouse textile union ballot aquifer museum tram customs "
          "reservoir academy shipyard forest inspectors market copper bishop frontier windmill regatta "
          "ledger parish carnival observatory granary embassy monastery pottery brewery salmon telegraph").split()


def generated_paragraphs(rng: random.Random, paragraphs: int = 5, sentences: int = 4) -> list[str]:
    """Readable-looking filler that no other generated page shares: random sentences from a word list."""
    out = []
    for _ in range(paragraphs):
        lines = []
        for _ in range(sentences):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(10, 16))]
            lines.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(lines))
    return out


def gzip_bomb(decoded_bytes: int) -> bytes:
    """A small gzip body that decodes to `decoded_bytes` zero bytes."""
    return gzip.compress(b"\0" * decoded_bytes, compresslevel=9)


# --- handlers ------------------------------------------------------------------------------------

def _respond(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def conditional(body: bytes, content_type: str, delay: float = 0.0,
                release: threading.Event | None = None) -> Handler:
    """Serve body with an ETag and answer If-None-Match with 304, as real feeds do.

    `delay` stretches every answer; `release`, when given, holds the answer until it is set (at most 120 s).
    """
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

    def handler(request: BaseHTTPRequestHandler) -> None:
        if release is not None:
            release.wait(120)
        if delay:
            time.sleep(delay)
        if request.headers.get("If-None-Match") == etag:
            _respond(request, 304, b"", {"ETag": etag})
        else:
            _respond(request, 200, body, {"ETag": etag, "Content-Type": content_type})

    return handler


def dripping(server: LocalServer, content_type: str, interval: float = 1.0, prefix: bytes = b"") -> Handler:
    """Headers at once, then `prefix`, then one byte per interval for as long as the client listens."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.end_headers()
        request.wfile.write(prefix)
        while not server.stopping.is_set():
            request.wfile.write(b" ")
            request.wfile.flush()
            server.stopping.wait(interval)

    return handler


def endless(server: LocalServer, content_type: str) -> Handler:
    """A body with no length that never ends: 64 KiB chunks as fast as the client reads them."""
    chunk = b"<p>" + b"endless text " * 5000 + b"</p>\n"

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.end_headers()
        while not server.stopping.is_set():
            request.wfile.write(chunk)

    return handler


def busy_once(body: bytes, content_type: str, retry_after: int = 1) -> Handler:
    """503 with Retry-After the first time, the body after that."""
    asked = threading.Event()

    def handler(request: BaseHTTPRequestHandler) -> None:
        if not asked.is_set():
            asked.set()
            _respond(request, 503, b"busy", {"Retry-After": str(retry_after), "Content-Type": "text/plain"})
        else:
            _respond(request, 200, body, {"Content-Type": content_type})

    return handler


# --- a small world for the fault tests ----------------------------------------------------------

@dataclass(frozen=True)
class SmallWorld:
    """Feeds (name, url) and every page URL they link to."""

    feeds: tuple[tuple[str, str], ...]
    pages: tuple[str, ...]


def small_world(server: LocalServer, *, feeds: int = 3, per_feed: int = 10, copies: int = 5,
                page_delay: float = 0.1, seed: int = 7) -> SmallWorld:
    """Feeds of distinct pages, `copies` of which repeat another page's text at their own URL.

    Feeds answer conditional GETs (ETag/304) like real ones; pages take `page_delay` seconds, so a
    pass spends a while fetching and a kill can land in the middle of it.
    """
    rng = random.Random(seed)
    texts: list[tuple[str, list[str]]] = []
    total = feeds * per_feed
    for i in range(total - copies):
        texts.append((f"Report {i}: {rng.choice(_WORDS)} {rng.choice(_WORDS)}", generated_paragraphs(rng)))
    for i in range(copies):
        original_title, original = texts[rng.randrange(len(texts))]
        texts.append((f"{original_title} (syndicated copy {i})", list(original)))
    pages = []
    for i, (title, paragraphs) in enumerate(texts):
        path = f"/news/{i:03d}-story"
        server.add_handler(path, conditional(article_page(title, paragraphs), "text/html; charset=utf-8",
                                             delay=page_delay))
        pages.append((server.url(path), title, paragraphs[0]))
    rng.shuffle(pages)
    feed_list = []
    for f in range(feeds):
        chunk = pages[f * per_feed:(f + 1) * per_feed]
        items = [Item(link=url, title=title, description=lead[:200],
                      published=f"Mon, {1 + i:02d} Aug 2022 10:00:00 GMT")
                 for i, (url, title, lead) in enumerate(chunk)]
        path = f"/feeds/outlet-{f}.xml"
        server.add_handler(path, conditional(rss(items, f"Outlet {f}"), "application/rss+xml"))
        feed_list.append((f"outlet-{f}", server.url(path)))
    return SmallWorld(tuple(feed_list), tuple(url for url, _, _ in pages))


# --- the watch config --------------------------------------------------------------------------

def shipped_query() -> str:
    """The query of the shipped bachelet-xinjiang watch, on one line."""
    from flows.config import load_config

    return " ".join((load_config(SHIPPED_WATCH).query or "").split())


def write_watch(path: Path, feeds: Iterable[tuple[str, str]], allowed: Iterable[str], *,
                name: str = "hostile", seeds: Sequence[Path] = (SHIPPED_SEED,), query: str | None = None,
                **fetch: object) -> Path:
    """A watch config polling `feeds`, with only `allowed` ("host:port") exempt from the SSRF guard."""
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = ["[watch]", f"name = {q(name)}", "seeds = [" + ", ".join(q(str(s)) for s in seeds) + "]"]
    if query:
        lines.append(f"query = {q(query)}")
    for feed_name, url in feeds:
        lines += ["", "[[feeds]]", f"name = {q(feed_name)}", f"url = {q(url)}"]
    lines += ["", "[fetch]", "allow_private_hosts = [" + ", ".join(q(a) for a in allowed) + "]"]
    for key, value in fetch.items():
        lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the CLI as a child process -----------------------------------------------------------------

def cli_env(prefect_api: str) -> dict[str, str]:
    """The environment of a CLI child: the session's Prefect server, no NEWSWATCH_* defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["PREFECT_API_URL"] = prefect_api
    return env


def start_newswatch(*args: str | Path, env: dict[str, str]) -> subprocess.Popen:
    """Start `newswatch ARGS` in its own process group, output captured as text."""
    return subprocess.Popen([str(NEWSWATCH), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env, cwd=REPO, start_new_session=True)


def newswatch(*args: str | Path, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `newswatch ARGS` to the end and capture its output."""
    return subprocess.run([str(NEWSWATCH), *map(str, args)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def rows(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """The rows of a read-only query on the warehouse."""
    from warehouse.connection import open_reader

    with open_reader(db) as con:
        return con.execute(sql, list(params)).fetchall()


# --- memory of a process tree --------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants, now."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += tree.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakMemory:
    """Samples the resident memory of a process tree in a thread; `peak` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


# --- processes ---------------------------------------------------------------------------------

def live_group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# --- the hostile world: everything at once --------------------------------------------------------

SCRIPT_TITLE = "<script>alert(1)</script>"
IMG_TITLE = "<img src=x onerror=alert(1)>"
BODY_MARKUP = 'Protesters\' placards read <script>alert(2)</script> and <a href="javascript:alert(3)">this</a>.'

_LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
ENTITY_BOMB_DOCTYPE = f'\n<!DOCTYPE rss [<!ENTITY lol0 "lol">{_LAUGHS}]>'


def external_entities_doctype(target: str) -> str:
    """A DTD that asks for /etc/passwd and for `target`, as general and parameter entities."""
    return (f'\n<!DOCTYPE rss [\n  <!ENTITY file SYSTEM "file:///etc/passwd">\n'
            f'  <!ENTITY remote SYSTEM "{target}">\n  <!ENTITY % param SYSTEM "{target}-param"> %param;\n]>')


ABSURD_DATES = ("Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 +9999",
                "2022-13-45T25:61:61Z", "yesterday, around teatime", "99999999999999999999999", "-1",
                "Sun, 31 Feb 2022 10:00:00 GMT")


@dataclass(frozen=True)
class HostileWorld:
    """What was served where, and what a pass over it must (not) do."""

    feeds: tuple[tuple[str, str], ...]  # (name, url) of every source, in config order
    markup_pages: dict[str, str]  # page URL -> the literal markup its feed gives as its title
    expected_errors: dict[str, str]  # feed name -> what its last_error must start with
    page_errors: dict[str, str]  # page URL -> what its article's error must start with
    corpus_feeds: int
    disallowed_path: str  # robots.txt forbids it; it must never be requested


def _page_route(server: LocalServer, path: str, title: str, paragraphs: Sequence[str]) -> str:
    return server.add(path, article_page(title, paragraphs), content_type="text/html; charset=utf-8")


def _feed_route(server: LocalServer, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
    return server.add(path, body, content_type=content_type)


class OtherHostServer(LocalServer):
    """A LocalServer on another loopback address (127.0.0.2), so the fetcher sees another host.

    Where 127.0.0.2 cannot be bound (not every system routes all of 127/8), it stays on 127.0.0.1
    and is reached by the name localhost instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.host = "localhost"
        try:
            other = ThreadingHTTPServer(("127.0.0.2", 0), self.httpd.RequestHandlerClass)
        except OSError:
            return
        self.httpd.server_close()
        other.daemon_threads = True
        self.httpd, self.port, self.host = other, other.server_address[1], "127.0.0.2"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


def hostile_world(server: LocalServer, forbidden: LocalServer, limited: OtherHostServer, corpus: Sequence[Path] = (),
                  corpus_root: Path = FEED_CORPUS, seed: int = 6) -> HostileWorld:
    """Serve on `server` every hostile feed and page at once; `forbidden` is linked to but must stay unasked.

    `limited` answers 429 with an hour's Retry-After; it is another host, since the fetcher rightly
    leaves the whole host alone after that.
    """
    rng = random.Random(seed)
    feeds: list[tuple[str, str]] = []
    errors: dict[str, str] = {}

    def feed(name: str, url: str, error: str | None = None) -> None:
        feeds.append((name, url))
        if error is not None:
            errors[name] = error

    def filler(path: str, title: str) -> str:
        return _page_route(server, path, title, generated_paragraphs(rng))

    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    disallowed = filler("/private/members-only", "Members only")

    # Titles with markup over on-topic reports: stored as new, so they reach the digest.
    assessment = _page_route(server, "/news/rights-office-assessment", "UN rights office publishes Xinjiang assessment",
                             text_paragraphs("assessment.txt") + [BODY_MARKUP])
    visit = _page_route(server, "/news/bachelet-china-visit", "Bachelet ends China visit",
                        text_paragraphs("visit.txt"))
    markup = {assessment: SCRIPT_TITLE, visit: IMG_TITLE}
    feed("markup-in-titles", _feed_route(server, "/feeds/markup.atom", atom_with_text_titles(
        [(SCRIPT_TITLE, assessment, "2022-09-01T06:00:00Z"), (IMG_TITLE, visit, "2022-05-28T18:00:00Z")]),
        "application/atom+xml"))

    # Bombs, endless and dripping bodies, loops: as feeds and as pages.
    big_zero = gzip_bomb(64 * 1024 * 1024)
    feed("gzip-bomb-feed", server.add("/feeds/bomb.xml", big_zero, content_type="application/rss+xml",
                                      content_encoding="gzip"), "body larger than")
    feed("huge-feed", _feed_route(server, "/feeds/huge.xml", rss(
        [Item(f"http://feeds.example/{i}", "x" * 1000, "y" * 10_000) for i in range(1100)])), "body larger than")
    feed("dripping-feed", server.add_handler("/feeds/drip.xml", dripping(server, "application/rss+xml", 1.0,
                                                                         b"<?xml version='1.0'?><rss>")), "timed out")
    server.redirect("/feeds/loop-b.xml", "/feeds/loop-a.xml")
    feed("redirect-loop-feed", server.redirect("/feeds/loop-a.xml", "/feeds/loop-b.xml"), "redirect loop")
    feed("not-a-feed", _feed_route(server, "/feeds/page.html", article_page("Home", ["Welcome."]), "text/html"),
         "not a feed")
    feed("rate-limited-feed", limited.add("/feeds/rate-limited.xml", "slow down", status=429, retry_after="3600",
                                          content_type="text/plain"), "HTTP 429")
    busy_ok = filler("/news/after-busy", "After a busy answer")
    feed("busy-once-feed", server.add_handler("/feeds/busy.xml", busy_once(
        rss([Item(busy_ok, "After a busy answer")]), "application/rss+xml")))

    server.add("/news/bomb", big_zero, content_type="text/html", content_encoding="gzip")
    server.add("/news/huge", b"<html><body><p>" + b"huge " * 1_300_000 + b"</p></body></html>",
               content_type="text/html")
    server.add_handler("/news/endless", endless(server, "text/html"))
    server.add_handler("/news/drip", dripping(server, "text/html", 1.0, b"<html><body><p>"))
    server.redirect("/news/loop-a", "/news/loop-b")
    server.redirect("/news/loop-b", "/news/loop-a")
    server.add("/news/picture", b"\x89PNG\r\n\x1a\n" + b"\0" * 1000, content_type="image/png")
    server.add_handler("/news/busy", busy_once(article_page("Busy at first", generated_paragraphs(rng)),
                                               "text/html"))
    page_errors = {server.url(path): error for path, error in (
        ("/news/bomb", "body larger than"), ("/news/huge", "body larger than"),
        ("/news/endless", "body larger than"), ("/news/drip", "timed out"), ("/news/loop-a", "redirect loop"),
        ("/news/picture", "not a web page"), ("/private/members-only", "disallowed by robots.txt"),
        ("/news/missing", "HTTP 404"))}
    feed("hostile-pages", _feed_route(server, "/feeds/pages.xml", rss(
        [Item(url, f"Page {url}") for url in [*page_errors, server.url("/news/busy")]])))

    # A server that must never be contacted: linked directly, by name, IPv4-mapped, and through redirects.
    target = forbidden.url("/secret")
    via_redirect = server.redirect("/news/to-forbidden", target)
    forbidden_links = [target, forbidden.url("/by-name", host="localhost"),
                       f"http://[::ffff:127.0.0.1]:{forbidden.port}/mapped", via_redirect,
                       f"http://0.0.0.0:{forbidden.port}/any"]
    page_errors.update({url: "refused: " for url in forbidden_links})
    feed("forbidden-links", _feed_route(server, "/feeds/forbidden-links.xml", rss(
        [Item(url, f"Internal {i}") for i, url in enumerate(forbidden_links)])))
    feed("forbidden-feed-redirect", server.redirect("/feeds/to-forbidden.xml", forbidden.url("/feed.xml")),
         "refused")

    # Entities: a billion laughs, and external entities aimed at /etc/passwd and the forbidden server.
    laughs = filler("/news/laughs", "Laughs")
    feed("entity-bomb", _feed_route(server, "/feeds/laughs.xml", rss(
        [Item(laughs, "", "", title_xml="&lol9;")], prologue=ENTITY_BOMB_DOCTYPE)))
    xxe = filler("/news/xxe", "External entities")
    feed("external-entities", _feed_route(server, "/feeds/xxe.xml", rss(
        [Item(xxe, "", "", title_xml="XXE &file; &remote;")],
        prologue=external_entities_doctype(forbidden.url("/xxe")))))

    # Absurd and missing dates.
    dated = [Item(filler(f"/news/dated-{i}", f"Dated {i}"), f"Dated {i}", published=d)
             for i, d in enumerate(ABSURD_DATES)]
    dated.append(Item(filler("/news/undated", "Undated"), "Undated"))
    feed("absurd-dates", _feed_route(server, "/feeds/dates.xml", rss(dated)))

    # A sample of feedparser's own test corpus, each file its own source.
    for path in corpus:
        rel = path.relative_to(corpus_root).as_posix()
        feed(f"corpus/{rel}", _feed_route(server, f"/corpus/{rel}", path.read_bytes(), "application/xml"))

    return HostileWorld(tuple(feeds), markup, errors, page_errors, len(corpus), "/private/members-only")


def corpus_sample(size: int, seed: int = 2106) -> list[Path]:
    """A seeded sample of the feedparser corpus; empty when ../shared is absent."""
    if not FEED_CORPUS.is_dir():
        return []
    files = sorted(FEED_CORPUS.rglob("*.xml"))
    return sorted(random.Random(seed).sample(files, min(size, len(files))))
