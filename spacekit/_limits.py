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
``max_response_bytes``. It reads the bytes as they came (httpx's own decoding would
inflate a whole chunk at once, whatever it grows to) and undoes the
``Content-Encoding`` itself, every layer (``gzip, gzip`` is two), a piece of at most
``PIECE`` bytes at a time: what each layer gives out counts against the cap as it is
inflated, so a few kilobytes that would inflate to gigabytes end with a
``ProtocolError`` after at most about the cap was made, and an answer that inflates
more than ``MAX_RATIO`` times over (which only layers upon layers do) ends sooner.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing
import zlib
from collections.abc import Iterable, Iterator

import attrs
import httpcore
import httpx

from ._errors import ProtocolError

#: the most bytes one step of decoding gives out: what an answer grows by between checks
PIECE = 64 * 1024
#: the encodings an answer may come in (what spacekit asks for with ``Accept-Encoding``)
ACCEPT_ENCODING = "gzip, deflate"
#: encoding layers of one answer at most (a server applies one; more is an attack)
MAX_LAYERS = 3
#: how many times over an encoded answer may inflate, once past ``RATIO_FROM`` bytes:
#: one layer of deflate cannot pass about 1,030 (a run of one byte), JSON stays far
#: below; only layers upon layers (a bomb) go further
MAX_RATIO = 2000
RATIO_FROM = 2**20
_IDENTITY = frozenset({"identity", ""})
_ZLIB = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}

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


class Undecodable(Exception):
    """Internal: the answer's ``Content-Encoding`` is unknown, or its bytes are not in it."""


class _Inflater:
    """One layer of ``gzip`` or ``deflate``, undone ``PIECE`` bytes at a time.

    ``deflate`` is read as zlib data, or as raw deflate data if the first bytes are
    not zlib's (servers send both under that name, and httpx reads both)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._wbits = _ZLIB[encoding]
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                piece = self._inflater.decompress(data, PIECE)
            except zlib.error:
                if self._started or self.encoding != "deflate" or self._wbits < 0:
                    raise Undecodable(f"the answer is not valid {self.encoding} data") from None
                self._wbits = -zlib.MAX_WBITS  # raw deflate, without zlib's header
                self._inflater = zlib.decompressobj(self._wbits)
                continue
            self._started = True
            data = self._inflater.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) == PIECE:  # zlib may hold more for input it took
                yield from self._drain()

    def _drain(self) -> Iterator[bytes]:
        while True:
            try:
                piece = self._inflater.decompress(b"", PIECE)
            except zlib.error:
                raise Undecodable(f"the answer is not valid {self.encoding} data") from None
            if piece:
                yield piece
            if len(piece) < PIECE:
                return

    def end(self) -> Iterator[bytes]:
        yield from self._drain()
        try:
            rest = self._inflater.flush(PIECE)
        except zlib.error:
            raise Undecodable(f"the answer is not valid {self.encoding} data") from None
        if rest:
            yield rest


def inflaters(content_encoding: str) -> list[_Inflater]:
    """The layers to undo for a ``Content-Encoding`` value, in the order of undoing."""
    names = [name.strip().lower() for name in content_encoding.split(",")]
    layers = [name for name in names if name not in _IDENTITY]
    unknown = next((name for name in layers if name not in _ZLIB), None)
    if unknown is not None:
        raise Undecodable(
            f"the answer's Content-Encoding {unknown[:40]!r} is not one spacekit asked for "
            f"({ACCEPT_ENCODING})"
        )
    if len(layers) > MAX_LAYERS:
        raise Undecodable(f"the answer is encoded {len(layers)} times over (at most {MAX_LAYERS} are read)")
    return [_Inflater(name) for name in reversed(layers)]


class Body:
    """The answer's bytes, read chunk by chunk within a window and a size cap, its
    ``Content-Encoding`` undone as they come (see the module's docstring)."""

    def __init__(self, window: Window, cap: int, what: str, provider: str) -> None:
        self.window = window
        self.cap = cap
        self.what = what
        self.provider = provider
        self._chunks: list[bytes] = []
        self._size = 0
        self._layers: list[_Inflater] = []
        self._made: list[int] = []  # bytes each layer gave out so far
        self._wire = 0  # bytes as they came
        self._status = 0

    def start(self, headers: httpx.Headers, status: int, *, decoded: bool = False) -> None:
        """Refuse at once an answer that announces a length over the cap, or an
        encoding spacekit cannot undo; ``decoded``: the bytes fed come decoded already
        (an in-process transport's answer, which httpx read when it was made)."""
        self._status = status
        length = headers.get("content-length", "")
        if length.isdigit() and len(length) < 20 and int(length) > self.cap:
            raise self.too_large(status)
        if not decoded:
            try:
                self._layers = inflaters(",".join(headers.get_list("content-encoding")))
            except Undecodable as exc:
                raise self.undecodable(exc) from None
            self._made = [0] * len(self._layers)

    def feed(self, chunk: bytes, status: int) -> None:
        """Take a chunk as it came over the wire."""
        self._wire += len(chunk)
        if self._layers:
            try:
                for piece in self._through(chunk, 0):
                    self._keep(piece, status)
            except Undecodable as exc:
                raise self.undecodable(exc) from None
        else:
            self._keep(chunk, status)
        if self.window.expired():
            raise TimedOut

    def _through(self, data: bytes, layer: int) -> Iterator[bytes]:
        """What ``data`` gives out after layers ``layer`` and after, a piece at a time."""
        if layer == len(self._layers):
            yield data
            return
        for piece in self._layers[layer].feed(data):
            yield from self._counted(piece, layer)

    def _counted(self, piece: bytes, layer: int) -> Iterator[bytes]:
        self._made[layer] += len(piece)
        if self._made[layer] > self.cap:
            self._chunks.clear()
            raise self.too_large(self._status)
        if self.window.expired():
            raise TimedOut
        yield from self._through(piece, layer + 1)

    def _keep(self, piece: bytes, status: int) -> None:
        self._size += len(piece)
        if self._size > self.cap:
            self._chunks.clear()
            raise self.too_large(status)
        if self._layers and self._size > RATIO_FROM and self._size > MAX_RATIO * self._wire:
            self._chunks.clear()
            raise self.undecodable(
                Undecodable(f"the answer inflates more than {MAX_RATIO} times over (a compression bomb)")
            )
        self._chunks.append(piece)

    def read(self, chunks: Iterable[bytes], status: int) -> bytes:
        for chunk in chunks:
            self.feed(chunk, status)
        return self.content()

    def content(self) -> bytes:
        """Everything read, once the wire said its last byte."""
        try:
            for layer, inflater in enumerate(self._layers):
                for piece in inflater.end():
                    for out in self._counted(piece, layer):
                        self._keep(out, self._status)
        except Undecodable as exc:
            raise self.undecodable(exc) from None
        self._layers = []
        return b"".join(self._chunks)

    def too_large(self, status: int) -> ProtocolError:
        return ProtocolError(
            f"{self.what}: the answer is larger than max_response_bytes ({self.cap} bytes); "
            "if such answers are expected, raise that setting (connect(..., max_response_bytes=N) "
            "or max_response_bytes in the store's config)",
            provider=self.provider,
            status=status,
        )

    def undecodable(self, error: Undecodable) -> ProtocolError:
        return ProtocolError(f"{self.what}: {error}", provider=self.provider, status=self._status)


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
