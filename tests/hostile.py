"""A loopback HTTP server that misbehaves on purpose: slow drips, huge and odd bodies.

Not an emulator: it answers every request the same way, at the socket level, so
that it can do what no well-behaved server does (send its headers or body one byte
at a time, stream 200 MB, stall mid-answer).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

Answer = Callable[[socket.socket], None]


def _read_request(connection: socket.socket) -> str | None:
    """The request's head (its body read and dropped); None once the client hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head.decode("latin-1")


@contextlib.contextmanager
def serving(answer: Answer, requests: list[str] | None = None) -> Iterator[str]:
    """Serve ``answer`` (called with the connection after each request) on loopback;
    each request's head is added to ``requests`` if given."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connection: socket.socket = self.request
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.suppress(OSError):
                while not stop.is_set() and (request := _read_request(connection)) is not None:
                    if requests is not None:
                        requests.append(request)
                    answer(connection)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def head(status: int = 200, length: int | None = None, extra: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + extra + "\r\n\r\n").encode()


def drip_body(body: bytes, interval: float) -> Answer:
    """Headers at once, then the body one byte every ``interval`` seconds."""

    def answer(connection: socket.socket) -> None:
        connection.sendall(head(200, len(body)))
        for byte in body:
            time.sleep(interval)
            connection.sendall(bytes([byte]))

    return answer


def drip_headers(interval: float) -> Answer:
    """The status line and headers one byte every ``interval`` seconds."""

    def answer(connection: socket.socket) -> None:
        for byte in head(200, 2) + b"{}":
            time.sleep(interval)
            connection.sendall(bytes([byte]))

    return answer


def stall_after(prefix: bytes, length: int) -> Answer:
    """Send part of the body at once, then nothing."""

    def answer(connection: socket.socket) -> None:
        connection.sendall(head(200, length) + prefix)
        time.sleep(30)

    return answer


def huge(size: int, *, announce: bool) -> Answer:
    """``size`` bytes of a JSON string, with or without a Content-Length (chunked if not)."""

    def answer(connection: socket.socket) -> None:
        block = b"a" * 65536
        if announce:
            connection.sendall(head(200, size) + b'"')
            sent = 1
            while sent < size:
                piece = block[: min(len(block), size - sent)]
                connection.sendall(piece)
                sent += len(piece)
            return
        connection.sendall(head(200, extra="\r\nTransfer-Encoding: chunked"))
        sent = 0
        while sent < size:
            connection.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            sent += len(block)
        connection.sendall(b"0\r\n\r\n")

    return answer


def fixed(status: int, body: bytes) -> Answer:
    def answer(connection: socket.socket) -> None:
        connection.sendall(head(status, len(body)) + body)

    return answer


def compressed(size: int, layers: list[str]) -> bytes:
    """``size`` zero bytes compressed in each of ``layers`` in turn ("gzip" or
    "deflate"), streamed so that making a bomb never holds what it inflates to."""
    import zlib

    def squeeze(pieces: Iterator[bytes], layer: str) -> Iterator[bytes]:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31 if layer == "gzip" else 15)
        for piece in pieces:
            yield packer.compress(piece)
        yield packer.flush()

    def zeros() -> Iterator[bytes]:
        block = bytes(2**20)
        for start in range(0, size, len(block)):
            yield block[: min(len(block), size - start)]

    pieces: Iterator[bytes] = zeros()
    for layer in layers:
        pieces = squeeze(pieces, layer)
    return b"".join(pieces)


def encoded(body: bytes, encoding: str, status: int = 200) -> Answer:
    """``body`` as it is, announced with the ``Content-Encoding`` given."""

    def answer(connection: socket.socket) -> None:
        connection.sendall(head(status, len(body), f"\r\nContent-Encoding: {encoding}") + body)

    return answer
