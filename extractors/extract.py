"""Article text and metadata from page bytes (trafilatura), in worker processes when there are many;
a pass's feeds parse in those workers too."""
from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeVar
from urllib.parse import urljoin

from lxml import etree
from lxml.etree import strip_tags
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction, fromstring
from trafilatura import core, main_extractor, xpaths
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor
from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, HTML_PARSER, fromstring_bytes, is_dubious_html, load_html
from trafilatura.xml import xmltotxt

from extractors.feedparse import ParsedFeed, parse_feed
from extractors.types import Extracted, Page
from extractors.urls import is_http_url

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

# trafilatura and its helpers log every page they find hard at INFO/DEBUG; keep warnings only.
NOISY_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer")


def quiet_extraction_logs() -> None:
    """Silence trafilatura's helpers below WARNING (also run in every pool worker)."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


quiet_extraction_logs()

# lxml.html picks each element's class (form, input, label, ...) with a Python callback, run for
# every element a walk touches: about 1,800 calls a page, 4% of extraction. trafilatura uses none
# of those classes, so its parser gets one HtmlElement class, chosen in C; the text is unchanged
# (a test compares it with the stock lookup).
PLAIN_HTML_LOOKUP = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity)
HTML_PARSER.set_element_class_lookup(PLAIN_HTML_LOOKUP)

# trafilatura's XPath expressions test ids and classes with EXSLT's re:test, which lxml runs as a
# Python callback for every element the expression visits, even one without the attribute (the test
# then sees ""). Each call is guarded by the attributes' presence, (@id or @class) and re:test(...),
# which libxml2 checks in C; where a pattern could match "" the call is left as it is, so every
# expression selects exactly what it did (a test compares them on pages). About 7% of extraction.
_RE_TEST = re.compile(r"re:test\(\s*(@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)")


def _guard_regex_tests(path: str) -> str:
    def guarded(call: re.Match) -> str:
        attributes, pattern, flags = call.group(1).split("|"), call.group(2), call.group(3) or ""
        if re.search(pattern, "", re.IGNORECASE if "i" in flags else 0) is not None:
            return call.group(0)
        return "((" + " or ".join(a.strip() for a in attributes) + ") and " + call.group(0) + ")"

    return _RE_TEST.sub(guarded, path)


def _guard_trafilatura_xpaths() -> tuple[tuple[etree.XPath, etree.XPath], ...]:
    """Swap every list of trafilatura.xpaths for guarded expressions, in place (its modules share the
    lists); return the (stock, guarded) pairs."""
    pairs = []
    for expressions in vars(xpaths).values():
        if not isinstance(expressions, list) or not all(isinstance(e, etree.XPath) for e in expressions):
            continue
        for i, stock in enumerate(expressions):
            path = _guard_regex_tests(stock.path)
            if path == stock.path:
                continue
            try:
                expressions[i] = etree.XPath(path, namespaces={"re": xpaths.REGEXP_NS})
            except etree.XPathSyntaxError:  # another trafilatura's expression this rewrite does not know: keep it
                LOGGER.debug("left a trafilatura XPath unguarded: %s", stock.path)
                continue
            pairs.append((stock, expressions[i]))
    return tuple(pairs)


GUARDED_XPATHS = _guard_trafilatura_xpaths()

# fast: no fallback extractors. recall: no second look at short results (balanced mode measures the
# whole page's text for that, about a sixth of the work) and a little more text kept; on the 181-page
# benchmark F1 0.9626 -> 0.9635 and 18% less CPU (tests gate F1 >= 0.95). Built once and copied for
# each page's URL.
OPTIONS = Extractor(output_format="python", fast=True, recall=True, comments=False, with_metadata=False)

# The lean path (`_article_text`): stand-ins for three of trafilatura's steps, installed in its
# modules; each does what trafilatura's own does unless this thread's extraction is on that path.
_STOCK_PREPARE_TREE = core._prepare_tree
_STOCK_BASELINE = core.baseline


class _BackupNeeded(Exception):
    """The lean path met a short result, whose recovery reads the tree as it was before cleaning."""


class _NoBackup:
    """Stands where trafilatura keeps a whole-tree backup it reads only for a short result."""

    def iter(self, *args: object) -> Iterator:
        raise _BackupNeeded


_LEAN = threading.local()  # .on: this thread's extraction runs the lean path; .cleaned: its cleaned tree


def _prepare_tree_lean(tree: HtmlElement, options: Extractor, url: str | None):
    """trafilatura's `_prepare_tree` (clean the raw tree, convert its tags), on the lean path: the raw
    tree is cleaned in place instead of in a copy, and no backup of the cleaned tree is kept. With
    fast, comment-less options only a short result's rescue reads the raw tree (`_baseline_lean`
    turns back then) and nothing reads that backup (the external extractors are off)."""
    if not getattr(_LEAN, "on", False) or not options.fast or options.comments:
        return _STOCK_PREPARE_TREE(tree, options, url)
    _LEAN.cleaned = cleaned = convert_tags(tree_cleaning(tree, options), options, url)
    return cleaned, None


def _deepcopy_lean(element: object, memo: dict | None = None) -> object:
    # extract_content copies the whole cleaned tree first, for the wild-text recovery of a short
    # result; on the lean path a stand-in takes its place and turns back if that recovery starts.
    if getattr(_LEAN, "on", False) and element is getattr(_LEAN, "cleaned", None):
        _LEAN.cleaned = None  # that first copy only
        return _NoBackup()
    return copy.deepcopy(element, memo)


def _baseline_lean(tree: object):
    if getattr(_LEAN, "on", False):  # the raw tree was cleaned in place: turn back
        raise _BackupNeeded
    return _STOCK_BASELINE(tree)


core._prepare_tree, core.baseline, main_extractor.deepcopy = _prepare_tree_lean, _baseline_lean, _deepcopy_lean


def _article_text(tree: HtmlElement, options: Extractor, reload: Callable[[], HtmlElement | None]) -> str | None:
    """`bare_extraction(tree, options=options).text` for OPTIONS' settings (no metadata, comments,
    deduplication, language filter or pruning XPaths), with less copying: None where it gives None.

    `bare_extraction` copies a tree it is given, then trafilatura copies it again before cleaning,
    keeps a copy of the cleaned tree and another before extracting: four whole-tree copies, of which
    only a short result reads any. So the page is first extracted on the lean path, without them
    (`tree` is this call's alone); a short result turns back (`_BackupNeeded`) and the page, loaded
    again by `reload`, goes the stock way with its copies. A test compares the text with
    `bare_extraction`'s on every page case, short page and benchmark page; about 15% of extraction.
    """
    _LEAN.on = True
    try:
        return _sequence_text(tree, options)
    except _BackupNeeded:
        pass
    finally:
        _LEAN.on, _LEAN.cleaned = False, None
    tree = reload()
    return None if tree is None else _sequence_text(tree, options)


def _sequence_text(tree: HtmlElement, options: Extractor) -> str | None:
    try:
        postbody, temp_text, _, temp_comments = core.trafilatura_sequence(tree, options, options.url)
        if options.max_tree_size and len(postbody) > options.max_tree_size:
            strip_tags(postbody, "hi")
            if len(postbody) > options.max_tree_size:
                raise ValueError
        if len(temp_text) < options.min_output_size and len(temp_comments) < options.min_output_comm_size:
            raise ValueError
    except (TypeError, ValueError):  # what bare_extraction answers with None
        return None
    return xmltotxt(postbody, options.formatting)


def _alive(pid: int) -> bool:
    """True while process `pid` runs (a zombie, killed and not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def _start_worker(owner_pid: int) -> None:
    """Pool worker set-up: quiet logs, and exit when the pass is gone (even killed by SIGKILL).

    A worker's parent is the fork server, not the pass, and it holds the fork server's liveness
    pipe itself, so it watches the pass directly.
    """
    quiet_extraction_logs()

    def watch_owner() -> None:
        while _alive(owner_pid):
            time.sleep(1.0)
        os._exit(0)  # the pass that owned us is gone: nobody will read our results

    threading.Thread(target=watch_owner, name="exit-with-owner", daemon=True).start()


def _canonical_link(tree: object, url: str) -> str:
    for link in tree.iter("link"):  # type: ignore[attr-defined]
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if "canonical" in rel and href:
            absolute = urljoin(url, href)
            return absolute if is_http_url(absolute) else ""
    return ""


def _as_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# Page metadata read straight from the head: trafilatura's own metadata pass (htmldate and
# friends) costs about a quarter of the extraction time, and feeds carry most of it anyway.
# Each field takes the first non-empty value of its sources, in this order.
_META_SOURCES = {
    "title": (("meta", "property", "og:title"), ("title",), ("h1",)),
    "author": (("meta", "name", "author"), ("meta", "property", "article:author")),
    "published": (("meta", "property", "article:published_time"), ("meta", "itemprop", "datePublished"),
                  ("time", "datetime"), ("meta", "name", "date")),
    "site": (("meta", "property", "og:site_name"), ("meta", "name", "application-name")),
}
_META_KEYS = frozenset(source[1:] for sources in _META_SOURCES.values() for source in sources if source[0] == "meta")


def _clean(value: object) -> str:
    return " ".join(str(value).split())


def _page_metadata(tree: object) -> dict[str, str]:
    """Title, author, published and site of a page, from one walk over its <meta> elements."""
    metas: dict[tuple[str, str], str] = {}
    for meta in tree.iter("meta"):  # type: ignore[attr-defined]
        content = _clean(meta.get("content") or "")
        if not content:
            continue
        for attribute in ("property", "name", "itemprop"):
            key = (attribute, meta.get(attribute))
            if key in _META_KEYS:
                metas.setdefault(key, content)
    found = {}
    for field, sources in _META_SOURCES.items():
        found[field] = next((v for source in sources if (v := _source_value(tree, metas, source))), "")
    return found


def _source_value(tree: object, metas: dict[tuple[str, str], str], source: tuple[str, ...]) -> str:
    if source[0] == "meta":
        return metas.get(source[1:], "")
    if source == ("time", "datetime"):
        return next((v for el in tree.iter("time") if (v := _clean(el.get("datetime") or ""))), "")  # type: ignore[attr-defined]
    # title and h1: their first non-empty piece of text, as the page has it
    for element in tree.iter(source[0]):  # type: ignore[attr-defined]
        pieces = [element.text] if source[0] == "title" else element.itertext()
        value = next((v for piece in pieces if piece and (v := _clean(piece))), "")
        if value:
            return value
    return ""


# trafilatura's load_html looks through every page for what a page of clean UTF-8 never holds: a
# compressed body (tried as brotli, then as zlib) and characters XML forbids (a regex over the whole
# text, about 0.8 ms a page, 6% of an extraction). Such a page is parsed as load_html parses it, after a
# look at its bytes that costs a fifth of that; any other page goes through load_html itself.
_FORBIDDEN_CONTROLS = bytes(1 if byte < 32 and byte not in (9, 10, 13) else 0 for byte in range(256))


def load_page(body: bytes) -> HtmlElement | None:
    """The page's tree, as trafilatura's load_html makes it (a test compares them)."""
    if b"\x01" in body.translate(_FORBIDDEN_CONTROLS):
        return load_html(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return load_html(body)
    if "\ufffe" in text or "\uffff" in text or not text.lstrip("\ufeff \t\r\n").startswith("<"):
        return load_html(body)
    # What load_html does with a decoded text, but for removing forbidden characters: there are none.
    beginning = text[:50].lower()
    if "doctype" in beginning:  # libxml2 takes a DOCTYPE with a slash in it badly
        first_line, _, rest = text.partition("\n")
        text = DOCTYPE_TAG.sub("", first_line, count=1) + "\n" + rest
    for line in text[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            text = FAULTY_HTML.sub(r"\1>", text, count=1)
            break
    tree, as_bytes = None, False
    try:
        tree = fromstring(text, parser=HTML_PARSER)
    except ValueError:  # a text that declares its encoding: lxml takes it as bytes only
        tree, as_bytes = fromstring_bytes(text), True
    except Exception as exc:  # noqa: BLE001 - as load_html: the bytes get their chance below
        LOGGER.debug("lxml could not parse the page's text: %s", exc)
    if (tree is None or len(tree) < 1) and not as_bytes:
        tree = fromstring_bytes(text)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None  # not HTML at all, as load_html judges it
    return tree


def extract_article(body: bytes, url: str) -> Extracted:
    """Main text and metadata of an HTML page; never raises: a failure sets Extracted.error."""
    if not body or not body.strip():
        return Extracted(text="", error="empty page")
    try:
        tree = load_page(body)
        if tree is None:
            return Extracted(text="", error="not an HTML document")
        canonical = _canonical_link(tree, url)
        declared_language = (tree.get("lang") or tree.get("xml:lang") or "").split("-")[0].strip().lower()
        meta = _page_metadata(tree)
        options = copy.copy(OPTIONS)
        options.url = options.source = url or None
        text = (_article_text(tree, options, lambda: load_page(body)) or "").strip()
    except Exception as exc:  # trafilatura on hostile HTML: report it, never crash a batch
        LOGGER.warning("extraction failed for %s: %r", url, exc)
        return Extracted(text="", error=f"extraction failed: {type(exc).__name__}: {exc}")
    if not text:
        return Extracted(text="", canonical_url=canonical, error="no article text found")
    return Extracted(
        text=text,
        title=meta["title"],
        author=meta["author"],
        published_at=_as_datetime(meta["published"].replace("Z", "+00:00")),
        site=meta["site"],
        language=declared_language,
        canonical_url=canonical,
    )


def _extract_page(page: Page) -> Extracted:
    if page.error:
        return Extracted(text="", error=page.error)
    return extract_article(page.body, page.final_url)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a fork server that has imported trafilatura and feedparser once.

    Never a plain fork: forking a process that runs an event loop and threads (Prefect) is unsafe.
    The fork server is a fresh interpreter, started once per process (a `newswatch serve` keeps it
    for every pass), so a worker costs a fork instead of an interpreter start and the imports
    (about 0.4 s of CPU each). Where there is no fork server (Windows), spawn.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Not "__main__": the fork server must not import the program that started it (the CLI, Prefect).
    context.set_forkserver_preload([__name__])
    return context


class ExtractionPool:
    """A spawn-safe process pool for extract_article (and parse_feed); use as a context manager.

    Its processes start with the first job: a pass whose feeds all answer 304 starts none. A worker
    that dies (killed, out of memory) fails the jobs it held; the next job starts new workers, so
    it costs those pages, not the rest of the pass.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None
        self._open = False

    @staticmethod
    def prepare() -> None:
        """Start the fork server now: it imports trafilatura in its own process while the caller
        goes on (polling feeds), so the first pool of this process forks its workers at once."""
        if _worker_context().get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()

    def __enter__(self) -> ExtractionPool:
        self._open = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._open = False
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=exc is not None)
            self._executor = None

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=_worker_context(),
                                   initializer=_start_worker, initargs=(os.getpid(),))

    def _submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        assert self._open, "use ExtractionPool as a context manager"
        if self._executor is None:
            self._executor = self._new_executor()
        try:
            return self._executor.submit(fn, *args)
        except BrokenProcessPool:
            LOGGER.warning("an extraction worker died; starting new workers")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            return self._executor.submit(fn, *args)

    def submit(self, body: bytes, url: str) -> Future[Extracted]:
        """Extract one page in a worker; the future holds its Extracted."""
        return self._submit(extract_article, body, url)

    async def parse_feed(self, body: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
        """`parse_feed` in a worker: feedparser is pure Python, so a pass's feeds parse side by side,
        off the event loop (a `poll_source` parser). Never raises: a lost worker costs only the
        speed, the feed is then parsed here."""
        try:
            return await asyncio.wrap_future(self._submit(parse_feed, body, url, dict(headers)))
        except Exception as exc:  # the pool broke (a worker killed): parse_feed itself never raises
            LOGGER.warning("parsing the feed %s in a worker failed (%r); parsing it here", url, exc)
            return parse_feed(body, url, headers)

    def map(self, pages: Iterable[Page], chunksize: int = 4) -> Iterator[Extracted]:
        """Extracted for each page, in input order; pages that failed to fetch keep their error."""
        assert self._open, "use ExtractionPool as a context manager"
        if self._executor is None:
            self._executor = self._new_executor()
        return self._executor.map(_extract_page, pages, chunksize=chunksize)
