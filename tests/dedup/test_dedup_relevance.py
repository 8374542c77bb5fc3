"""Relevance vectors and the public namespace of the room."""
from __future__ import annotations

import dedup
from dedup import RelevanceModel, cosine, term_vector

SEED = ("UN human rights chief Michelle Bachelet said her office would publish its assessment of "
        "Xinjiang, where Uyghurs are held in camps, after China refused a visit.")


def test_function_and_common_news_words_do_not_make_texts_similar():
    a = term_vector("Officials said on Monday that the government would make a statement this week.")
    b = term_vector("The government said officials would make a statement on Monday, this week.")
    c = term_vector("Bachelet urged China to let her office visit Xinjiang camps holding Uyghurs.")
    assert cosine(term_vector(SEED), c) > 0.3
    assert cosine(term_vector(SEED), a) < 0.1
    assert cosine(a, b) > 0.9  # identical words still match: weights shrink, not vanish


def test_model_follows_accepted_updates():
    model = RelevanceModel([SEED])
    drift = "Volker Türk met Chinese diplomats about the follow-up to the report on detention and separated families."
    before = model.similarities(drift)
    model.add_update("Türk said the report on detention and separated families needs follow-up by Chinese diplomats.")
    after = model.similarities(drift)
    assert after[0] == before[0]  # the seed did not change
    assert before[1] == 0.0 and after[1] > 0.5


def test_public_api_is_pinned():
    assert sorted(dedup.__all__) == sorted([
        "Candidate", "Decider", "Decision", "DecisionSettings", "Document", "Fingerprint", "Match",
        "NUM_BANDS", "NUM_PERM", "NearDuplicateScore", "Query", "QueryError", "ROWS_PER_BAND",
        "RelevanceModel", "band_hashes", "containment", "content_hash", "content_lines", "cosine",
        "estimated_jaccard", "fingerprint", "jaccard", "minhash_signature", "near_duplicate_score",
        "normalize_text", "novel_sentences", "parse_query", "parse_seed_text", "seed_document",
        "shingles", "split_sentences", "term_vector", "words"])
    for name in dedup.__all__:
        assert getattr(dedup, name) is not None
