"""Hard limits on one exchange: how long it may take, how large its answer may be.

A call gets a deadline (``EngineConfig.deadline`` from its start); each attempt a
``Window``: ``timeout`` seconds from sending, never past the deadline. Time is
enforced at three levels, so that no server can hold a caller longer:

- each socket operation waits at most what remains of the window: httpx's
  per-request ``timeout`` is set to it, and, for the sync engine's own transport,
  ``DeadlineBackend`` shortens every read and write to what remains at that moment
  (a server dripping its headers or body byte by byte is cut off on time);
- ``Body`` checks the time and the size after every chunk of the answer;
- the async engine also runs each attempt under ``asyncio.timeout``.

``Body`` reads an answer as a stream and never holds more than
``max_response_bytes``.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing
from collections.abc import Iterable

import attrs
import httpcore
import httpx

from ._errors import ProtocolError

_ENDS: contextvars.ContextVar[float | None] = contextvars.ContextVar("spacekit_attempt_ends", default=None)


@attrs.frozen
class Window:
    """The time one attempt may take: until ``ends`` (``time.monotonic``)."""

    ends: float
    #: True when the call's deadline, not the attempt's timeout, ends the window
    by_deadline: bool

    @classmethod
    def open(cls, timeout: float, deadline_at: float) -> Window:
        ends = time.monotonic() + timeout
        return cls(min(ends, deadline_at), deadline_at <= ends)

    def left(self) -> float:
        return self.ends - time.monotonic()

    def expired(self) -> bool:
        return self.left() <= 0

    def timeouts(self) -> dict[str, float]:
        """httpx's per-request ``timeout`` extension: every wait bounded by what is left."""
        left = max(self.left(), 0.001)
        return httpx.Timeout(left).as_dict()  # type: ignore[return-value]

    def applied(self) -> contextvars.Token[float | None]:
        """Make ``DeadlineBackend`` bound socket waits in this context; undo with ``_ENDS.reset``."""
        return _ENDS.set(self.ends)

    @staticmethod
    def release(token: contextvars.Token[float | None]) -> None:
        _ENDS.reset(token)


class TimedOut(Exception):
    """Internal: the window ended while the answer was still coming."""


class Body:
    """The answer's bytes, read chunk by chunk within a window and a size cap."""

    def __init__(self, window: Window, cap: int, what: str, provider: str) -> None:
        self.window = window
        self.cap = cap
        self.what = what
        self.provider = provider
        self._chunks: list[bytes] = []
        self._size = 0

    def start(self, headers: httpx.Headers, status: int) -> None:
        """Refuse at once an answer that announces a length over the cap."""
        length = headers.get("content-length", "")
        if length.isdigit() and len(length) < 20 and int(length) > self.cap:
            raise self.too_large(status)

    def feed(self, chunk: bytes, status: int) -> None:
        self._size += len(chunk)
        if self._size > self.cap:
            self._chunks.clear()
            raise self.too_large(status)
        self._chunks.append(chunk)
        if self.window.expired():
            raise TimedOut

    def read(self, chunks: Iterable[bytes], status: int) -> bytes:
        for chunk in chunks:
            self.feed(chunk, status)
        return self.content()

    def content(self) -> bytes:
        return b"".join(self._chunks)

    def too_large(self, status: int) -> ProtocolError:
        return ProtocolError(
            f"{self.what}: the answer is larger than max_response_bytes ({self.cap} bytes); "
            "if such answers are expected, raise that setting (connect(..., max_response_bytes=N) "
            "or max_response_bytes in the store's config)",
            provider=self.provider,
            status=status,
        )


def _bounded(timeout: float | None) -> float | None:
    ends = _ENDS.get()
    if ends is None:
        return timeout
    left = max(ends - time.monotonic(), 0.001)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every socket wait bounded by the attempt's window."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _bounded(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(path, _bounded(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def network_transport(**options: typing.Any) -> httpx.HTTPTransport:
    """httpx's transport for the network, its sockets bounded by the attempt's window."""
    transport = httpx.HTTPTransport(**options)
    pool = transport._pool
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport
