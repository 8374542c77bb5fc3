"""The Fetcher's connections on asyncio transports: TLS, a reader slower than its server, closed idle connections."""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from extractors import Fetcher, FetchSettings
from extractors.addresses import GuardedBackend
from extractors.netstream import HIGH_WATER, AsyncioBackend
from extractors_testkit import run


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, with its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with `respond(connection)`, optionally in TLS."""

    def __init__(self, respond, tls: ssl.SSLContext | None = None) -> None:
        self.respond = respond
        self.tls = tls
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.tls is not None:
                try:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                except (ssl.SSLError, OSError):
                    connection.close()
                    continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        try:
            self.respond(connection)
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _response(body: bytes, keep_alive: bool = False) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " + str(len(body)).encode()
            + (b"" if keep_alive else b"\r\nConnection: close") + b"\r\n\r\n" + body)


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    yield _certificate(tmp_path)


def _get(pool: httpcore.AsyncConnectionPool, url: str) -> tuple[int, bytes]:
    async def go() -> tuple[int, bytes]:
        async with pool:
            response = await pool.request("GET", url, extensions={"timeout": {"connect": 5, "read": 5, "write": 5,
                                                                            "pool": 5}})
            return response.status, response.content
    return run(go())


def test_https_goes_through_the_tls_handshake_of_an_asyncio_connection(tls_files) -> None:
    cert, key = tls_files
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    server = RawServer(lambda c: (_read_request(c), c.sendall(_response(b"<p>over TLS</p>"))), tls=served)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        got = _get(httpcore.AsyncConnectionPool(ssl_context=trusting, network_backend=GuardedBackend(True)),
                   f"https://localhost:{server.port}/story")
        assert got == (200, b"<p>over TLS</p>")
        with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):  # the system's CAs only
            _get(httpcore.AsyncConnectionPool(ssl_context=ssl.create_default_context(),
                                              network_backend=GuardedBackend(True)),
                 f"https://localhost:{server.port}/story")
    finally:
        server.close()


def test_a_reader_slower_than_its_server_holds_a_bounded_buffer_and_gets_every_byte() -> None:
    body = bytes(range(256)) * (12 * 1024)  # 3 MB

    async def go() -> tuple[int, bytes]:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
        await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.5)  # the server has sent all it could meanwhile
        held = len(stream._receiver.buffer)  # noqa: SLF001 - what the connection holds unread
        parts = []
        while chunk := await stream.read(65536, timeout=5):
            parts.append(chunk)
        await stream.aclose()
        return held, b"".join(parts)

    server = RawServer(lambda c: (_read_request(c), c.sendall(_response(body))))
    try:
        held, received = run(go())
    finally:
        server.close()
    assert held <= HIGH_WATER + 256 * 1024  # reading paused past the high-water mark, not 3 MB in memory
    assert received.endswith(body) and received.startswith(b"HTTP/1.1 200 OK")


def test_a_connection_the_server_closed_while_idle_is_not_used_again() -> None:
    def answer_then_hang_up(connection: socket.socket) -> None:
        _read_request(connection)
        connection.sendall(_response(b"<p>first</p>", keep_alive=True))  # keep-alive, then closes at once

    async def go() -> list[tuple[int | None, bytes, str | None]]:
        async with Fetcher(FetchSettings(allow_private_hosts=True, respect_robots=False)) as fetcher:
            pages = []
            for _ in range(2):
                page = await fetcher.fetch_page(f"http://127.0.0.1:{server.port}/story")
                pages.append((page.status, page.body, page.error))
                await asyncio.sleep(0.2)  # the server's close reaches the idle connection
            return pages

    server = RawServer(answer_then_hang_up)
    try:
        pages = run(go())
    finally:
        server.close()
    assert pages == [(200, b"<p>first</p>", None)] * 2
    assert server.connections == 2
