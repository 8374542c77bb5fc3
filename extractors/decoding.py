"""Content-Encoding decoding that stops at a byte cap, so a gzip bomb never fills memory."""
from __future__ import annotations

import logging
import zlib

from extractors.errors import FetchError, TooLargeError

LOGGER = logging.getLogger(__name__)

# We only advertise these, so a server has no business sending anything else.
ACCEPT_ENCODING = "gzip, deflate"


class BoundedDecoder:
    """Decode a body chunk by chunk; raise TooLargeError once the decoded size passes the limit."""

    def __init__(self, content_encoding: str, limit: int, url: str = "") -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding: {content_encoding}", url)
        self._coding = codings[0] if codings else ""
        self._limit = limit
        self._url = url
        self._size = 0
        self._zlib = self._new_decompressor()
        self._started = False

    def _new_decompressor(self) -> zlib._Decompress | None:
        if self._coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._coding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return None

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise TooLargeError(f"body larger than {self._limit} bytes", self._url)
        return data

    def _inflate(self, data: bytes) -> bytes:
        assert self._zlib is not None
        # max_length keeps every call's output at most one byte past the limit.
        return self._zlib.decompress(data, self._limit - self._size + 1)

    def decode(self, chunk: bytes) -> bytes:
        """The decoded bytes of the next raw chunk."""
        if self._zlib is None:
            return self._count(chunk)
        out = []
        data = chunk
        while data:
            try:
                piece = self._inflate(data)
            except zlib.error as exc:
                if self._coding == "deflate" and not self._started:
                    # Many servers send raw deflate without the zlib header.
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise FetchError(f"corrupt {self._coding} body: {exc}", self._url) from exc
            self._started = True
            out.append(self._count(piece))
            if self._zlib.unconsumed_tail:
                data = self._zlib.unconsumed_tail
            elif self._zlib.eof and self._zlib.unused_data:
                data = self._zlib.unused_data  # another gzip member follows
                self._zlib = self._new_decompressor()
            else:
                data = b""
        return b"".join(out)

    def flush(self) -> bytes:
        """Whatever the decompressor still holds at the end of the body."""
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush())
