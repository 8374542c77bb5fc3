"""httpcore's network streams on asyncio's own transports: how the Fetcher's connections read and write.

httpcore's default backend goes through anyio, and every read and write of a response then opens a
cancel scope, asks sniffio which event loop runs and shields a checkpoint: a third of the CPU that
fetching a page costs (1.5 -> 1.0 ms a page for 170 KB pages from a local server). The Fetcher
runs on asyncio only, so its connections are asyncio transports, read through a small protocol.
"""
from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
from httpcore._utils import is_socket_readable

# Bytes received but not read yet above which the transport stops reading from the socket, so a
# server that sends faster than a response is consumed cannot fill the memory.
HIGH_WATER = 256 * 1024


class _Receiver(asyncio.Protocol):
    """What a connection has received and not read yet, and whether it may write."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the peer closed its side, or the connection is gone
        self.error: BaseException | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until something changes: data, the end, writing resumed."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) <= HIGH_WATER // 4 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    @property
    def writing_paused(self) -> bool:
        return self._writing_paused and not self.ended


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection, plain or TLS, as httpcore's HTTP/1.1 code reads and writes it."""

    def __init__(self, receiver: _Receiver) -> None:
        self._receiver = receiver

    @property
    def _transport(self) -> asyncio.Transport:
        """The connection's transport: the TLS one once `start_tls` has run (the receiver holds it)."""
        assert self._receiver.transport is not None, "a receiver gets its transport on connecting"
        return self._receiver.transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        receiver = self._receiver
        while not receiver.buffer and not receiver.ended:
            try:
                await receiver.wait(timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(f"no data for {timeout} s") from exc
        if receiver.buffer:
            return receiver.take(max_bytes)
        if receiver.error is not None:
            raise httpcore.ReadError(str(receiver.error) or type(receiver.error).__name__) from receiver.error
        return b""  # the peer closed the connection: httpcore decides whether the response was whole

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        receiver = self._receiver
        if receiver.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        while receiver.writing_paused:
            try:
                await receiver.wait(timeout)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(f"could not write for {timeout} s") from exc
        if receiver.error is not None:
            raise httpcore.WriteError(str(receiver.error) or type(receiver.error).__name__) from receiver.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self._transport, self._receiver, ssl_context,
                                             server_hostname=server_hostname,
                                             ssl_handshake_timeout=timeout if timeout and timeout > 0 else None)
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(f"TLS handshake timed out after {timeout} s") from exc
        except (OSError, ssl.SSLError, ConnectionError) as exc:  # SSLError is an OSError; spelled out for readers
            self._transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self._receiver.transport = transport
        return AsyncioStream(self._receiver)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":  # an idle pooled connection that is readable was closed by the server
            receiver = self._receiver
            if receiver.ended or receiver.buffer:
                return True
            sock = self._transport.get_extra_info("socket")
            return sock is not None and is_socket_readable(sock)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections with asyncio (TCP_NODELAY, as asyncio sets it) to addresses already checked."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore._backends.base.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, receiver = await loop.create_connection(
                    _Receiver, host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"connect timed out after {timeout} s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(receiver)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Any = None) -> httpcore.AsyncNetworkStream:
        """Never used: the Fetcher reaches hosts by TCP only."""
        raise httpcore.ConnectError(f"unix sockets are not supported: {path}")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
