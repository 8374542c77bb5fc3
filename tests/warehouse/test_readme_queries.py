"""Every SQL example of the README's warehouse section runs on a real warehouse and answers its question."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from extractors.types import PollResult, Source
from warehouse.readonly import read_statements, run_readonly_sql
from warehouse.records import ArticleRecord
from warehouse.store import Warehouse

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The warehouse: SQL on what was collected"
WATCH = "bachelet-xinjiang"

SEED = "https://ohchr.example/press/2021/09/bachelet-xinjiang-access"
VISIT = "https://news.un.example/story/2022/05/bachelet-visit-china"
ASSESSMENT = "https://reuters.example/world/china/un-assessment-xinjiang-2022-08-31"
ALIAS = "https://news.google.example/rss/articles/CBMi42?oc=5&utm_source=rss"
FEED_OK = "https://news.un.example/feed/rss.xml"
FEED_DOWN = "https://gone.example/feed.xml"
FEED_NEVER = "https://never.example/rss"

# Values for the named parameters the README's queries use.
PARAMS = {"url": ALIAS, "words": "assessment xinjiang"}


def readme_section() -> str:
    """The warehouse section of README.md, up to the next top-level section."""
    text = README.read_text(encoding="utf-8")
    start = text.find(SECTION)
    assert start >= 0, f"README.md has no section {SECTION!r}"
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end >= 0 else len(text)]


def sql_examples() -> list[tuple[str, str]]:
    """(question, sql) for every ```sql block of the section; the question is the last bold line before it."""
    section = readme_section()
    examples = []
    for block in re.finditer(r"```sql\n(.*?)```", section, re.DOTALL):
        questions = re.findall(r"^\*\*(.+?)\*\*", section[: block.start()], re.MULTILINE)
        examples.append((questions[-1] if questions else "", block.group(1)))
    return examples


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=timezone.utc)


def _article(url: str, status: str, site: str, title: str, text: str | None, **fields) -> ArticleRecord:
    fields.setdefault("text_source", "page")
    return ArticleRecord(WATCH, url, status, _at("2022-09-01T08:00"), title=title, site=site, text=text, **fields)


def _copy(url: str, site: str, of: str, kind: str, similarity: float, **fields) -> ArticleRecord:
    return _article(url, "duplicate", site, f"{site} republishes", "UN assessment of Xinjiang, republished.",
                    duplicate_of=of, story_id=of, similarity_kind=kind, similarity=similarity,
                    relevance=0.0, reason=f"{kind} copy", **fields)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with a seed, two updates, their copies, an off-topic report, an error, sources and runs."""
    path = tmp_path_factory.mktemp("readme") / "newswatch.duckdb"
    warehouse = Warehouse(path, wait_seconds=10.0)
    warehouse.write_batch(WATCH, None, [
        _article(SEED, "seed", "OHCHR", "Bachelet regrets lack of access to Xinjiang",
                 "The High Commissioner said talks on access to Xinjiang continue.", text_source="seed",
                 published_at=_at("2021-09-14T10:00"), reason="a seed article of the watch"),
    ])
    now = datetime.now(timezone.utc)
    run_id = warehouse.start_run(WATCH)
    warehouse.record_polls(WATCH, [
        PollResult(Source(FEED_OK, "un-news"), "ok", http_status=200),
        PollResult(Source(FEED_DOWN, "gone"), "ok", http_status=200),
    ], now - timedelta(days=3))
    warehouse.record_polls(WATCH, [
        PollResult(Source(FEED_OK, "un-news"), "not_modified", http_status=304),
        PollResult(Source(FEED_DOWN, "gone"), "error", http_status=503, error="HTTP 503 Service Unavailable"),
        PollResult(Source(FEED_NEVER, "never"), "error", error="cannot resolve never.example"),
    ], now - timedelta(hours=1))
    warehouse.write_batch(WATCH, run_id, [
        _article(VISIT, "new", "UN News", "Bachelet ends visit to China", "The high commissioner ended her visit.",
                 published_at=_at("2022-05-28T12:00"), story_id=VISIT, relevance=0.81, query_matched=True,
                 matched_terms=("bachelet", "xinjiang"), reason="new",
                 novel_sentences=("She met officials in Kashgar.",)),
        _article(ASSESSMENT, "new", "Reuters", "UN assessment finds serious violations in Xinjiang",
                 "The OHCHR assessment on Xinjiang was published minutes before midnight.",
                 published_at=_at("2022-08-31T22:00"), story_id=ASSESSMENT, relevance=0.92, query_matched=True,
                 matched_terms=("xinjiang", "high commissioner"), reason="new",
                 novel_sentences=("The assessment was published minutes before midnight.",
                                  "It may amount to crimes against humanity.")),
        _copy("https://yahoo.example/un-assessment", "Yahoo News", ASSESSMENT, "jaccard", 0.88),
        _copy("https://yahoo.example/un-assessment-excerpt", "Yahoo News", ASSESSMENT, "containment", 0.97),
        _copy("https://msn.example/un-assessment", "MSN", ASSESSMENT, "exact", 1.0),
        _copy("https://yahoo.example/bachelet-visit", "Yahoo News", VISIT, "jaccard", 0.74),
        _copy("https://msn.example/bachelet-access", "MSN", SEED, "jaccard", 0.81),
        _copy("https://scmp.example/bachelet-access", "SCMP", SEED, "same_event", 0.42),
        _article("https://sports.example/football", "irrelevant", "Sports Daily", "Cup final tonight",
                 "The final kicks off at eight.", relevance=0.12, query_matched=False,
                 reason="off topic: relevance 0.12 < 0.45; query not matched"),
        _article("https://dead.example/page", "error", "dead.example", "UN report", None, text_source=None,
                 error="HTTP 404", reason="could not be fetched or extracted: HTTP 404"),
    ], aliases=[(ALIAS, "https://yahoo.example/un-assessment")])
    warehouse.finish_run(run_id, {"sources_ok": 0, "sources_not_modified": 1, "sources_failed": 2, "entries": 10,
                                  "new": 2, "duplicates": 6, "irrelevant": 1, "errors": 1})
    quiet = warehouse.start_run(WATCH)
    warehouse.finish_run(quiet, {"sources_not_modified": 3})
    return path


def _run(db: Path, sql: str) -> list[dict]:
    wanted = set().union(*(s.named_parameters for s in read_statements(sql)))
    unknown = wanted - set(PARAMS)
    assert not unknown, f"give the README's parameter(s) {unknown} a value in PARAMS"
    columns, rows = run_readonly_sql(db, sql, {name: PARAMS[name] for name in wanted})
    return [dict(zip(columns, row)) for row in rows]


def _answer(db: Path, words: str) -> list[dict]:
    """The rows of the first README query whose question contains `words`."""
    for question, sql in sql_examples():
        if words.lower() in question.lower():
            return _run(db, sql)
    raise AssertionError(f"the README has no SQL question about {words!r}")


def test_the_section_asks_ten_questions_each_with_sql() -> None:
    questions = {question for question, _ in sql_examples()}
    assert len(questions) >= 10, sorted(questions)
    assert "" not in questions, "a ```sql block without a bold question before it"


