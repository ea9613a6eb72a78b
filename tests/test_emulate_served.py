"""``spacekit emulate`` as a tool of its own: each flag and the control API, for every
provider, driven over loopback by a client that is not spacekit (``http.client``),
as a user's own program or CI job in another language would drive it.

Each test starts the command in a child process and stops it with Ctrl-C (SIGINT):
it must exit 0 and say how many requests it served. No assertion is timed.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from spacekit.testing import Faults, LoggedRequest

TOKEN = "served-secret-token-4f1c9a77e2"
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (GET|POST|PUT|PATCH|DELETE) (\S+) (\d{3}|dropped) \d+\.\dms$"
)
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


class Served:
    """A ``spacekit emulate`` child process, its start-up block read."""

    def __init__(self, *args: str, background: bool = False) -> None:
        """``background``: started as ``spacekit emulate ... &`` in a script, which
        ignores SIGINT; the command must stop on it all the same."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spacekit", "emulate", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ignore_sigint if background else None,
        )
        assert self.process.stderr is not None and self.process.stdout is not None
        self.head = ""
        for line in self.process.stderr:
            self.head += line
            if "config file (" in line:
                break
        else:
            self.process.wait(timeout=30)
            raise AssertionError(f"the emulator did not start: {self.head}")
        self.block = ""
        while not self.block.endswith("\n\n"):
            self.block += self.process.stdout.readline()
        found = re.search(r"emulator at (http://\S+);", self.head)
        assert found is not None, self.head
        self.url = found.group(1)
        parts = urlsplit(self.url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, Any]:
        """One request: its status, headers and body (parsed if JSON)."""
        content = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        self.connection.request(method, path, body=content, headers=headers or {})
        response = self.connection.getresponse()
        data = response.read()
        try:
            return response.status, response.headers, json.loads(data) if data else None
        except ValueError:
            return response.status, response.headers, data

    def names(self) -> list[str]:
        status, _, state = self.call("GET", "/_spacekit/spaces")
        assert status == 200
        return [space.get("name", space.get("repo_owner")) for space in state["spaces"]]

    def stop(self, number: int = signal.SIGINT) -> str:
        """Ctrl-C (or another signal); the rest of its stderr. It must exit 0."""
        self.connection.close()
        self.process.send_signal(number)
        _, rest = self.process.communicate(timeout=30)
        assert self.process.returncode == 0, rest
        return rest

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class Provider:
    name: str
    own: list[str]  # the spaces an emulator starts with
    list_path: str
    create_path: str
    create_body: dict[str, Any]
    error_key: str  # the key of the provider's error envelope
    headers: Callable[[Served], dict[str, str]]

    def create(self, served: Served, name: str) -> int:
        path = self.create_path.replace("NAME", name)
        body = {k: (name if v == "NAME" else v) for k, v in self.create_body.items()}
        status, _, answer = served.call("POST", path, body, self.headers(served))
        assert status in (200, 201) and (answer or {}).get("status") != "ERROR", answer
        return status


def _datablist_headers(served: Served) -> dict[str, str]:
    status, _, answer = served.call("POST", "/token", {"apiKey": TOKEN}, JSON)
    assert status == 200
    return {**JSON, "Authorization": f"Bearer {answer['access_token']}"}


PROVIDERS = [
    Provider(
        "neuroio",
        ["default"],
        "/v1/spaces/",
        "/v1/spaces/",
        {"name": "NAME"},
        "error_codes",
        lambda served: {"Authorization": f"Token {TOKEN}", **JSON},
    ),
    Provider(
        "instabase",
        ["alice", "ib_eng"],
        "/api/v1/spaces/list",
        "/api/v1/organizations/NAME",
        {"display_name": "NAME", "description": ""},
        "msg",
        lambda served: {"Authorization": f"Bearer {TOKEN}", **JSON},
    ),
    Provider("datablist", [], "/", "/", {"name": "NAME", "@type": "Workspace"}, "code", _datablist_headers),
]
SEEDS = ["seed_0001", "seed_0002"]


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    return request.param  # type: ignore[no-any-return]


