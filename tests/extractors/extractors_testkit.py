"""A real HTTP server on 127.0.0.1 in a thread, with routes a test sets up, and what it was asked."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CASES = Path(__file__).resolve().parent / "cases"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None  # full control of the response, for hostile servers


class LocalServer:
    """ThreadingHTTPServer with a table of routes; records every request it receives."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server.lock:
                    server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    route = server.routes.get(self.path) or server.routes.get(urlsplit(self.path).path)
                    if route is None:
                        self.send_error(404)
                    elif route.handler is not None:
                        route.handler(self)
                    else:
                        self.send_response(route.status)
                        for name, value in route.headers.items():
                            self.send_header(name, value)
                        self.send_header("Content-Length", str(len(route.body)))
                        self.end_headers()
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: bytes | str = b"", status: int = 200, **headers: str) -> str:
        """Serve body at path; header names use underscores for dashes (content_type=...)."""
        data = body.encode() if isinstance(body, str) else body
        named = {k.replace("_", "-").title(): v for k, v in headers.items()}
        self.routes[path] = Route(status, data, named)
        return self.url(path)

    def add_handler(self, path: str, handler: Handler) -> str:
        self.routes[path] = Route(handler=handler)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, b"", status, location=location)

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.requests]

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def drip(server: LocalServer, interval: float = 0.2) -> Handler:
    """A handler that sends headers, then one byte per interval until the client gives up."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()
        while not server.stopping.is_set():
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(interval)

    return handler


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on a fresh event loop (the tests need no async plugin)."""
    return asyncio.run(coro)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A local HTTP server whose routes the test sets up."""
    srv = LocalServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def second_server() -> Iterator[LocalServer]:
    """Another local server, e.g. the forbidden target of a redirect."""
    srv = LocalServer().start()
    yield srv
    srv.stop()
