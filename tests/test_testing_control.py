"""The control API (``spacekit/testing/_control.py``), in-process: what it checks and
what it leaves alone. Over loopback, from a child ``spacekit emulate``, it is driven
in ``test_emulate_served.py``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from toy import ToyEmulator

from spacekit.testing import Emulator, emulator_for


@pytest.fixture
def emulator() -> Emulator:
    return emulator_for("neuroio")


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.transport, base_url="http://localhost") as client:
        yield client


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "must be a JSON object"),
        (b"[503]", "must be a JSON object"),
        (b"{}", "status is required"),
        (b'{"status": "503"}', "status must be a whole number from 200 to 599"),
        (b'{"status": 99}', "status must be a whole number from 200 to 599"),
        (b'{"status": 600}', "status must be a whole number from 200 to 599"),
        (b'{"status": true}', "status must be a whole number"),
        (b'{"status": 503, "times": 0}', "times must be a whole number from 1"),
        (b'{"status": 503, "times": 2.5}', "times must be a whole number"),
        (b'{"status": 503, "method": "FETCH"}', "method must be one of"),
        (b'{"status": 503, "method": 3}', "method must be one of"),
        (b'{"status": 503, "path": "(unclosed"}', "path is not a valid regular expression"),
        (b'{"status": 503, "path": 7}', "path must be a regular expression"),
        (b'{"status": 503, "retry_after": -1}', "retry_after must be a whole number"),
        (b'{"status": 503, "colour": "red"}', "unknown key(s) colour"),
        (b"[" * 60_000, "must be a JSON object"),
        (b" " * 70_000, "the body is over"),
    ],
)
def test_a_bad_fault_is_400_and_arms_nothing(
    emulator: Emulator, control: httpx.Client, body: bytes, message: str
) -> None:
    response = control.post("/_spacekit/faults", content=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert emulator.faults.armed() == []


def test_a_fault_is_armed_with_defaults_and_listed(emulator: Emulator, control: httpx.Client) -> None:
    answer = control.post("/_spacekit/faults", json={"status": 429, "method": "get"})
    assert answer.status_code == 201
    assert answer.json() == {"status": 429, "times": 1, "method": "GET", "path": None, "retry_after": 1}
    assert control.get("/_spacekit/faults").json() == [
        {"kind": "status", "status": 429, "times": 1, "method": "GET", "path": None}
    ]
    token = {"Authorization": f"Token {emulator.connect_settings('')['token']}"}
    limited = control.get("/v1/spaces/", headers=token)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.json()["error_codes"] == [1029]  # NeuroIO's envelope
    assert control.get("/v1/spaces/", headers=token).status_code == 200


def test_the_control_api_is_never_logged_slowed_or_faulted(emulator: Emulator, control: httpx.Client) -> None:
    emulator.faults.fail(503, times=100)
    emulator.faults.fail_randomly(1.0, 502)
    emulator.faults.rate_limit = 1
    emulator.faults.latency = 600  # a control request waiting for it would hang the test
    for _ in range(3):
        assert control.get("/_spacekit/requests").json() == []
        assert control.get("/_spacekit/spaces").status_code == 200
    assert emulator.requests == []


def test_unknown_endpoints_and_methods(control: httpx.Client) -> None:
    missing = control.get("/_spacekit/nothing")
    assert missing.status_code == 404 and "POST /_spacekit/reset" in missing.json()["error"]
    wrong = control.delete("/_spacekit/reset")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"


def test_reset_returns_to_the_start_and_empties_the_log_and_armed_faults(
    emulator: Emulator, control: httpx.Client
) -> None:
    token = {"Authorization": f"Token {emulator.connect_settings('')['token']}"}
    assert control.post("/v1/spaces/", json={"name": "later"}, headers=token).status_code == 201
    emulator.faults.fail(503, times=5, path="^/nothing$")
    emulator.faults.latency = 0.001
    assert control.post("/_spacekit/reset").json() == {"reset": True}
    assert [s["name"] for s in control.get("/_spacekit/spaces").json()["spaces"]] == ["default"]
    assert emulator.requests == [] and emulator.faults.armed() == []
    assert emulator.faults.latency == 0.001  # a standing setting, as a flag set it, stays
    created = control.post("/v1/spaces/", json={"name": "again"}, headers=token).json()
    assert created["id"] == 2  # ids start over too


def test_an_emulator_without_state_hooks_answers_501() -> None:
    toy = ToyEmulator()
    with httpx.Client(transport=toy.transport, base_url="http://localhost") as client:
        assert client.post("/_spacekit/reset").status_code == 501
        assert client.get("/_spacekit/spaces").status_code == 501
        assert client.get("/_spacekit/requests").json() == []
