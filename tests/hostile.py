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


def _read_request(connection: socket.socket) -> bool:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return False
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
            return False
        rest += chunk
    return True


@contextlib.contextmanager
def serving(answer: Answer) -> Iterator[str]:
    """Serve ``answer`` (called with the connection after each request) on loopback."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connection: socket.socket = self.request
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with contextlib.suppress(OSError):
                while not stop.is_set() and _read_request(connection):
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
