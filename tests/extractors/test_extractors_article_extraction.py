"""extract_article on the page cases and on junk; ExtractionPool; the benchmark F1 gate."""
from __future__ import annotations

import gzip
import json
import pickle
from datetime import datetime
from pathlib import Path

import pytest

from extractors import ExtractionPool, Extracted, Page, extract_article
from bench.corpus import corpus_f1
from extractors_testkit import CASES, SHARED

PAGE_CASES = sorted((CASES / "pages").glob("*.html"))
BENCHMARK = SHARED / "corpora" / "article-extraction-benchmark"
F1_FLOOR = 0.95


@pytest.mark.parametrize("case", PAGE_CASES, ids=[p.stem for p in PAGE_CASES])
def test_page_case(case: Path) -> None:
    expect = json.loads(case.with_suffix(".expect.json").read_text())
    got = extract_article(case.read_bytes(), expect["url"])
    assert got.error is None
    assert got.canonical_url == expect["canonical_url"]
    assert expect["title_contains"] in got.title
    assert got.author == expect["author"]
    assert got.site == expect["site"]
    assert got.published_at == datetime.fromisoformat(expect["published_at"])
    for wanted in expect["text_contains"]:
        assert wanted in got.text
    for boilerplate in expect["text_lacks"]:
        assert boilerplate not in got.text


def test_declared_language_is_reported() -> None:
    got = extract_article((CASES / "pages" / "article.html").read_bytes(), "https://w.example/a")
    assert got.language == "en"


@pytest.mark.parametrize("body", [
    b"", b"   ", b"\x00\x01\x02\xff" * 100, b"<html></html>", b"<html><head><title>t</title></head><body></body></html>",
    b"%PDF-1.7\n" + b"\x00" * 1000, b"<" * 10000, b"<div>" * 5000,
])
def test_junk_gives_an_error_not_an_exception(body: bytes) -> None:
    got = extract_article(body, "https://junk.example/page")
    assert got.text == ""
    assert got.error


def test_extract_article_is_picklable_for_process_pools() -> None:
    assert pickle.loads(pickle.dumps(extract_article)) is extract_article


def test_pool_maps_pages_in_input_order_and_keeps_fetch_errors() -> None:
    article = (CASES / "pages" / "article.html").read_bytes()
    pages = [
        Page("https://a.example/1", "https://a.example/1", 200, article, "text/html"),
        Page("https://a.example/2", "https://a.example/2", None, error="timed out after 30 s"),
        Page("https://a.example/3", "https://a.example/3", 200, b"<html></html>", "text/html"),
        Page("https://a.example/4", "https://a.example/4", 200, article, "text/html"),
    ]
    with ExtractionPool(workers=2) as pool:
        results = list(pool.map(pages))
        single = pool.submit(article, "https://a.example/5").result(timeout=60)
    assert [bool(r.text) for r in results] == [True, False, False, True]
    assert results[1].error == "timed out after 30 s"
    assert results[2].error
    assert isinstance(single, Extracted) and "Xinjiang" in single.text


@pytest.mark.skipif(not BENCHMARK.is_dir(), reason="needs ../shared/corpora/article-extraction-benchmark")
def test_benchmark_f1_stays_above_floor() -> None:
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text())
    keys = sorted(truth)
    pages = [Page(truth[k].get("url", ""), truth[k].get("url", ""), 200,
                  gzip.decompress((BENCHMARK / "html" / f"{k}.html.gz").read_bytes()), "text/html")
             for k in keys]
    with ExtractionPool() as pool:
        predictions = [got.text for got in pool.map(pages, chunksize=8)]
    precision, recall, f1 = corpus_f1([(truth[k]["articleBody"], p) for k, p in zip(keys, predictions)])
    assert len(predictions) == 181
    assert f1 >= F1_FLOOR, f"F1 {f1:.3f} (precision {precision:.3f}, recall {recall:.3f})"


def test_plain_element_lookup_changes_no_extracted_field() -> None:
    """The parser's C-level element classes give what lxml.html's stock lookup gives, field by field."""
    from lxml.html import HtmlElementClassLookup
    from trafilatura.utils import HTML_PARSER

    from extractors.extract import PLAIN_HTML_LOOKUP

    pages = [(case.read_bytes(), json.loads(case.with_suffix(".expect.json").read_text())["url"]) for case in PAGE_CASES]
    pages.append((b"<html><body><form id='aspnetForm'><div><p>" + b"A long paragraph of the story. " * 40
                  + b"</p></div><input name='q'><label>Search</label></form></body></html>", "https://f.example/a"))
    assert pages
    ours = [extract_article(body, url) for body, url in pages]
    try:
        HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())
        stock = [extract_article(body, url) for body, url in pages]
    finally:
        HTML_PARSER.set_element_class_lookup(PLAIN_HTML_LOOKUP)
    assert ours == stock
    assert "A long paragraph of the story." in ours[-1].text


