"""Delivery through apprise to a real SMTP server and a real webhook, and the ledger that makes it once-only."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import duckdb
import pytest
from alerts_servers import SMTP_PASSWORD, free_port
from alerts_world import NOW, SCRIPT_TITLE, WATCH, add_update

from alerts import DestinationError, DigestSettings, parse_destination, preview_digest, send_digests

HOOK_TOKEN = "hook-Token-12345"


def ledger(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT destination, status, attempts, list_sort(article_ids), error FROM digest_delivery"
            " ORDER BY first_attempt_at, destination"
        ).fetchall()
    finally:
        con.close()


def settings(*urls: str) -> DigestSettings:
    return DigestSettings(watch=WATCH, notify=tuple(urls), title="Bachelet & Xinjiang")


def test_email_is_multipart_html_with_text_alternative(world_db, smtp_server):
    path, world = world_db
    run = send_digests(path, settings(smtp_server.url()), now=NOW)
    assert [d.status for d in run.deliveries] == ["sent"]
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert smtp_server.envelopes[0] == ("newswatch@example.org", ["reader@example.org"])
    assert smtp_server.logins == ["digest-bot"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "reader@example.org"
    assert "newswatch@example.org" in message["From"]
    assert message["Subject"].startswith("Bachelet & Xinjiang: 3 updates: Council vote")
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    for title in ("Bachelet arrives in China for long-sought visit",
                  "UN office publishes Xinjiang assessment minutes before mandate ends"):
        assert title in html and title in plain
    assert "Also run by 2 outlets" in plain
    # The text alternative keeps the links: the article and the other outlets.
    assert "https://lakemont.example/visit" in plain and "https://harbor.example/bachelet-china" in plain


def test_webhook_receives_the_digest(world_db, webhook_server):
    path, _ = world_db
    run = send_digests(path, settings(webhook_server.url()), now=NOW)
    assert [d.status for d in run.deliveries] == ["sent"]
    [request] = webhook_server.requests
    assert request["path"] == "/hook"
    payload = request["json"]
    assert payload["title"].startswith("Bachelet & Xinjiang: 3 updates")
    assert SCRIPT_TITLE in payload["message"]  # a plain-text channel: the title as text, no markup around it
    assert "Bachelet arrives in China for long-sought visit" in payload["message"]


def test_second_send_with_nothing_new_sends_nothing(world_db, smtp_server, webhook_server):
    path, _ = world_db
    config = settings(smtp_server.url(), webhook_server.url())
    first = send_digests(path, config, now=NOW)
    second = send_digests(path, config, now=NOW + timedelta(hours=1))
    assert [d.status for d in first.deliveries] == ["sent", "sent"]
    assert second.deliveries == ()
    assert len(second.up_to_date) == 2
    assert len(smtp_server.messages) == 1
    assert len(webhook_server.requests) == 1
    assert [row[1:3] for row in ledger(path)] == [("sent", 1), ("sent", 1)]


def test_two_senders_at_once_deliver_once(world_db, webhook_server):
    path, _ = world_db
    webhook_server.delay = 1.5  # the first sender is mid-delivery when the second starts
    runs = []
    senders = [threading.Thread(target=lambda: runs.append(send_digests(path, settings(webhook_server.url()), now=NOW)))
               for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    assert len(webhook_server.requests) == 1
    assert sorted((len(r.deliveries), len(r.up_to_date)) for r in runs) == [(0, 1), (1, 0)]
    assert [row[1] for row in ledger(path)] == ["sent"]


def test_failed_destination_is_retried_and_the_other_not_resent(world_db, smtp_server, webhook_server):
    path, world = world_db
    config = settings(smtp_server.url(), webhook_server.url())
    webhook_server.fail = True
    first = send_digests(path, config, now=NOW)
    assert [d.status for d in first.deliveries] == ["sent", "failed"]
    assert first.failed[0].error

    webhook_server.fail = False
    second = send_digests(path, config, now=NOW + timedelta(hours=1))
    assert [(d.destination.split(":")[0], d.status) for d in second.deliveries] == [("json", "sent")]
    assert len(smtp_server.messages) == 1
    assert len(webhook_server.requests) == 1
    rows = ledger(path)
    assert len(rows) == 2  # the retry of the same digest updated its row
    webhook_row = next(row for row in rows if row[0].startswith("json"))
    assert webhook_row[1:4] == ("sent", 2, sorted([world.visit, world.assessment, world.vote]))
    assert webhook_row[4] is None


def test_each_destination_gets_its_backlog(world_db, smtp_server, webhook_server):
    path, world = world_db
    config = settings(smtp_server.url(), webhook_server.url())
    webhook_server.fail = True
    send_digests(path, config, now=NOW)
    webhook_server.fail = False

    con = duckdb.connect(str(path))
    later = add_update(con, title="Türk follows up on the Xinjiang report", url="https://lakemont.example/turk",
                       site="Lakemont Wire", published=NOW + timedelta(hours=1), seen=NOW + timedelta(hours=1))
    con.close()
    run = send_digests(path, config, now=NOW + timedelta(hours=2))

    covered = {d.destination.split(":")[0]: set(d.article_ids) for d in run.deliveries}
    assert covered == {"mailto": {later}, "json": {later, world.visit, world.assessment, world.vote}}
    assert "Türk follows up" in smtp_server.messages[1].get_body(("html",)).get_content()
    assert "Bachelet arrives in China" not in smtp_server.messages[1].get_body(("html",)).get_content()
    assert "Bachelet arrives in China" in webhook_server.requests[0]["json"]["message"]


def test_preview_shows_what_some_destination_is_still_owed(world_db, smtp_server, webhook_server):
    path, world = world_db
    config = settings(smtp_server.url(), webhook_server.url())
    webhook_server.fail = True
    send_digests(path, config, now=NOW)
    con = duckdb.connect(str(path), read_only=True)
    try:
        owed = preview_digest(con, config, now=NOW)
        nothing_configured = preview_digest(con, DigestSettings(watch=WATCH), now=NOW)
    finally:
        con.close()
    assert owed.covered_ids == {world.visit, world.assessment, world.vote}
    assert owed.period_start is None  # the webhook never received anything
    assert nothing_configured.is_empty  # the watch's last digest covered everything


def test_preview_of_a_warehouse_without_a_ledger(world_db):
    path, _ = world_db
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE digest_delivery")
    digest = preview_digest(con, DigestSettings(watch=WATCH), now=NOW)
    con.close()
    assert digest.counts.updates == 3


def test_no_secret_in_output_logs_or_database(world_db, smtp_server, webhook_server, capsys, caplog):
    path, _ = world_db
    caplog.set_level(logging.DEBUG)
    dead_smtp = f"mailto://digest-bot:{SMTP_PASSWORD}@127.0.0.1:{free_port()}?smtp=127.0.0.1&from=a@example.org&to=b@example.org"
    config = settings(smtp_server.url(), webhook_server.url(), dead_smtp)
    webhook_server.fail = True
    run = send_digests(path, config, now=NOW)
    assert [d.status for d in run.deliveries] == ["sent", "failed", "failed"]
    assert all(SMTP_PASSWORD not in (d.error or "") + d.destination for d in run.deliveries)

    captured = capsys.readouterr()
    for secret in (SMTP_PASSWORD, HOOK_TOKEN):
        assert secret not in captured.out + captured.err
        assert secret not in caplog.text
    assert "failed" in caplog.text  # the failures were reported, only without secrets

    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in columns:
            values = con.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()
            assert not any(SMTP_PASSWORD in v or HOOK_TOKEN in v for (v,) in values), (table, column)
        displays = [row[0] for row in con.execute("SELECT destination FROM digest_delivery").fetchall()]
    finally:
        con.close()
    assert any(d.startswith("mailto://digest-bot:") for d in displays)
    assert SMTP_PASSWORD.encode() not in path.read_bytes()


def test_unusable_url_is_named_without_its_secret():
    with pytest.raises(DestinationError, match=r"notify #3: not a usable apprise URL \(scheme nosuch://\)") as info:
        parse_destination("nosuch://user:topsecret@host/path", position=3)
    assert "topsecret" not in str(info.value)


def test_destination_identity_and_privacy_form(smtp_server):
    destination = parse_destination(smtp_server.url())
    assert SMTP_PASSWORD not in destination.display
    assert SMTP_PASSWORD not in repr(destination)
    assert destination.body_format == "html"
    assert destination.id == parse_destination(smtp_server.url() + " ").id
    assert destination.id != parse_destination(smtp_server.url("other@example.org")).id
