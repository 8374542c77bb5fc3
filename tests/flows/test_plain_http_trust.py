"""Prefect clients of a plain-HTTP API load a one-certificate trust store, not certifi's ~150 roots."""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import textwrap

import certifi
import pytest

from flows.prefect_api import CERT_FILE_SETTING, PLAIN_HTTP_BUNDLE, one_certificate_bundle, plain_http_trust

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_bundle_is_one_certificate_of_certifis_own_and_loads(tmp_path):
    path = one_certificate_bundle(tmp_path / "home")
    assert path == tmp_path / "home" / PLAIN_HTTP_BUNDLE
    text = path.read_text()
    assert text.count("BEGIN CERTIFICATE") == 1
    assert text.strip() in open(certifi.where()).read()  # trusts nothing certifi does not
    assert ssl.create_default_context(cafile=str(path)).cert_store_stats()["x509_ca"] == 1


def test_a_damaged_bundle_is_written_again(tmp_path):
    (tmp_path / PLAIN_HTTP_BUNDLE).write_text("-----BEGIN CERTIFICATE-----\ntruncated")
    path = one_certificate_bundle(tmp_path)
    assert ssl.create_default_context(cafile=str(path)).cert_store_stats()["x509_ca"] == 1


def test_a_home_that_cannot_be_written_leaves_prefects_default(tmp_path, monkeypatch):
    monkeypatch.delenv(CERT_FILE_SETTING, raising=False)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the Prefect home would be")
    assert one_certificate_bundle(blocker) is None
    with plain_http_trust("http://127.0.0.1:4200/api", blocker):
        assert CERT_FILE_SETTING not in os.environ


def test_only_a_plain_http_api_without_a_users_setting_gets_the_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv(CERT_FILE_SETTING, raising=False)
    with plain_http_trust("http://127.0.0.1:4200/api", tmp_path):
        assert os.environ[CERT_FILE_SETTING] == str(tmp_path / PLAIN_HTTP_BUNDLE)
    assert CERT_FILE_SETTING not in os.environ  # as it was, after the block
    with plain_http_trust("https://prefect.example.org/api", tmp_path):
        assert CERT_FILE_SETTING not in os.environ  # TLS is used there: Prefect's trust store stays
    monkeypatch.setenv(CERT_FILE_SETTING, "/etc/ssl/our-own-ca.pem")
    with plain_http_trust("http://127.0.0.1:4200/api", tmp_path):
        assert os.environ[CERT_FILE_SETTING] == "/etc/ssl/our-own-ca.pem"  # the user's, kept
    assert os.environ[CERT_FILE_SETTING] == "/etc/ssl/our-own-ca.pem"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_process_using_the_local_api_builds_prefect_clients_on_the_store_it_needs(tmp_path, scheme):
    # A fresh process, as `newswatch run` is: Prefect is imported after the API is known. The API
    # itself need not answer: building a client touches no network.
    script = textwrap.dedent(f"""
        import json, os
        from flows.prefect_api import local_prefect_api
        with local_prefect_api() as url:
            from prefect import get_client
            client = get_client()
            stats = client._client._transport._pool._ssl_context.cert_store_stats()
            print(json.dumps({{"url": url, "cas": stats["x509_ca"]}}))
    """)
    env = {k: v for k, v in os.environ.items() if k != CERT_FILE_SETTING}
    env.update(PREFECT_HOME=str(tmp_path / "home"), PREFECT_API_URL=f"{scheme}://127.0.0.1:9/api",
               PYTHONPATH=REPO_ROOT)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO_ROOT,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    cas = json.loads(done.stdout.strip().splitlines()[-1])["cas"]
    if scheme == "http":
        assert cas == 1
    else:
        assert cas > 100  # certifi's whole bundle, as Prefect builds it
