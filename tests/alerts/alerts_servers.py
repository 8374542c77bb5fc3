"""Real local servers for delivery tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "digest-bot"
SMTP_PASSWORD = "s3cret-Pa55word-XYZ"  # noqa: S105 - the secret that must never leak


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that requires a login and keeps every message it receives."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    controller: Any = None

    def url(self, to: str = "reader@example.org") -> str:
        """The apprise mailto:// URL that delivers to this server."""
        return (f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}"
                f"?smtp=127.0.0.1&from=newswatch@example.org&to={to}&mode=insecure")

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() \
            and auth_data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        # Plain SMTP with AUTH offered on loopback: the test has no certificate and nothing leaves the machine.
        # (Requiring AUTH without TLS makes aiosmtpd warn; tests check `logins` instead.)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self.authenticate,
                                     auth_require_tls=False)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class WebhookServer:
    """An HTTP server on 127.0.0.1 that records JSON POSTs; `fail` makes it answer 500."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False
    delay: float = 0.0  # seconds before answering, to hold a sender mid-delivery
    httpd: ThreadingHTTPServer | None = None

    def url(self, path: str = "hook") -> str:
        """The apprise json:// URL that posts to this server (with a token to keep secret)."""
        return f"json://hookuser:hook-Token-12345@127.0.0.1:{self.port}/{path}"

    def start(self) -> WebhookServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                time.sleep(owner.delay)
                if owner.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass  # keep test output clean

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
