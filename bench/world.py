"""A local news world for the bench: sites on loopback addresses serving feeds and benchmark page copies.

Site s (of `sites`) listens on 127.0.0.<s+1> and carries pages j with j % sites == s; page j is copy
j // 181 of benchmark page j % 181. `/feed.xml?upto=N` lists the site's pages below N with an ETag,
so a second pass gets 304 from every feed. Pages are made on request, never all held at once.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from bench.corpus import BenchmarkPage, page_copy

LOGGER = logging.getLogger(__name__)

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
LAST_MODIFIED = format_datetime(EPOCH, usegmt=True)


class BenchWorld:
    """Feeds and pages on `sites` loopback servers; use as a context manager."""

    def __init__(self, pages: list[BenchmarkPage], sites: int = 10) -> None:
        self.pages = pages
        self.sites = sites
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.requests = {"feed": 0, "not_modified": 0, "page": 0}
        self.cpu_s = 0.0  # CPU spent answering requests: the web's share of the cores a pass runs on
        self._lock = threading.Lock()

    def __enter__(self) -> BenchWorld:
        for site in range(self.sites):
            server = ThreadingHTTPServer((f"127.0.0.{site + 1}", 0), _handler(self, site))
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, name=f"bench-site-{site}", daemon=True)
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def base_url(self, site: int) -> str:
        host, port = self._servers[site].server_address[:2]
        return f"http://{host}:{port}"

    def page_url(self, index: int) -> str:
        return f"{self.base_url(index % self.sites)}/page/{index}"

    def page_body(self, index: int) -> bytes:
        """The HTML of page `index`: a unique copy of a benchmark page."""
        return page_copy(self.pages[index % len(self.pages)], index // len(self.pages))

    def feed_urls(self, upto: int) -> list[str]:
        return [f"{self.base_url(site)}/feed.xml?upto={upto}" for site in range(self.sites)]

    def feed(self, site: int, upto: int) -> bytes:
        items = []
        for index in range(site, upto, self.sites):
            page = self.pages[index % len(self.pages)]
            published = format_datetime(EPOCH + timedelta(minutes=index), usegmt=True)
            items.append(
                f"<item><title>{escape(page.title)}</title><link>{escape(self.page_url(index))}</link>"
                f"<guid>{escape(self.page_url(index))}</guid><pubDate>{published}</pubDate>"
                f"<description>{escape(page.truth[:200])}</description></item>")
        return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>bench site {site}</title><link>{self.base_url(site)}/</link>"
                f"<description>bench</description>{''.join(items)}</channel></rss>").encode()

    def count(self, what: str) -> None:
        with self._lock:
            self.requests[what] += 1

    def spent(self, seconds: float) -> None:
        with self._lock:
            self.cpu_s += seconds

    def write_watch(self, folder: Path, upto: int, name: str = "bench") -> Path:
        """A watch config (and its seed) for the first `upto` pages; return the config path."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "seed.txt").write_text(self.pages[0].truth, encoding="utf-8")
        feeds = "".join(f'\n[[feeds]]\nname = "site-{i}"\nurl = "{url}"\n' for i, url in enumerate(self.feed_urls(upto)))
        config = folder / "watch.toml"
        config.write_text(
            f'[watch]\nname = "{name}"\nseeds = ["seed.txt"]\n{feeds}\n'
            "[fetch]\nallow_private_hosts = true\ntimeout = 60.0\n", encoding="utf-8")
        return config


def _handler(world: BenchWorld, site: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

        def handle_one_request(self) -> None:
            # Reading the request and answering it; a thread waiting for the next request spends none.
            began = time.thread_time()
            try:
                super().handle_one_request()
            finally:
                world.spent(time.thread_time() - began)

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            parts = urlsplit(self.path)
            if parts.path == "/robots.txt":
                return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            if parts.path == "/feed.xml":
                upto = int(parse_qs(parts.query).get("upto", ["0"])[0])
                etag = f'"site{site}-upto{upto}"'
                if self.headers.get("If-None-Match") == etag:
                    world.count("not_modified")
                    return self._send(304, b"", None, {"ETag": etag})
                world.count("feed")
                return self._send(200, world.feed(site, upto), "application/rss+xml",
                                  {"ETag": etag, "Last-Modified": LAST_MODIFIED})
            if parts.path.startswith("/page/"):
                index = int(parts.path.rsplit("/", 1)[1])
                world.count("page")
                return self._send(200, world.page_body(index), "text/html; charset=utf-8")
            return self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str | None,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

    return Handler