def test_the_control_api_and_the_flags_drive_a_served_emulator(provider: Provider, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    args = ["--token", TOKEN, "--seed-spaces", "2", "--log", "--latency", "5", "--state", str(state)]
    served = Served(provider.name, *args)
    try:
        assert "Control API (no credential needed):" in served.head
        for path in ("reset", "requests", "faults", "spaces"):
            assert f"{served.url}/_spacekit/{path}" in served.head
        assert "latency: 5 ms" in served.head and "seeded: 2 space(s)" in served.head
        assert served.names() == provider.own + SEEDS
        headers = provider.headers(served)

        # an armed fault: the next two matching requests, in the provider's own error format
        fault = {"status": 503, "times": 2, "method": "GET", "path": f"^{re.escape(provider.list_path)}$"}
        assert served.call("POST", "/_spacekit/faults", fault)[0] == 201
        answers = [served.call("GET", provider.list_path, None, headers) for _ in range(3)]
        assert [status for status, _, _ in answers] == [503, 503, 200]
        assert provider.error_key in answers[0][2]

        provider.create(served, "made_here")
        assert served.names() == provider.own + SEEDS + ["made_here"]

        served.call("GET", f"/v1/{TOKEN}/?token={TOKEN}", None, headers)  # a credential in a path and a query
        status, _, logged = served.call("GET", "/_spacekit/requests")
        assert status == 200 and TOKEN not in json.dumps(logged)
        listed = [e["status"] for e in logged if (e["method"], e["path"]) == ("GET", provider.list_path)]
        assert listed == [503, 503, 200]
        assert {"method": "GET", "path": "/v1/***/", "status": 404} in logged

        status, _, body = served.call("POST", "/_spacekit/reset")
        assert (status, body) == (200, {"reset": True})
        assert served.names() == provider.own + SEEDS
        assert served.call("GET", "/_spacekit/requests")[2] == []
        provider.create(served, "kept_across")
        rest = served.stop()
    finally:
        served.kill()

    saved = json.loads(state.read_text())
    assert saved["provider"] == provider.name
    assert [s.get("name", s.get("repo_owner")) for s in saved["state"]["spaces"]] == [
        *provider.own,
        *SEEDS,
        "kept_across",
    ]
    lines = rest.splitlines()
    assert lines[-1].startswith("stopped: ") and lines[-1].endswith(" requests served")
    log = lines[:-1]
    assert log and all(LOG_LINE.match(line) for line in log), log
    assert any(f"GET {provider.list_path} 503 " in line for line in log)
    assert any(" POST /_spacekit/reset 200 " in line for line in log)
    provider_lines = [line for line in log if " /_spacekit/" not in line]
    assert provider_lines and all(float(line.split()[-1].removesuffix("ms")) >= 5 for line in provider_lines)
    assert TOKEN not in rest  # the log; the start-up block shows it once, in the export line
    assert [line for line in served.head.splitlines() if TOKEN in line] == [
        line for line in served.head.splitlines() if line.startswith("  export ")
    ]

    # a restart keeps the state; random failures answer the same requests for the same seed
    again = Served(
        provider.name, "--state", str(state), "--fail", "0.5", "--seed", "7", "--fail-status", "502"
    )
    try:
        assert "state: read from" in again.head and "random failures: 50%" in again.head
        assert again.names() == provider.own + SEEDS + ["kept_across"]
        answers = [again.call("GET", provider.list_path, None, JSON) for _ in range(16)]
        assert again.stop(signal.SIGTERM).endswith(" requests served\n")  # as a CI runner stops it
    finally:
        again.kill()
    faults = Faults()
    faults.fail_randomly(0.5, 502, seed=7)
    request = LoggedRequest("GET", provider.list_path, "", None, b"")  # type: ignore[arg-type]
    expected = [faults.take(request) is not None for _ in answers]
    assert [status == 502 for status, _, _ in answers] == expected
    assert any(expected) and not all(expected)
    assert all(provider.error_key in body for status, _, body in answers if status == 502)


def test_the_rate_limit_answers_429_with_retry_after_as_the_provider_would(provider: Provider) -> None:
    served = Served(provider.name, "--rate-limit", "1", background=True)
    try:
        assert "rate limit: 1 request(s) a second" in served.head
        answers = [served.call("GET", provider.list_path, None, JSON) for _ in range(8)]
        assert served.call("GET", "/_spacekit/spaces")[0] == 200  # the control API is never limited
        served.stop()
    finally:
        served.kill()
    assert answers[0][0] != 429
    limited = [(headers, body) for status, headers, body in answers if status == 429]
    assert limited
    assert all(int(headers["Retry-After"]) >= 1 and provider.error_key in body for headers, body in limited)
