"""Hard limits against hostile servers, measured: wall time of a slow drip against
``timeout``/``deadline``, and peak memory while refusing a 200 MB answer.

    python bench/hostile_limits.py

Each case runs ``spacekit.connect("neuroio", ...)`` (the plugin must be installed)
against a loopback server of this script that misbehaves at the socket level.
The memory case runs in a child process, so that its peak is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import spacekit

TOKEN = "bench-token-0123456789"
BODY = b'{"id": 1, "name": "' + b"x" * 40 + b'"}'  # 60 bytes


def _drip(connection: socket.socket) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    connection.sendall(head.encode())
    for byte in BODY:
        time.sleep(0.5)
        connection.sendall(bytes([byte]))


def _huge(connection: socket.socket) -> None:
    connection.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    block = b"a" * 65536
    for _ in range(200 * 2**20 // len(block)):
        connection.sendall(b"%x\r\n%s\r\n" % (len(block), block))
    connection.sendall(b"0\r\n\r\n")


@contextlib.contextmanager
def serving(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in data:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                answer(self.request)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def drip(timeout: float, deadline: float, retries: int) -> None:
    settings = dict(token=TOKEN, timeout=timeout, deadline=deadline, retries=retries, backoff=0.1)
    with serving(_drip) as url:
        with spacekit.connect("neuroio", base_url=url, **settings) as store:
            started = time.monotonic()
            try:
                store.get("1")
            except spacekit.SpacekitError as error:
                outcome = type(error).__name__
            sync = time.monotonic() - started

        async def run() -> float:
            async with spacekit.connect_async("neuroio", base_url=url, **settings) as astore:
                begun = time.monotonic()
                with contextlib.suppress(spacekit.SpacekitError):
                    await astore.get("1")
                return time.monotonic() - begun

        asynchronous = asyncio.run(run())
    print(
        f"drip of 60 bytes, one every 0.5 s (30 s unbounded), timeout={timeout:g} deadline={deadline:g} "
        f"retries={retries}: sync {sync:.2f} s ({outcome}), async {asynchronous:.2f} s; "
        f"bound {min(deadline, timeout * (retries + 1)):g} s"
    )


def huge_child() -> None:
    with serving(_huge) as url, spacekit.connect("neuroio", token=TOKEN, base_url=url, retries=0) as store:
        started = time.monotonic()
        with contextlib.suppress(spacekit.ProtocolError):
            store.get("1")
        elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"200 MB answer (max_response_bytes 32 MiB): refused in {elapsed:.2f} s, peak RSS {peak:.0f} MiB")


def main() -> None:
    if sys.argv[1:] == ["huge"]:
        huge_child()
        return
    drip(timeout=1, deadline=3, retries=4)
    drip(timeout=1, deadline=60, retries=0)
    subprocess.run([sys.executable, __file__, "huge"], check=True)


if __name__ == "__main__":
    main()
