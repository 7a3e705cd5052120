"""Limits on every answer a client reads: an overall deadline and a size limit.

httpx's timeouts apply to each read on its own, so a server that trickles one byte a second
never trips them and holds a scan forever; and httpx reads a body whole before anyone sees its
size. `BoundedTransport` wraps the real transport and enforces, per request:

- a deadline for the whole exchange (connect, send, headers and the last body byte):
  `DeadlineExceeded`, a read timeout, so the one retry policy in http.py treats it as a
  lost reply (retried when the request is safe to repeat);
- a size limit on the body: a Content-Length above it is refused before a body byte is read,
  and a body without one is counted as it arrives (`ResponseTooLarge`, never retried: the same
  request brings the same answer). The limit counts *decoded* bytes, so a small compressed
  bomb cannot expand past it either: the transport asks for gzip only and decodes it here
  (httpx never sees the encoding); an encoding it did not ask for is refused.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import AsyncIterator

import anyio
import httpx

DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class DeadlineExceeded(httpx.ReadTimeout):
    """The whole answer did not arrive within the request's deadline."""


class ResponseTooLarge(httpx.TransportError):
    """The body is (or announced itself) larger than the limit; it was not read whole."""


class BadEncoding(httpx.TransportError):
    """The body came in a content encoding that was not asked for, or does not decode."""


class BoundedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, deadline: float,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if deadline <= 0 or max_bytes < 1:
            raise ValueError("deadline must be > 0 and max_bytes >= 1")
        self._inner = inner or httpx.AsyncHTTPTransport()
        self.deadline = deadline
        self.max_bytes = max_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ends_at = time.monotonic() + self.deadline
        # Only what this transport can decode under the limit.
        request.headers["Accept-Encoding"] = "gzip"
        try:
            with anyio.fail_after(self.deadline):
                response = await self._inner.handle_async_request(request)
        except TimeoutError:
            raise DeadlineExceeded(f"no answer within {self.deadline:g} s", request=request) from None
        try:
            return self._bounded(request, response, ends_at)
        except BaseException:
            await response.aclose()
            raise

    def _bounded(self, request: httpx.Request, response: httpx.Response, ends_at: float) -> httpx.Response:
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise ResponseTooLarge(f"an answer of {int(declared)} bytes (over the limit of "
                                   f"{self.max_bytes})", request=request)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip"):
            raise BadEncoding(f"an answer in an encoding it was not asked for ({encoding[:40]!r})",
                              request=request)
        headers = [(k, v) for k, v in response.headers.raw
                   if k.lower() not in (b"content-encoding", b"content-length")] if encoding == "gzip" \
            else response.headers.raw
        stream = _LimitedStream(response.stream, request=request, ends_at=ends_at, deadline=self.deadline,
                                max_bytes=self.max_bytes, gzip=encoding == "gzip")
        return httpx.Response(response.status_code, headers=headers, stream=stream,
                              extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class _LimitedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, *, request: httpx.Request, ends_at: float,
                 deadline: float, max_bytes: int, gzip: bool) -> None:
        self._inner = inner
        self._request = request
        self._ends_at = ends_at
        self._deadline = deadline
        self._max = max_bytes
        self._gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._seen = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            remaining = self._ends_at - time.monotonic()
            if remaining <= 0:
                raise self._late()
            try:
                # The cancel scope covers the read only, never a yield.
                with anyio.fail_after(remaining):
                    raw = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise self._late() from None
            data = self._decode(raw)
            if data:
                yield data
        if self._gunzip is not None:
            tail = self._gunzip.flush()
            self._count(tail)
            if not self._gunzip.eof:
                raise BadEncoding("a gzip answer cut short", request=self._request)
            if tail:
                yield tail

    def _decode(self, raw: bytes) -> bytes:
        if self._gunzip is None:
            self._count(raw)
            return raw
        try:
            # Never inflate more than one byte past the limit, whatever the ratio.
            data = self._gunzip.decompress(raw, self._max - self._seen + 1)
        except zlib.error:
            raise BadEncoding("a gzip answer that does not decode", request=self._request) from None
        self._count(data)
        if self._gunzip.unconsumed_tail:
            raise self._too_large()
        return data

    def _count(self, data: bytes) -> None:
        self._seen += len(data)
        if self._seen > self._max:
            raise self._too_large()

    def _too_large(self) -> ResponseTooLarge:
        return ResponseTooLarge(f"an answer over the limit of {self._max} bytes", request=self._request)

    def _late(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within {self._deadline:g} s", request=self._request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def bounded_client(*, timeout: float, deadline: float, max_bytes: int = DEFAULT_MAX_BYTES,
                   **kwargs: object) -> httpx.AsyncClient:
    """An httpx client whose every answer is bounded (per-read `timeout` stays as well)."""
    return httpx.AsyncClient(timeout=timeout, transport=BoundedTransport(deadline=deadline, max_bytes=max_bytes),
                             **kwargs)  # type: ignore[arg-type]
