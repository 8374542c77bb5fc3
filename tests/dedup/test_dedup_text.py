"""Normalisation, sentence splitting, seeds and novelty."""
from __future__ import annotations

from datetime import datetime, timezone

from dedup import (content_hash, normalize_text, novel_sentences, parse_seed_text, seed_document,
                   split_sentences, words)


def test_normalize_unifies_typography_case_and_accents():
    a = "Volker Türk said: \u201cIt\u2019s  time\u201d \u2014 RE\u2011EDUCATION\n camps"
    b = 'volker turk said: "it\'s time" - re-education camps'
    assert normalize_text(a) == b


def test_content_hash_ignores_reflow_and_quotes_but_not_words():
    text = "First paragraph with \u201cquotes\u201d.\n\nSecond paragraph."
    reflowed = 'First paragraph with "quotes". Second paragraph.'
    assert content_hash(text) == content_hash(reflowed)
    assert content_hash(text) != content_hash(reflowed.replace("Second", "Third"))


def test_words_split_on_punctuation_and_fold_accents():
    assert words("Türk's re-education, Ürümqi!") == ["turk", "s", "re", "education", "urumqi"]


def test_split_sentences_keeps_abbreviations_and_quotes_together():
    text = "Mr. Türk met U.S. officials on Monday. He said \u201cIt is done.\u201d Then he left!\nA new paragraph"
    assert split_sentences(text) == [
        "Mr. Türk met U.S. officials on Monday.", "He said \u201cIt is done.\u201d", "Then he left!",
        "A new paragraph"]


def test_seed_header_gives_publication_date_and_body():
    published, body = parse_seed_text(" date 2021-09-14 The senior UN official regretted.\n\nMore.")
    assert published == datetime(2021, 9, 14, tzinfo=timezone.utc)
    assert body.startswith("The senior UN official")
    assert parse_seed_text("No header here.") == (None, "No header here.")
    assert seed_document("7", " date 2021-09-14 Body.").status == "seed"


def test_novel_sentences_skip_what_is_known_and_repeats():
    known = ["The office will publish its review of Xinjiang before the end of the year."]
    text = ("The office will publish its review of Xinjiang before the end of the year. "
            "China's mission called the document a farce planned by Western countries. "
            "China's mission called the document a farce planned by Western countries. By staff.")
    assert novel_sentences(text, known) == ("China's mission called the document a farce planned by Western countries.",)


def test_novel_sentences_survive_copy_edits_of_known_text():
    known = ["Bachelet said her office was finalizing its assessment of the information available."]
    edited = "Bachelet stated her office was finalizing its assessment of the information available."
    assert novel_sentences(edited, known) == ()
