"""The watch query language: precedence, phrases, NOT, prefixes, accents and error messages."""
from __future__ import annotations

import pytest

import dedup
from dedup import QueryError, parse_query


def matched(query: str, text: str, title: str = "") -> bool:
    return parse_query(query).match(title, text).matched


@pytest.mark.parametrize(("query", "text", "expected"), [
    ("a b OR c", "c", True),                 # (a AND b) OR c
    ("a b OR c", "a", False),
    ("a OR b c", "a", True),                 # a OR (b AND c)
    ("a OR b c", "b", False),
    ("a AND (b OR c)", "a c", True),
    ("a AND (b OR c)", "c", False),
    ("NOT a b", "b", True),                  # (NOT a) AND b
    ("NOT a b", "a b", False),
    ("NOT (a OR b)", "c", True),
    ("x NOT y", "x y", False),
    ("x and y", "x", False),                 # lower-case 'and' is a word to find
    ("x and y", "x and y", True),
])
def test_precedence_and_operators(query, text, expected):
    assert matched(query, text) is expected


def test_phrases_need_adjacent_words_in_order():
    assert matched('"rights chief"', "The UN rights chief said")
    assert not matched('"rights chief"', "The chief of rights said")
    assert matched('"rights chief*"', "the rights chiefs met")


def test_matching_is_case_accent_and_punctuation_insensitive():
    assert matched("türk", "VOLKER TURK spoke")
    assert matched("turk", "Volker Türk spoke")
    assert matched("re-education", "so-called re education camps")
    assert matched('"high commissioner"', "High-Commissioner Bachelet")


def test_whole_words_unless_prefix():
    assert not matched("uyghur", "Uyghurs abroad")
    assert matched("uyghur*", "Uyghurs abroad")
    assert not matched("turk", "Turkey said")


def test_title_counts_and_phrases_do_not_span_title_and_text():
    q = parse_query('"xinjiang report"')
    assert q.match("UN Xinjiang report delayed", "Body text.").matched
    assert not q.match("Focus on Xinjiang", "Report delayed.").matched


def test_match_reports_found_terms_but_not_negated_ones():
    q = parse_query('(xinjiang OR uyghur*) AND NOT olympics AND (bachelet OR "rights office")')
    m = q.match("", "Bachelet said the Uyghurs in Xinjiang deserve answers.")
    assert m.matched and m.terms == ("xinjiang", "uyghur*", "bachelet")
    assert q.terms == ("xinjiang", "uyghur*", "bachelet", "rights office")


@pytest.mark.parametrize(("query", "position", "fragment"), [
    ("", 1, "empty"),
    ("(xinjiang OR uyghur", 20, "missing closing parenthesis"),
    ("xinjiang)", 9, "without an opening parenthesis"),
    ("xinjiang OR", 12, "after OR"),
    ("xinjiang AND OR bachelet", 14, "after AND"),
    ("NOT", 4, "after NOT"),
    ('"rights chief', 1, "unterminated"),
    ("()", 2, "empty parentheses"),
    ("rig*ht", 1, "only at the end"),
    ('""', 1, "empty quoted phrase"),
])
def test_bad_syntax_names_position_and_problem(query, position, fragment):
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert fragment in str(info.value) and str(info.value).startswith(f"position {position}: ")


def test_syntax_is_documented_in_the_module_docstring():
    doc = dedup.query.__doc__
    for needle in ("AND", "OR", "NOT", '"two words"', "word*", "( ... )", "implicit", "Precedence"):
        assert needle in doc
