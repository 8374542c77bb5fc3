"""The process's one TLS context: started early on a thread, verifying, shared by every pool."""
from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

CHILD = """
import ssl, threading
from extractors import http
http.prepare_tls_context()
http.prepare_tls_context()  # a second call starts nothing more
builders = [t for t in threading.enumerate() if t.name == "newswatch-tls"]
context = http._tls_context()
transport = http._guarded_transport(allow_private=True)
print(len(builders) <= 1, context is http._tls_context(), context.verify_mode == ssl.CERT_REQUIRED,
      context.check_hostname, transport._pool._ssl_context is context)
"""

FAILING = """
import httpx
from extractors import http
def broken(*args, **kwargs):
    raise OSError("no CA bundle here")
httpx.create_ssl_context = broken
http.prepare_tls_context()
try:
    http._tls_context()
except OSError as exc:
    print("raised:", exc)
"""


def _child(code: str) -> str:
    # A fresh process: the context is built once per process, so this one must not have it yet.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_context_started_early_is_the_verifying_one_every_pool_uses():
    assert _child(CHILD) == "True True True True True"


def test_a_context_that_cannot_be_built_fails_whoever_needs_it():
    assert _child(FAILING) == "raised: no CA bundle here"
