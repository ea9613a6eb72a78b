"""A served emulator takes the load users put on it: 200 clients at once, none dropped.

The emulator is served by a child process (as ``spacekit emulate`` would be), so that
the 200 clients here connect truly at once; with socketserver's default listen
backlog of 5, about a third of them were never accepted in time.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from toy import TOKEN, ToyEmulator

CLIENTS = 200

SERVE = """
import sys
sys.path.insert(0, sys.argv[1])
from toy import ToyEmulator
emulator = ToyEmulator()
emulator.spaces[1] = {"id": 1, "name": "one"}
with emulator.serve() as url:
    print(url, flush=True)
    sys.stdin.read()
print(emulator.connections, flush=True)
"""


def _exchange(host: str, port: int, barrier: threading.Barrier, answers: list[bytes | str]) -> None:
    try:
        barrier.wait()  # all at once
        with socket.create_connection((host, port), timeout=2) as sock:
            request = f"GET /spaces/1/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {TOKEN}\r\n\r\n"
            sock.sendall(request.encode())
            answer = b""
            while not answer.endswith(b"}"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            answers.append(answer)
    except OSError as exc:
        answers.append(repr(exc))


def test_200_clients_at_once_are_all_answered() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(Path(__file__).parent)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        host, port = child.stdout.readline().strip().removeprefix("http://").split(":")
        answers: list[bytes | str] = []
        barrier = threading.Barrier(CLIENTS, timeout=30)
        clients = [
            threading.Thread(target=_exchange, args=(host, int(port), barrier, answers))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=60)
    finally:
        child.stdin.close()
        connections = child.stdout.readline().strip()
        child.wait(timeout=30)
    dropped = [a for a in answers if not (isinstance(a, bytes) and a.startswith(b"HTTP/1.1 200"))]
    assert len(answers) == CLIENTS and dropped == []
    assert connections == str(CLIENTS)


@pytest.mark.memory_ceiling
@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /spaces/1/ HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
        (b"GET /spaces/1/ HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
        (b"POST /spaces/ HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 413),
        (b"GET * HTTP/1.1\r\n\r\n", 400),
        (b"GET /x?\x01 HTTP/1.1\r\n\r\n", 400),
        (b"GET /x\x1b[31mred HTTP/1.1\r\n\r\n", 400),
    ],
    ids=["length-not-a-number", "negative-length", "huge-length", "star", "control-in-query", "escape"],
)
def test_a_malformed_request_is_answered_and_logged_without_a_traceback(
    request_bytes: bytes, status: int, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator = ToyEmulator()
    lines: list[str] = []
    with emulator.serve(log=lines.append) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request_bytes)
            answer = sock.recv(200)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert "Traceback" not in capfd.readouterr().err
    assert len(lines) == 1 and lines[0].isprintable() and f" {status} " in lines[0]
