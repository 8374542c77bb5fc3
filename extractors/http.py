"""The one way newswatch talks HTTP: deadlines, size caps, the SSRF guard, politeness per host."""
from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from extractors.addresses import AllowPrivate, GuardedBackend, check_literal, host_key
from extractors.decoding import ACCEPT_ENCODING, BoundedDecoder
from extractors.errors import (
    BadStatusError,
    ContentTypeError,
    DeadlineError,
    ExtractorError,
    FetchError,
    RedirectError,
    RetryLaterError,
    TooLargeError,
    UnsupportedURLError,
)
from extractors.robots import RobotsCache
from extractors.types import Page, SourceState
from extractors.urls import is_http_url

LOGGER = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "newswatch/0.1 (+https://github.com/newswatch; media monitoring)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 503})
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
               "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,text/*;q=0.8,*/*;q=0.5"
MAX_ROBOTS_BYTES = 512 * 1024


def _host_port(item: object) -> str:
    host, _, port = str(item).strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f'allow_private_hosts entries are "host:port", got {item!r}')
    return host_key(host, int(port))


@dataclass(frozen=True)
class FetchSettings:
    """Limits and manners of a Fetcher."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0  # seconds to open a connection
    deadline: float = 30.0  # total seconds per request (one hop), body included
    max_feed_bytes: int = 10 * 1024 * 1024  # decoded body
    max_page_bytes: int = 5 * 1024 * 1024  # decoded body
    max_redirects: int = 5
    per_host_concurrency: int = 2
    per_host_delay: float = 0.0  # seconds between the starts of two requests to one host
    max_retry_wait: float = 5.0  # wait at most this long for a host's Retry-After, else fail
    allow_private_hosts: AllowPrivate = False  # True, or frozenset of "host:port" allowed to be private
    respect_robots: bool = True

    def __post_init__(self) -> None:
        allow = self.allow_private_hosts
        if not isinstance(allow, bool):
            # Accept any collection of "host:port" (a TOML list, a set) and spell it as the guard does.
            object.__setattr__(self, "allow_private_hosts", frozenset(_host_port(item) for item in allow))


@dataclass(frozen=True)
class FeedResponse:
    """The answer to a (conditional) GET of a feed; a 304 has no body."""

    url: str
    final_url: str
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        """The Content-Type header, or ""."""
        return self.headers.get("content-type", "")


@dataclass(frozen=True)
class _Fetched:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    redirects: tuple[str, ...]


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_start: float = 0.0  # loop time
    blocked_until: float = 0.0  # loop time, from Retry-After
    blocked_until_utc: datetime | None = None


def is_page_type(content_type: str) -> bool:
    """True for content types worth extracting: HTML, XHTML, XML and text."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return (not mime or mime.startswith("text/") or mime in ("application/xhtml+xml", "application/xml")
            or mime.endswith("+xml"))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _guarded_transport(allow_private: AllowPrivate, tls: bool = True) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections are opened by the SSRF-guarded network backend.

    Only a pool for https (`tls`) takes the verifying context; a plain-http pool never speaks TLS
    (pools are per scheme, host and port) and gets one that holds no CA, so it could verify nothing.
    """
    transport = httpx.AsyncHTTPTransport(retries=0, trust_env=False, verify=_tls_context() if tls else _no_tls())
    # The pool's network backend is where connections are opened: resolve and check there, so a
    # DNS answer that changes between check and connect (rebinding) cannot reach a private address.
    pool = transport._pool  # noqa: SLF001 (httpx 0.28 offers no public hook for the network backend)
    _check_guardable(pool)
    pool._network_backend = GuardedBackend(allow_private)  # noqa: SLF001
    return transport


def _check_guardable(pool: object) -> None:
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version cannot take the SSRF-guarded network backend")


class _PerHostTransport(httpx.AsyncBaseTransport):
    """One guarded connection pool per scheme, host and port.

    httpcore looks at every connection of a pool on every request (is it idle, expired, readable?),
    so one pool shared by every host of a pass costs each request a look at all their connections.
    """

    def __init__(self, allow_private: AllowPrivate) -> None:
        self._allow = allow_private
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        # An httpcore that cannot take the guard fails here, not mid-pass. The probe's context holds
        # no CA (it could verify nothing): loading the bundle is left to the first real pool.
        probe = httpx.AsyncHTTPTransport(verify=_no_tls())
        _check_guardable(probe._pool)  # noqa: SLF001

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _guarded_transport(self._allow, tls=request.url.scheme == "https")
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


_TLS_LOCK = threading.Lock()
_TLS: Future[ssl.SSLContext] | None = None


def prepare_tls_context(urls: Iterable[str] | None = None) -> None:
    """Start building the process's TLS context on a thread, to be ready when the first https pool needs it.

    Building it loads the CA bundle, about 20-40 ms of CPU in OpenSSL with the GIL released, so a pass
    starts it before its first database session and pays for it on another core. Given `urls`, only
    when one of them is https: a pass over plain-http feeds loads no CA bundle unless a page needs it.
    """
    if urls is not None and not any(urlsplit(url).scheme.lower() == "https" for url in urls):
        return
    future, mine = _claim_tls()
    if mine:
        threading.Thread(target=_build_tls, args=(future,), name="newswatch-tls", daemon=True).start()


def _tls_context() -> ssl.SSLContext:
    """One TLS context per process, built here unless prepare_tls_context started it already."""
    future, mine = _claim_tls()
    if mine:
        _build_tls(future)
    return future.result()


@functools.cache
def _no_tls() -> ssl.SSLContext:
    """The context of plain-http pools: no CA loaded, so a handshake through it could only fail."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _claim_tls() -> tuple[Future[ssl.SSLContext], bool]:
    global _TLS
    with _TLS_LOCK:
        if _TLS is None:
            _TLS = Future()
            return _TLS, True
        return _TLS, False


