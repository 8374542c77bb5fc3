"""The Decider on invented stories: copies, excerpts, retellings, hard negatives, topic drift."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from dedup import Decider, DecisionSettings, Document, fingerprint, parse_query

FIXTURES = Path(__file__).parent / "fixtures" / "stories.json"
QUERY = ('(xinjiang OR uyghur* OR uighur*) AND (bachelet OR turk OR "high commissioner" OR ohchr '
         'OR "rights chief" OR "rights office" OR "human rights council") '
         'OR (china OR chinese OR beijing) AND (bachelet OR turk OR "high commissioner" OR ohchr '
         'OR "rights chief" OR "rights office")')


def _doc(raw: dict, **extra) -> Document:
    published = datetime.fromisoformat(raw["published"].replace("Z", "+00:00"))
    return Document(key=raw["key"], title=raw["title"], text=raw["text"], published_at=published, **extra)


def _load() -> tuple[Document, list[dict]]:
    data = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return _doc(data["seed"], status="seed"), data["cases"]


def _replay(cases: list[dict], settings: DecisionSettings | None = None):
    seed, _ = _load()
    decider = Decider([seed], query=parse_query(QUERY), settings=settings)
    decisions = {}
    for raw in cases:
        doc = _doc(raw)
        fp = fingerprint(doc.text)
        decision = decider.decide(doc, fp)
        decider.remember(doc, fp, decision)
        decisions[doc.key] = decision
    return decisions


SEED, CASES = _load()
DECISIONS = _replay(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["key"] for c in CASES])
def test_fixture_story_gets_expected_decision(case):
    decision = DECISIONS[case["key"]]
    expect = case["expect"]
    assert decision.status == expect["status"], decision.reason
    assert decision.duplicate_of == expect["duplicate_of"], decision.reason
    if expect["similarity_kind"]:
        assert decision.similarity_kind == expect["similarity_kind"], decision.reason
    assert decision.reason


def test_new_update_starts_its_own_story_with_novel_sentences():
    visit = DECISIONS["visit"]
    assert visit.story_key == "visit"
    assert visit.novel_sentences, "an update about the visit says things the seed did not"
    assert visit.query_matched is True and "bachelet" in visit.matched_terms
    assert visit.reason.startswith("new: query matched (")


def test_copies_join_the_story_of_their_original():
    assert DECISIONS["visit-wire"].story_key == "visit"
    assert DECISIONS["turk-edited"].story_key == "turk"
    assert DECISIONS["seed-wire"].story_key == "seed"


def test_successor_follow_up_without_bachelet_is_on_topic():
    turk = DECISIONS["turk"]
    assert turk.status == "new"
    assert "bachelet" not in turk.matched_terms and "turk" in turk.matched_terms


def test_off_topic_reason_names_score_threshold_and_query():
    reason = DECISIONS["sanctions"].reason
    assert reason.startswith("off topic: relevance ") and "query not matched" in reason


def test_same_event_only_within_the_date_window():
    _, cases = _load()
    retelling = next(c for c in cases if c["key"] == "same-event")
    months_later = {**retelling, "key": "later", "published": "2022-01-20T08:00:00Z"}
    decision = _replay([months_later])["later"]
    assert decision.status == "new", decision.reason


def test_copy_of_a_copy_points_at_the_original():
    _, cases = _load()
    wire = next(c for c in cases if c["key"] == "visit-wire")
    visit = next(c for c in cases if c["key"] == "visit")
    # Stored state: the original and its wire copy; a re-run of the wire copy with new credits arrives.
    seed, _ = _load()
    decider = Decider([seed], updates=[_doc(visit, status="new")], query=parse_query(QUERY))
    stored_wire = _doc(wire, status="duplicate", duplicate_of="visit", story_key="visit")
    again = replace(_doc(wire), key="wire-again", text=wire["text"].replace("editing by Carla Desk", "editing by Dan Desk"))
    # Only the wire copy comes back from the band join, as it would if the original's bands missed.
    decision = decider.decide(again, fingerprint(again.text), [(stored_wire, fingerprint(stored_wire.text))])
    assert (decision.status, decision.duplicate_of, decision.story_key) == ("duplicate", "visit", "visit")


def test_two_copies_in_one_batch_are_caught_by_remember():
    _, cases = _load()
    irrelevant = next(c for c in cases if c["key"] == "myanmar")
    seed, _ = _load()
    decider = Decider([seed], query=parse_query(QUERY))
    first = _doc(irrelevant)
    second = replace(first, key="myanmar-2", title="UPDATE 1-" + first.title)
    d1 = decider.decide(first)
    decider.remember(first, fingerprint(first.text), d1)
    d2 = decider.decide(second)
    assert d1.status == "irrelevant"
    assert (d2.status, d2.duplicate_of, d2.similarity_kind) == ("duplicate", "myanmar", "exact")


def test_earliest_candidate_is_the_original():
    visit = next(c for c in CASES if c["key"] == "visit")
    early = _doc({**visit, "key": "12", "published": "2022-05-28T10:00:00Z"}, status="new")
    late = _doc({**visit, "key": "15", "published": "2022-05-28T12:00:00Z"}, status="new")
    decider = Decider([SEED], query=parse_query(QUERY))
    copy = _doc({**visit, "key": "copy", "text": "GENEVA (Wire) - " + visit["text"]})
    decision = decider.decide(copy, None, [late, early])
    assert decision.duplicate_of == "12"
    assert decision.reason.startswith("copy of #12 (")


def test_seed_is_judged_seed():
    decision = Decider([SEED]).decide(SEED)
    assert decision.status == "seed" and decision.story_key == "seed"


def test_require_query_decides_whether_similarity_alone_can_accept():
    visit = next(c for c in CASES if c["key"] == "visit")
    # The visit story retold without the query's word: very similar to an accepted update.
    text = visit["text"].replace("Xinjiang", "the region")
    doc = _doc({**visit, "key": "x", "title": "Trip ends", "text": text})
    no_copies = dict(jaccard_threshold=1.1, containment_threshold=1.1)
    lenient = Decider([SEED], updates=[_doc(visit, status="new")], query=parse_query("xinjiang"),
                      settings=DecisionSettings(**no_copies))
    strict = Decider([SEED], updates=[_doc(visit, status="new")], query=parse_query("xinjiang"),
                     settings=DecisionSettings(require_query=True, **no_copies))
    assert lenient.decide(doc).status == "new"
    decision = strict.decide(doc)
    assert decision.status == "irrelevant" and "query is required" in decision.reason


def test_watch_without_query_uses_similarity_alone():
    decider = Decider([SEED])
    visit = next(c for c in CASES if c["key"] == "visit")
    football = next(c for c in CASES if c["key"] == "football")
    assert decider.decide(_doc(visit)).status == "new"
    assert decider.decide(_doc(football)).status == "irrelevant"
    assert decider.decide(_doc(visit)).query_matched is None


@pytest.mark.parametrize("by_key", [False, True], ids=["documents", "keys"])
def test_forgetting_each_stored_batch_changes_no_decision(by_key):
    # As a pass does: after each batch is stored the Decider forgets it, and the stored reports
    # come back as warehouse candidates: as documents, or by key alone when the Decider still holds
    # them (a pass then reads no text again). Every decision must be the one made with everything in memory.
    seed, _ = _load()
    decider = Decider([seed], query=parse_query(QUERY))
    stored: list[Document] = []
    for raw in CASES:
        doc = _doc(raw)
        fp = fingerprint(doc.text)
        candidates = [s.key if by_key and decider.remembers(s.key) else s for s in stored]
        if by_key:
            assert all(isinstance(c, str) for c in candidates)  # every earlier batch is still held
        decision = decider.decide(doc, fp, candidates)
        decider.remember(doc, fp, decision)
        decider.forget_batch()
        stored.append(replace(doc, status=decision.status, duplicate_of=decision.duplicate_of,
                              story_key=decision.story_key))
        assert decision == DECISIONS[doc.key], doc.key


def test_a_key_the_decider_does_not_hold_is_refused_clearly():
    decider = Decider([SEED], query=parse_query(QUERY))
    doc = _doc(CASES[0])
    assert not decider.remembers("999")
    with pytest.raises(KeyError, match="does not remember"):
        decider.decide(doc, fingerprint(doc.text), ["999"])


def test_the_stored_cache_is_trimmed_only_between_batches(monkeypatch):
    import dedup.decide as decide_module

    monkeypatch.setattr(decide_module, "STORED_CACHE", 2)
    decider = Decider([SEED], query=parse_query(QUERY))
    docs = [replace(_doc(raw), key=f"s{i}") for i, raw in enumerate(CASES[:4])]
    probe = _doc(CASES[4])
    decider.decide(probe, fingerprint(probe.text), docs)  # four stored candidates met in one batch
    assert all(decider.remembers(d.key) for d in docs)  # all held until the batch is forgotten
    decider.forget_batch()
    assert [decider.remembers(d.key) for d in docs] == [False, False, True, True]  # oldest dropped first
