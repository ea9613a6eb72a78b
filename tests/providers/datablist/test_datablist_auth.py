"""Authentication: the token exchange, renewal before expiry and after a 401, and one
exchange for many concurrent callers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from spacekit_datablist import _auth
from spacekit_datablist._emulator import API_KEY, DatablistEmulator

import spacekit
from spacekit.testing import LoggedRequest


def calls(emulator: DatablistEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emulator.requests]


def bearer(request: LoggedRequest) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


def test_the_key_is_exchanged_once_and_the_token_sent(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("one")
    store.get(item["@id"])
    list(store.list())
    token_request, *data_requests = emulator.requests
    assert (token_request.method, token_request.path) == ("POST", "/token")
    assert token_request.json() == {"apiKey": API_KEY}
    assert "Authorization" not in token_request.headers
    tokens = {bearer(r) for r in data_requests}
    assert len(tokens) == 1
    assert tokens.pop().count(".") == 2  # a JWT


def test_a_refused_key_is_an_authentication_error_without_the_key(emulator: DatablistEmulator) -> None:
    with (
        emulator.connect(api_key="not-a-known-key-123") as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        store.get("anything")
    message = str(caught.value)
    assert "refused the API key" in message
    assert "not-a-known-key-123" not in message and "not-a-known-key-123" not in (caught.value.body or "")
    assert calls(emulator) == [("POST", "/token")]


async def test_twenty_tasks_share_one_exchange(emulator: DatablistEmulator, astore: Any) -> None:
    item = emulator.add_workspace("shared")
    emulator.faults.latency = 0.02  # every task arrives while the exchange is in flight
    spaces = await asyncio.gather(*(astore.get(item["@id"]) for _ in range(20)))
    assert {space.id for space in spaces} == {item["@id"]}
    assert emulator.token_exchanges() == 1
    assert len(emulator.requests) == 21


def test_twenty_threads_share_one_exchange(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("shared")
    emulator.faults.latency = 0.02
    start = threading.Barrier(20)
    found: list[str] = []

    def work() -> None:
        start.wait()
        found.append(store.get(item["@id"]).id)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [item["@id"]] * 20
    assert emulator.token_exchanges() == 1


def test_expiry_in_the_middle_of_a_run_renews_without_error(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("long run")
    store.get(item["@id"])
    emulator.clock.advance(emulator.token_lifetime + 1)  # the server's clock moves, ours does not
    assert store.get(item["@id"]).name == "long run"
    path = f"/{item['@id']}"
    # the stale token is refused once, a new one is fetched, the read is repeated
    assert calls(emulator) == [
        ("POST", "/token"),
        ("GET", path),
        ("GET", path),
        ("POST", "/token"),
        ("GET", path),
    ]
    assert bearer(emulator.requests[1]) == bearer(emulator.requests[2]) != bearer(emulator.requests[4])


def test_the_token_is_renewed_before_it_expires(
    emulator: DatablistEmulator, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(_auth, "_clock", lambda: now[0])
    item = emulator.add_workspace("renewed")
    store.get(item["@id"])
    almost = emulator.token_lifetime - 30  # inside the renewal margin, before expiry
    now[0] += almost
    emulator.clock.advance(almost)
    store.get(item["@id"])
    # renewed ahead of time: no request was refused and retried
    assert calls(emulator) == [("POST", "/token"), ("GET", f"/{item['@id']}")] * 2


def test_short_lived_tokens_use_a_tenth_of_their_life_as_margin(
    emulator: DatablistEmulator, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    monkeypatch.setattr(_auth, "_clock", lambda: now[0])
    emulator.token_lifetime = 100
    item = emulator.add_workspace("brief")
    store.get(item["@id"])
    now[0] = 89.0
    store.get(item["@id"])
    assert emulator.token_exchanges() == 1
    now[0] = 91.0
    store.get(item["@id"])
    assert emulator.token_exchanges() == 2


def test_a_revoked_token_is_renewed_once(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("revoked")
    store.get(item["@id"])
    emulator.revoke_tokens()
    assert store.get(item["@id"]).id == item["@id"]
    path = f"/{item['@id']}"
    assert calls(emulator) == [
        ("POST", "/token"),
        ("GET", path),
        ("GET", path),
        ("POST", "/token"),
        ("GET", path),
    ]


def test_a_second_401_is_an_authentication_error(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("refused")
    emulator.faults.fail(401, times=2, method="GET", body='{"code": "unauthorized", "message": "no"}')
    with pytest.raises(spacekit.AuthenticationError, match="refused the access token"):
        store.get(item["@id"])
    assert emulator.token_exchanges() == 2  # the first, and one renewal


async def test_concurrent_401s_renew_once(emulator: DatablistEmulator, astore: Any) -> None:
    item = emulator.add_workspace("storm")
    await astore.get(item["@id"])
    emulator.revoke_tokens()
    emulator.faults.latency = 0.02
    await asyncio.gather(*(astore.get(item["@id"]) for _ in range(20)))
    assert emulator.token_exchanges() == 2


def test_an_access_token_alone_works_and_is_never_renewed(emulator: DatablistEmulator) -> None:
    item = emulator.add_workspace("given")
    with emulator.connect() as keyed:
        keyed.get(item["@id"])
    token = bearer(emulator.requests[-1])
    settings = {"access_token": token, "api_key": None}
    with emulator.connect(**settings) as store:
        assert store.get(item["@id"]).name == "given"
        emulator.clock.advance(emulator.token_lifetime + 1)
        with pytest.raises(spacekit.AuthenticationError, match="no api_key is set") as caught:
            store.get(item["@id"])
    assert token not in str(caught.value)
    assert emulator.token_exchanges() == 1  # only the keyed store's


def test_a_bearer_prefix_on_a_given_token_is_tolerated(emulator: DatablistEmulator) -> None:
    with emulator.connect() as keyed:
        list(keyed.list())
    token = bearer(emulator.requests[-1])
    with emulator.connect(access_token=f"Bearer {token}", api_key=None) as store:
        list(store.list())
    assert bearer(emulator.requests[-1]) == token


@pytest.mark.parametrize(
    "credentials",
    [{}, {"api_key": "k" * 20, "access_token": "t" * 20}, {"api_key": ""}],
    ids=["none", "both", "empty"],
)
def test_exactly_one_credential_is_needed(credentials: dict[str, str]) -> None:
    with pytest.raises(spacekit.ConfigError, match="exactly one credential") as caught:
        spacekit.connect("datablist", **credentials)
    assert "k" * 20 not in str(caught.value) and "t" * 20 not in str(caught.value)


def test_plain_http_auth_url_to_a_remote_host_is_refused() -> None:
    with pytest.raises(spacekit.ConfigError, match="auth_url"):
        spacekit.connect("datablist", api_key="k" * 20, auth_url="http://account.example.com")


def test_both_hosts_are_used(emulator: DatablistEmulator) -> None:
    with emulator.connect(
        base_url="https://data.example.test", auth_url="https://account.example.test"
    ) as store:
        list(store.list())
    hosts = [r.headers["Host"] for r in emulator.requests]
    assert hosts == ["account.example.test", "data.example.test"]


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_failed_token_exchange_is_retried(emulator: DatablistEmulator, store: Any, fault: str) -> None:
    if fault == "503":
        emulator.faults.fail(503, times=1, method="POST", path="^/token$")
    else:
        emulator.faults.drop(1, method="POST", path="^/token$")
    item = emulator.add_workspace("one")
    assert store.get(item["@id"]).name == "one"
    assert calls(emulator)[:2] == [("POST", "/token"), ("POST", "/token")]