def _build_tls(future: Future[ssl.SSLContext]) -> None:
    try:
        future.set_result(httpx.create_ssl_context())
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the context
        future.set_exception(exc)


class Fetcher:
    """An httpx.AsyncClient with deadlines, byte caps, the SSRF guard, robots.txt and per-host manners."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self.settings = settings or FetchSettings()
        self._client: httpx.AsyncClient | None = None
        self._hosts: dict[str, _Host] = {}
        self._robots = RobotsCache(self.settings.user_agent, self._get_robots)

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._client = httpx.AsyncClient(
            transport=_PerHostTransport(s.allow_private_hosts),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address check
            # No `verify`: with a transport given httpx never uses it; each https pool takes _tls_context().
            timeout=httpx.Timeout(s.deadline, connect=s.connect_timeout),
            headers={"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch_feed(self, url: str, state: SourceState | None = None) -> FeedResponse:
        """Conditional GET of a feed; raises FetchError subclasses, returns 200 or 304 responses."""
        headers = {"Accept": FEED_ACCEPT}
        if state is not None and state.etag:
            headers["If-None-Match"] = state.etag
        if state is not None and state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        got = await self._get(url, headers, self.settings.max_feed_bytes)
        if got.status != 304 and not 200 <= got.status < 300:
            raise BadStatusError(f"HTTP {got.status}", got.final_url, got.status)
        return FeedResponse(
            url=url, final_url=got.final_url, status=got.status,
            body=b"" if got.status == 304 else got.body, headers=got.headers,
            etag=got.headers.get("etag"), last_modified=got.headers.get("last-modified"),
            redirects=got.redirects,
        )

    async def fetch_page(self, url: str) -> Page:
        """GET an article page; never raises: a failure is a Page with `error` set."""
        hops: list[str] = []
        try:
            got = await self._get(url, {"Accept": PAGE_ACCEPT}, self.settings.max_page_bytes,
                                  before_hop=self._robots_check if self.settings.respect_robots else None,
                                  check_type=True, hops=hops)
        except ExtractorError as exc:
            return Page(requested_url=url, final_url=hops[-1] if hops else url,
                        status=getattr(exc, "status", None), redirects=tuple(hops[1:]), error=str(exc))
        except Exception as exc:  # a bad page must never stop a batch
            LOGGER.exception("unexpected error fetching %s", url)
            return Page(requested_url=url, final_url=url, status=None, error=f"internal error: {exc!r}")
        content_type = got.headers.get("content-type", "")
        if not 200 <= got.status < 300:
            return Page(requested_url=url, final_url=got.final_url, status=got.status,
                        content_type=content_type, redirects=got.redirects, error=f"HTTP {got.status}")
        return Page(requested_url=url, final_url=got.final_url, status=got.status, body=got.body,
                    content_type=content_type, redirects=got.redirects)

    async def _robots_check(self, url: str) -> None:
        await self._robots.check(url)

    async def _get_robots(self, robots_url: str) -> tuple[int, bytes]:
        got = await self._get(robots_url, {"Accept": "text/plain"}, MAX_ROBOTS_BYTES)
        return got.status, got.body

    async def _get(
        self,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        *,
        before_hop: Callable[[str], Awaitable[None]] | None = None,
        check_type: bool = False,
        hops: list[str] | None = None,
    ) -> _Fetched:
        """GET url, following redirects by hand so that every hop passes every check."""
        hops = [] if hops is None else hops
        current = url
        while True:
            if current in hops:
                raise RedirectError(f"redirect loop at {current}", current)
            hops.append(current)
            if len(hops) > self.settings.max_redirects + 1:
                raise RedirectError(f"more than {self.settings.max_redirects} redirects", current)
            if not is_http_url(current):
                raise UnsupportedURLError(f"not an http(s) URL: {current[:200]}", current)
            parts = urlsplit(current)
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            try:
                check_literal(parts.hostname or "", port, self.settings.allow_private_hosts)
                if before_hop is not None:
                    await before_hop(current)
                status, response_headers, body = await self._hop(current, headers, max_bytes, check_type)
            except ExtractorError as exc:
                exc.url = exc.url or current
                raise
            if status in REDIRECT_STATUSES:
                location = response_headers.get("location")
                if not location:
                    raise RedirectError(f"HTTP {status} without Location", current, status)
                current = urljoin(current, location.strip())
                continue
            return _Fetched(url, current, status, response_headers, body, tuple(hops[1:]))

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(max(1, self.settings.per_host_concurrency)))
        return state

    async def _hop(self, url: str, headers: dict[str, str], max_bytes: int,
                   check_type: bool) -> tuple[int, dict[str, str], bytes]:
        """One request to one URL, in the host's slot, retried once after a short Retry-After."""
        host_name = (urlsplit(url).hostname or "").lower()
        host = self._host(host_name)
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            async with host.slots:
                now = loop.time()
                if host.blocked_until - now > self.settings.max_retry_wait:
                    raise RetryLaterError(self._retry_message(host_name, host.blocked_until_utc), url,
                                          retry_at=host.blocked_until_utc)
                wait = max(0.0, host.next_start - now, host.blocked_until - now)
                host.next_start = max(now, host.next_start) + self.settings.per_host_delay
                if wait:
                    await asyncio.sleep(wait)
                status, response_headers, body = await self._request(url, headers, max_bytes, check_type)
            if status not in RETRY_STATUSES:
                return status, response_headers, body
            delay = retry_after_seconds(response_headers.get("retry-after"))
            if delay is None:
                return status, response_headers, body
            host.blocked_until = loop.time() + delay
            host.blocked_until_utc = datetime.now(UTC) + timedelta(seconds=delay)
            if attempt == 2 or delay > self.settings.max_retry_wait:
                raise RetryLaterError(f"HTTP {status}: " + self._retry_message(host_name, host.blocked_until_utc),
                                      url, status, retry_at=host.blocked_until_utc)
            LOGGER.info("%s asks to retry after %.1f s; waiting", host_name, delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _retry_message(host: str, when: datetime | None) -> str:
        shown = when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "later"
        return f"{host} asks to retry after {shown}"

    async def _request(self, url: str, headers: dict[str, str], max_bytes: int,
                       check_type: bool) -> tuple[int, dict[str, str], bytes]:
        """Send one GET and read its body under the total deadline and the byte cap."""
        assert self._client is not None, "use Fetcher as an async context manager"
        deadline = self.settings.deadline
        started = time.monotonic()
        try:
            async with asyncio.timeout(deadline):
                request = self._client.build_request("GET", url, headers=headers)
                response = await self._client.send(request, stream=True)
                try:
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
                    status = response.status_code
                    if status in REDIRECT_STATUSES or status == 304 or not 200 <= status < 300:
                        return status, response_headers, b""
                    content_type = response_headers.get("content-type", "")
                    if check_type and not is_page_type(content_type):
                        raise ContentTypeError(f"not a web page: {content_type}", url, status)
                    body = await self._read_body(response, response_headers, max_bytes, url)
                finally:
                    await response.aclose()
        except TimeoutError as exc:
            raise DeadlineError(f"timed out after {deadline:g} s", url) from exc
        except httpx.ConnectTimeout as exc:
            raise DeadlineError(f"connect timed out after {self.settings.connect_timeout:g} s", url) from exc
        except httpx.TimeoutException as exc:
            raise DeadlineError(f"timed out after {deadline:g} s", url) from exc
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect: {exc or type(exc).__name__}", url) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {exc}", url) from exc
        LOGGER.debug("GET %s -> %s, %d bytes in %.2f s", url, status, len(body), time.monotonic() - started)
        return status, response_headers, body

    @staticmethod
    async def _read_body(response: httpx.Response, headers: Mapping[str, str], max_bytes: int,
                         url: str) -> bytes:
        decoder = BoundedDecoder(headers.get("content-encoding", ""), max_bytes, url)
        length = headers.get("content-length", "")
        if not headers.get("content-encoding") and length.isdigit() and int(length) > max_bytes:
            raise TooLargeError(f"body larger than {max_bytes} bytes", url)
        parts = []
        async for chunk in response.aiter_raw():
            parts.append(decoder.decode(chunk))
        parts.append(decoder.flush())
        return b"".join(parts)