# Attributes present, absent, empty, in either order, upper case: where a guard could differ from re:test.
GUARD_EDGES = b"""<html><body>
<div id="comments" class="hide-me"><p>one</p></div><div class="comments-list"><p>two</p></div>
<div id="" class=""><p>three</p></div><div class=" hidden"><p>four</p></div><span id="akismet-x">five</span>
<section class="Comments-Area" id="main-content"><p>six</p></section><div style="display:none">seven</div>
<div class="article-body post-content"><p>eight</p></div><div id="nav-top"><ul><li>nine</li></ul></div>
<article class="FullText"><p>ten</p></article><div data-lp-replacement-content="x">eleven</div>
<div class="mvp-post-add-box"><h1>twelve</h1></div><div class="infinite-scroll">thirteen</div>
<p class="message x" id="reply-1">fourteen</p><div role="Navigation">fifteen</div></body></html>"""


def _guard_trees() -> list:
    from trafilatura.utils import load_html

    bodies = [GUARD_EDGES] + [case.read_bytes() for case in PAGE_CASES]
    if BENCHMARK.is_dir():
        bodies += [gzip.decompress(p.read_bytes()) for p in sorted((BENCHMARK / "html").glob("*.html.gz"))]
    return [load_html(body) for body in bodies]


def test_guarded_xpaths_select_exactly_what_trafilatura_selects() -> None:
    from extractors.extract import GUARDED_XPATHS

    assert len(GUARDED_XPATHS) >= 10  # trafilatura's id/class tests are guarded
    trees = _guard_trees()
    for stock, guarded in GUARDED_XPATHS:
        assert guarded.path != stock.path
        for tree in trees:
            assert guarded(tree) == stock(tree), stock.path


def test_a_regex_that_matches_nothing_is_left_unguarded() -> None:
    from extractors.extract import _guard_regex_tests

    assert _guard_regex_tests("re:test(@id|@class, 'a|b')") == "((@id or @class) and re:test(@id|@class, 'a|b'))"
    assert _guard_regex_tests("re:test(@class, 'x', 'i')") == "((@class) and re:test(@class, 'x', 'i'))"
    assert _guard_regex_tests("re:test(@class, 'x|')") == "re:test(@class, 'x|')"  # "" matches: absent == ""
    assert _guard_regex_tests("re:test(@class, '^$')") == "re:test(@class, '^$')"


def test_guarded_xpaths_change_no_extracted_field() -> None:
    from trafilatura import xpaths

    from extractors.extract import GUARDED_XPATHS

    pages = [(case.read_bytes(), json.loads(case.with_suffix(".expect.json").read_text())["url"]) for case in PAGE_CASES]
    pages.append((GUARD_EDGES, "https://g.example/a"))
    ours = [extract_article(body, url) for body, url in pages]
    lists = [v for v in vars(xpaths).values() if isinstance(v, list)]
    swap = {id(guarded): stock for stock, guarded in GUARDED_XPATHS}
    back = {id(stock): guarded for stock, guarded in GUARDED_XPATHS}
    try:
        for expressions in lists:
            expressions[:] = [swap.get(id(e), e) for e in expressions]
        stock = [extract_article(body, url) for body, url in pages]
    finally:
        for expressions in lists:
            expressions[:] = [back.get(id(e), e) for e in expressions]
    assert ours == stock
    assert all(any(g is e for v in lists for e in v) for _, g in GUARDED_XPATHS)  # guarded again


def _loaded(tree) -> bytes | None:
    from lxml import etree

    return None if tree is None else etree.tostring(tree)


LOADER_EDGES = {
    "forbidden control": b"<html><body><p>one\x0btwo</p></body></html>",
    "forbidden U+FFFE": "<html><body><p>one\ufffetwo</p></body></html>".encode(),
    "byte order mark": "\ufeff<!DOCTYPE html><html><body><p>Xinjiang</p></body></html>".encode(),
    "doctype with a slash": b"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"http://w3.org/x.dtd\"/>\n"
                            b"<html><body><p>text</p></body></html>",
    "self-closing html": b"<html lang='en'/>\n<body><p>text</p></body>",
    "encoding declared": b"<?xml version='1.0' encoding='utf-8'?><html><body><p>caf\xc3\xa9</p></body></html>",
    "latin-1": b"<html><head><meta charset='iso-8859-1'></head><body><p>caf\xe9</p></body></html>",
    "gzip": gzip.compress(b"<html><body><p>compressed</p></body></html>"),
    "plain text": b"Just words, no markup at all.",
    "fragment": b"<p>a fragment</p>",
    "empty html": b"<html></html>",
}