@pytest.mark.parametrize(
    "question, sql", [pytest.param(q, s, id=f"{i}-{q[:40]}") for i, (q, s) in enumerate(sql_examples(), 1)]
)
def test_every_readme_query_runs_and_returns_rows(db: Path, question: str, sql: str) -> None:
    assert _run(db, sql), f"no rows for: {question}"


def test_updates_per_week(db: Path) -> None:
    rows = _answer(db, "per week")
    assert [(r["week"], r["updates"]) for r in rows] == [(date(2022, 8, 29), 1), (date(2022, 5, 23), 1)]


def test_the_outlet_that_republishes_most_comes_first_and_retellings_do_not_count(db: Path) -> None:
    rows = _answer(db, "republish")
    assert (rows[0]["site"], rows[0]["copies"]) == ("Yahoo News", 3)
    assert "SCMP" not in {r["site"] for r in rows}


def test_sources_failing_for_more_than_a_day(db: Path) -> None:
    rows = _answer(db, "failing")
    assert {r["url"] for r in rows} == {FEED_DOWN, FEED_NEVER}


def test_why_an_article_was_dropped_by_any_of_its_urls(db: Path) -> None:
    [row] = _answer(db, "dropped")
    assert (row["status"], row["similarity_kind"], row["original"]) == ("duplicate", "jaccard", ASSESSMENT)


def test_stories_with_the_most_copies(db: Path) -> None:
    rows = _answer(db, "most copies")
    assert (rows[0]["title"], rows[0]["copies"], rows[0]["outlets"]) == (
        "UN assessment finds serious violations in Xinjiang", 3, 2)


def test_what_is_new_in_the_latest_updates(db: Path) -> None:
    rows = _answer(db, "what is new")
    assert [r["sentence"] for r in rows] == [
        "The assessment was published minutes before midnight.",
        "It may amount to crimes against humanity.",
        "She met officials in Kashgar.",
    ]


def test_off_topic_rejections(db: Path) -> None:
    [row] = _answer(db, "off topic")
    assert (row["title"], row["relevance"], row["query_matched"]) == ("Cup final tonight", 0.12, False)


def test_repeats_of_the_seed_and_how_they_were_caught(db: Path) -> None:
    rows = _answer(db, "repeat the seed")
    assert {(r["site"], r["similarity_kind"]) for r in rows} == {("MSN", "jaccard"), ("SCMP", "same_event")}


def test_the_last_passes_newest_first(db: Path) -> None:
    rows = _answer(db, "last passes")
    assert [(r["new"], r["sources_not_modified"]) for r in rows] == [(0, 3), (2, 1)]


def test_phrase_search_by_ilike_and_by_bm25(db: Path) -> None:
    ilike = [sql for question, sql in sql_examples() if "phrase" in question.lower()]
    assert len(ilike) == 2, "the phrase question shows ILIKE and BM25"
    by_letters = {r["title"] for r in _run(db, ilike[0])}
    assert by_letters == {"Bachelet regrets lack of access to Xinjiang", "Bachelet ends visit to China"}
    ranked = _run(db, ilike[1])
    assert ranked[0]["title"] == "UN assessment finds serious violations in Xinjiang"
    assert "Cup final tonight" not in {r["title"] for r in ranked}
