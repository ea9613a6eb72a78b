"""An emulator on a loopback port: a threaded HTTP/1.1 server (keep-alive,
TCP_NODELAY, a deep listen backlog) answering from ``Emulator.dispatch``, with an
optional line per request for ``spacekit emulate --log``.

A request it cannot make sense of (a ``Content-Length`` that is not a number, a
target that is not a URL path) is answered 400, and a body over ``MAX_BODY`` 413,
and the connection closed: never a traceback on the emulator's stderr.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from ._emulator import Dropped, Emulator, json_response

MAX_BODY = 64 * 2**20  # bytes of a request body; no provider API takes more


@contextlib.contextmanager
def serving(emulator: Emulator, port: int, host: str, log: Callable[[str], None] | None) -> Iterator[str]:
    """Serve ``emulator`` on ``host:port`` until the block ends; yields the base URL."""
    server = _Server((host, port), _handler_for(emulator, log))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: the listen backlog: connections the kernel holds until a thread accepts them
    #: (socketserver's default of 5 drops the rest of a burst of clients)
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (or is killed) mid-exchange is normal here, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def log_line(moment: datetime, method: str, path: str, status: int | None, milliseconds: float) -> str:
    """One line of ``--log``: when (UTC), method, path, status (or ``dropped``), time taken."""
    when = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{when} {method} {path} {status or 'dropped'} {milliseconds:.1f}ms"


def _handler_for(emulator: Emulator, log: Callable[[str], None] | None) -> type[BaseHTTPRequestHandler]:
    log_lock = threading.Lock()

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"spacekit-emulator-{emulator.provider}"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in one write, and without Nagle's delay.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with emulator.lock:
                emulator.connections += 1

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def _serve(self) -> None:
            started, moment = time.perf_counter(), datetime.now(UTC)
            status = self._exchange()
            with emulator.lock:
                emulator.served += 1
            if log is not None:
                path = self.path.partition("?")[0]
                shown = emulator.shown_path(path)
                line = log_line(moment, self.command, shown, status, (time.perf_counter() - started) * 1000)
                with log_lock:
                    log(line)

        def _exchange(self) -> int | None:
            """Read a request and answer it; the status, or None for a dropped connection."""
            length = self.headers.get("Content-Length") or "0"
            if not length.isdigit() or not self.path.startswith("/"):
                return self._refuse(400, "a malformed request (its target or its Content-Length)")
            if int(length) > MAX_BODY:
                return self._refuse(413, f"a request body over {MAX_BODY} bytes")
            body = self.rfile.read(int(length)) if int(length) else b""
            address: Any = self.server.server_address
            try:
                request = httpx.Request(
                    self.command,
                    f"http://{address[0]!s}:{address[1]}{self.path}",
                    headers=[(k, v) for k, v in self.headers.items()],
                    content=body,
                )
            except (httpx.InvalidURL, ValueError, UnicodeError):
                return self._refuse(400, "a malformed request target")
            delay = emulator.delay(self.path)
            if delay:
                time.sleep(delay)
            try:
                response = emulator.dispatch(request)
            except Dropped:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return None
            return self._answer(response)

        def _refuse(self, status: int, message: str) -> int:
            self.close_connection = True
            response = json_response(status, {"error": message})
            return self._answer(response)

        def _answer(self, response: httpx.Response) -> int:
            lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
            skip = {"content-length", "transfer-encoding", "connection"}
            lines += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in skip]
            lines.append(f"Content-Length: {len(response.content)}")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head + response.content)
            return response.status_code

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return _Handler
