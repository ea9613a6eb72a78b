"""The emulator kit: both modes share one implementation, faults, the log, the clock."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from toy import TOKEN, ToyEmulator, plugin

import spacekit

AUTH = {"Authorization": f"Token {TOKEN}"}


@pytest.fixture
def emulator() -> ToyEmulator:
    emulator = ToyEmulator()
    emulator.spaces[1] = {"id": 1, "name": "one"}
    emulator.next_id = 2
    return emulator


@pytest.fixture(params=["in-process", "loopback"])
def client(request: pytest.FixtureRequest, emulator: ToyEmulator):  # type: ignore[no-untyped-def]
    if request.param == "in-process":
        with httpx.Client(transport=emulator.transport, base_url="http://localhost", headers=AUTH) as c:
            yield c
    else:
        with emulator.serve() as url, httpx.Client(base_url=url, headers=AUTH) as c:
            yield c


def test_both_modes_answer_and_log_the_raw_request(emulator: ToyEmulator, client: httpx.Client) -> None:
    assert client.get("/spaces/1/").json() == {"id": 1, "name": "one"}
    assert client.post("/spaces/", json={"name": "two"}).status_code == 201
    first, second = emulator.requests
    assert (first.method, first.path, second.json()) == ("GET", "/spaces/1/", {"name": "two"})
    assert second.headers["authorization"] == f"Token {TOKEN}"


def test_a_wrong_method_is_405(client: httpx.Client) -> None:
    response = client.put("/spaces/", json={})
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"


def test_faults_match_by_method_and_path_and_run_out(emulator: ToyEmulator, client: httpx.Client) -> None:
    emulator.faults.fail(503, times=2, method="GET", path=r"^/spaces/\d+/$")
    assert client.get("/spaces/").status_code == 200
    assert [client.get("/spaces/1/").status_code for _ in range(3)] == [503, 503, 200]


def test_a_drop_closes_the_connection(emulator: ToyEmulator, client: httpx.Client) -> None:
    emulator.faults.drop(1, after_commit=True, method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/spaces/", json={"name": "two"})
    assert [s["name"] for s in emulator.spaces.values()] == ["one", "two"]
    assert client.get("/spaces/2/").status_code == 200


def test_a_status_after_commit_applies_the_write(emulator: ToyEmulator, client: httpx.Client) -> None:
    emulator.faults.fail(500, method="POST", after_commit=True)
    assert client.post("/spaces/", json={"name": "two"}).status_code == 500
    assert [s["name"] for s in emulator.spaces.values()] == ["one", "two"]


def test_the_rate_limit_answers_429_with_retry_after(emulator: ToyEmulator, client: httpx.Client) -> None:
    emulator.faults.rate_limit = 3
    statuses = [client.get("/spaces/1/") for _ in range(6)]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(limited) >= 2
    assert all(1 <= int(r.headers["retry-after"]) <= 1 for r in limited)


def test_latency_is_added_to_each_request(emulator: ToyEmulator, client: httpx.Client) -> None:
    emulator.faults.latency = 0.05
    started = time.perf_counter()
    client.get("/spaces/1/")
    assert time.perf_counter() - started >= 0.05


def test_an_emulator_bug_answers_500(emulator: ToyEmulator, client: httpx.Client) -> None:
    response = client.get("/spaces/1/", headers={"Authorization": "Token x"})
    assert response.status_code == 401
    emulator.spaces[1] = "corrupted state"  # type: ignore[assignment]
    response = client.patch("/spaces/1/", json={"name": "x"})
    assert response.status_code == 500 and "emulator error: AttributeError" in response.text


def test_the_clock_moves_only_when_told() -> None:
    emulator = ToyEmulator()
    before = emulator.clock.now()
    emulator.clock.advance(3600)
    assert 3599 < (emulator.clock.now() - before).total_seconds() < 3602


def test_a_served_emulator_is_safe_under_concurrent_writers(emulator: ToyEmulator) -> None:
    with emulator.serve() as url, plugin.open({"token": TOKEN, "base_url": url}) as store:
        threads = [threading.Thread(target=lambda: [store.create("w") for _ in range(10)]) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ids = [s["id"] for s in emulator.spaces.values()]
    assert len(ids) == 81 and len(set(ids)) == 81


def test_serve_releases_its_port(emulator: ToyEmulator) -> None:
    with emulator.serve() as url:
        pass
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/spaces/", headers=AUTH)


def test_store_errors_from_a_served_drop_are_spacekit_errors(emulator: ToyEmulator) -> None:
    with emulator.serve() as url, plugin.open({"token": TOKEN, "base_url": url, "retries": 0}) as store:
        emulator.faults.drop(1, method="POST")
        with pytest.raises(spacekit.ProviderUnavailable) as info:
            store.create("two")
    assert info.value.maybe_applied
