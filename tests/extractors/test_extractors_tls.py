"""The process's one TLS context: started early on a thread, verifying, shared by every https pool;
never built for a process that speaks only plain http."""
from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

CHILD = """
import ssl, threading
from extractors import http
http.prepare_tls_context()
http.prepare_tls_context()  # a second call starts nothing more
builders = [t for t in threading.enumerate() if t.name == "newswatch-tls"]
context = http._tls_context()
transport = http._guarded_transport(allow_private=True)
print(len(builders) <= 1, context is http._tls_context(), context.verify_mode == ssl.CERT_REQUIRED,
      context.check_hostname, transport._pool._ssl_context is context)
"""

PLAIN_HTTP = """
import asyncio, ssl, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from extractors import http

class Page(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body><p>Plain http, no TLS.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/story"
http.prepare_tls_context([url, "http://feeds.example/rss"])  # no https among them: nothing starts

async def fetch():
    async with http.Fetcher(http.FetchSettings(allow_private_hosts=True)) as fetcher:
        return await fetcher.fetch_page(url)

page = asyncio.run(fetch())
plain = http._guarded_transport(allow_private=True, tls=False)._pool._ssl_context
print(page.status, b"Plain http" in page.body, http._TLS is None, plain.cert_store_stats()["x509_ca"] == 0)
http.prepare_tls_context(["http://feeds.example/rss", "HTTPS://news.example/story"])
print(http._tls_context().verify_mode == ssl.CERT_REQUIRED)
"""

FAILING = """
import httpx
from extractors import http
def broken(*args, **kwargs):
    raise OSError("no CA bundle here")
httpx.create_ssl_context = broken
http.prepare_tls_context()
try:
    http._tls_context()
except OSError as exc:
    print("raised:", exc)
"""


def _child(code: str) -> str:
    # A fresh process: the context is built once per process, so this one must not have it yet.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_context_started_early_is_the_verifying_one_every_pool_uses():
    assert _child(CHILD) == "True True True True True"


def test_plain_http_never_loads_the_ca_bundle_and_one_https_url_starts_it():
    assert _child(PLAIN_HTTP).splitlines() == ["200 True True True", "True"]


def test_a_context_that_cannot_be_built_fails_whoever_needs_it():
    assert _child(FAILING) == "raised: no CA bundle here"