@pytest.mark.parametrize("name", sorted(LOADER_EDGES))
def test_the_page_loader_makes_the_tree_trafilaturas_would(name: str) -> None:
    from trafilatura.utils import load_html

    from extractors.extract import load_page

    body = LOADER_EDGES[name]
    assert _loaded(load_page(body)) == _loaded(load_html(body))


def test_the_page_loader_makes_trafilaturas_trees_on_every_page_case_and_benchmark_page() -> None:
    from trafilatura.utils import load_html

    from extractors.extract import load_page

    bodies = [case.read_bytes() for case in PAGE_CASES]
    if BENCHMARK.is_dir():
        bodies += [gzip.decompress(p.read_bytes()) for p in sorted((BENCHMARK / "html").glob("*.html.gz"))]
    assert bodies
    for body in bodies:
        assert _loaded(load_page(body)) == _loaded(load_html(body))


SHORT_PAGES = {  # too little text: trafilatura's baseline rescue, or None
    "one line": b"<html><body><p>Xinjiang.</p></body></html>",
    "nav only": b"<html><body><nav><a href='/a'>Home</a> <a href='/b'>World</a></nav></body></html>",
    "bare div text": b"<html><body><div>" + b"Bachelet visited the region in May. " * 3 + b"</div></body></html>",
    "comments only": b"<html><body><div id='comments'><p>" + b"A reader wrote this. " * 20 + b"</p></div></body></html>",
}


def test_the_article_text_is_what_bare_extraction_gives_on_every_page_case_and_benchmark_page() -> None:
    # extract_article skips trafilatura's whole-tree copies that only a short result reads, and goes
    # the stock way for those: the text must be trafilatura's own, to the character.
    import copy

    from trafilatura import bare_extraction, core, main_extractor

    from extractors import extract

    bodies = [(case.read_bytes(), json.loads(case.with_suffix(".expect.json").read_text())["url"]) for case in PAGE_CASES]
    bodies += [(body, "https://short.example/a") for body in SHORT_PAGES.values()]
    bodies.append((GUARD_EDGES, "https://g.example/a"))
    if BENCHMARK.is_dir():
        bodies += [(gzip.decompress(p.read_bytes()), "https://bench.example/" + p.name)
                   for p in sorted((BENCHMARK / "html").glob("*.html.gz"))]

    def options(url: str):
        chosen = copy.copy(extract.OPTIONS)
        chosen.url = chosen.source = url
        return chosen

    reloads = []

    def reloaded(body: bytes):
        reloads.append(body)
        return extract.load_page(body)

    ours = [extract._article_text(extract.load_page(body), options(url), lambda body=body: reloaded(body))
            for body, url in bodies]
    lean = (core._prepare_tree, core.baseline, main_extractor.deepcopy)
    core._prepare_tree, core.baseline, main_extractor.deepcopy = (extract._STOCK_PREPARE_TREE, extract._STOCK_BASELINE,
                                                                  copy.deepcopy)
    try:
        stock = [bare_extraction(extract.load_page(body), options=options(url)) for body, url in bodies]
    finally:
        core._prepare_tree, core.baseline, main_extractor.deepcopy = lean
    assert ours == [None if document is None else document.text for document in stock]
    assert None in ours and sum(text is not None for text in ours) > len(PAGE_CASES)  # both answers are covered
    # Short results went the stock way; every page case (full articles) stayed on the lean path.
    assert set(SHORT_PAGES.values()) <= set(reloads)
    assert not {case.read_bytes() for case in PAGE_CASES} & set(reloads)


def test_off_the_lean_path_trafilatura_keeps_its_copies() -> None:
    from trafilatura.settings import Extractor

    from extractors.extract import _LEAN, _deepcopy_lean, _prepare_tree_lean, load_page

    body = (CASES / "pages" / "article.html").read_bytes()
    assert _prepare_tree_lean(load_page(body), Extractor(fast=True, comments=False), None)[1] is not None
    _LEAN.on = True
    try:
        tree = load_page(body)
        assert _prepare_tree_lean(tree, Extractor(fast=True, comments=True), None)[1] is not None  # comments read it
        assert _prepare_tree_lean(tree, Extractor(fast=False, comments=False), None)[1] is not None  # fallbacks do
        cleaned, backup = _prepare_tree_lean(tree, Extractor(fast=True, comments=False), None)
        assert backup is None and cleaned is tree  # cleaned in place
        assert type(_deepcopy_lean(cleaned)).__name__ == "_NoBackup"
        assert len(_deepcopy_lean(cleaned)) == len(cleaned)  # only that first copy is left out
    finally:
        _LEAN.on, _LEAN.cleaned = False, None
