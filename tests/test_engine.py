"""The HTTP engine, through the toy provider: retries, errors, redaction, security."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import time
import traceback

import pytest
from toy import TOKEN, ToyEmulator, plugin

import spacekit


@pytest.fixture
def emulator() -> ToyEmulator:
    emulator = ToyEmulator()
    emulator.spaces[1] = {"id": 1, "name": "one"}
    emulator.next_id = 2
    return emulator


@pytest.fixture
def store(emulator: ToyEmulator) -> spacekit.SpaceStore:
    return emulator.open(backoff=0.001, retries=4)  # type: ignore[no-any-return]


def test_get_is_retried_through_a_5xx_storm(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    emulator.faults.fail(503, times=3)
    assert store.get("1").name == "one"
    assert len(emulator.requests) == 4


def test_retries_stop_after_the_configured_number(emulator: ToyEmulator) -> None:
    store = emulator.open(backoff=0.001, retries=2)
    emulator.faults.fail(502, times=10)
    with pytest.raises(spacekit.ProviderUnavailable) as info:
        store.get("1")
    assert info.value.status == 502 and info.value.provider == "toy"
    assert len(emulator.requests) == 3


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_writes_are_not_retried_on_5xx(
    emulator: ToyEmulator, store: spacekit.SpaceStore, method: str
) -> None:
    emulator.faults.fail(503, times=1, method=method)
    with pytest.raises(spacekit.ProviderUnavailable):
        if method == "POST":
            store.create("two")
        else:
            store.update("1", name="uno")
    assert len(emulator.requests) == 1
    assert emulator.spaces[1]["name"] == "one"


def test_a_429_is_retried_even_for_post_and_honours_retry_after(
    emulator: ToyEmulator, store: spacekit.SpaceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="spacekit")
    emulator.faults.throttle(1, retry_after="0.2", method="POST")
    assert store.create("two").name == "two"
    assert len(emulator.requests) == 2
    assert "429, retry 1 in 0.20s" in caplog.text


def test_retry_after_as_an_http_date(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    when = email.utils.formatdate(time.time() + 1, usegmt=True)
    emulator.faults.throttle(1, retry_after=when)
    assert store.get("1").name == "one"
    assert len(emulator.requests) == 2


def test_a_wait_longer_than_the_deadline_fails_at_once(emulator: ToyEmulator) -> None:
    store = emulator.open(deadline=5.0)
    emulator.faults.throttle(1, retry_after=3600)
    with pytest.raises(spacekit.RateLimited) as info:
        store.get("1")
    assert info.value.retry_after == 3600
    assert len(emulator.requests) == 1
    # nor does the store make its next call wait an hour
    assert store._engine.policy.limiter.reserve() < 1  # type: ignore[attr-defined]


def test_a_dropped_connection_is_retried_for_get(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    emulator.faults.drop(2, method="GET")
    assert store.get("1").name == "one"
    assert len(emulator.requests) == 3


def test_a_write_dropped_after_commit_reports_its_unknown_outcome(
    emulator: ToyEmulator, store: spacekit.SpaceStore
) -> None:
    emulator.faults.drop(1, after_commit=True, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable) as info:
        store.create("two")
    assert info.value.maybe_applied is True
    assert len(emulator.requests) == 1
    assert [s["name"] for s in emulator.spaces.values()] == ["one", "two"]


@pytest.mark.parametrize("truncate", [False, True])
def test_unreadable_bodies_are_protocol_errors(
    emulator: ToyEmulator, store: spacekit.SpaceStore, truncate: bool
) -> None:
    emulator.faults.malformed(1, truncate=truncate)
    with pytest.raises(spacekit.ProtocolError) as info:
        store.get("1")
    assert info.value.status == 200


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, spacekit.ValidationError),
        (401, spacekit.AuthenticationError),
        (403, spacekit.PermissionDenied),
        (404, spacekit.NotFound),
        (409, spacekit.Conflict),
        (418, spacekit.ProviderError),
        (500, spacekit.ProviderUnavailable),
    ],
)
def test_statuses_map_to_the_error_tree(
    emulator: ToyEmulator, store: spacekit.SpaceStore, status: int, error: type[Exception]
) -> None:
    emulator.faults.fail(status, times=10, body='{"message": "nope"}', headers={"X-Request-Id": "req-7"})
    with pytest.raises(error) as info:
        store.get("1")
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.provider == "toy"  # type: ignore[attr-defined]
    assert "nope" in (info.value.body or "")  # type: ignore[attr-defined]


def test_validation_errors_are_value_errors_and_not_found_is_a_lookup_error() -> None:
    assert issubclass(spacekit.ValidationError, ValueError)
    assert issubclass(spacekit.NotFound, LookupError)


def test_redirects_are_not_followed(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    emulator.faults.fail(302, headers={"Location": "https://elsewhere.example/steal?key=s3cret"})
    with pytest.raises(spacekit.ProtocolError, match="redirect") as info:
        store.get("1")
    assert "to https://elsewhere.example/steal;" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert len(emulator.requests) == 1


def test_redirect_to_another_origin_carries_no_credential(emulator: ToyEmulator) -> None:
    other = ToyEmulator()
    with emulator.serve() as url, other.serve() as elsewhere:
        store = plugin.open({"token": TOKEN, "base_url": url})
        emulator.faults.fail(307, headers={"Location": f"{elsewhere}/spaces/1/"})
        with pytest.raises(spacekit.ProtocolError):
            store.get("1")
        store.close()
    assert other.requests == []


def test_unreachable_provider_is_unavailable_not_an_httpx_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = plugin.open(
        {"token": TOKEN, "base_url": f"http://127.0.0.1:{port}", "retries": 1, "backoff": 0.001}
    )
    with pytest.raises(spacekit.ProviderUnavailable, match="cannot reach"):
        store.get("1")


@pytest.mark.parametrize("space_id", ["1/../../admin", "..", ".", "?x=1", "#frag", "%2F", "1/", "a b"])
def test_ids_never_reach_another_endpoint(
    emulator: ToyEmulator, store: spacekit.SpaceStore, space_id: str
) -> None:
    with pytest.raises(spacekit.NotFound):
        store.get(space_id)
    (logged,) = emulator.requests
    segment = logged.path.removeprefix("/spaces/").removesuffix("/")
    assert logged.path == f"/spaces/{segment}/" and "/" not in segment and segment not in (".", "..")
    assert logged.query == ""


def test_secrets_are_redacted_from_errors_logs_and_reprs(
    emulator: ToyEmulator, store: spacekit.SpaceStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.faults.fail(400, body=f'{{"message": "bad token Token {TOKEN}"}}')
    with pytest.raises(spacekit.ValidationError) as info:
        store.get("1")
    shown = [str(info.value), repr(info.value), info.value.body or "", repr(store), caplog.text]
    shown.append("".join(traceback.format_exception(info.value)))
    assert all(TOKEN not in text for text in shown)
    assert "***" in str(info.value)


def test_plain_http_is_refused_for_remote_hosts() -> None:
    with pytest.raises(spacekit.ConfigError, match="plain http"):
        plugin.open({"token": TOKEN, "base_url": "http://api.example.com"})
    plugin.open({"token": TOKEN, "base_url": "http://api.example.com", "allow_insecure_http": True}).close()
    plugin.open({"token": TOKEN, "base_url": "http://127.0.0.1:9"}).close()


@pytest.mark.parametrize("url", ["ftp://x.example", "https://user:pw@x.example", "not a url", ""])
def test_bad_base_urls_are_config_errors(url: str) -> None:
    with pytest.raises(spacekit.ConfigError) as info:
        plugin.open({"token": TOKEN, "base_url": url})
    assert "pw" not in str(info.value) or "user:pw" not in str(info.value).split("got")[0]


def test_unsupported_is_raised_before_any_request(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    with pytest.raises(spacekit.Unsupported):
        store.create_token("1")
    assert emulator.requests == []


def test_bad_input_is_refused_before_any_request(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    for name in ["", "   ", "x" * 256, "tab\there", "nul\x00"]:
        with pytest.raises(spacekit.ValidationError):
            store.create(name)
    with pytest.raises(spacekit.ValidationError):
        store.list(colour="red")
    assert emulator.requests == []


def test_listing_reads_every_page_lazily(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    for n in range(2, 8):
        emulator.spaces[n] = {"id": n, "name": f"s{n}"}
    iterator = store.list()
    assert emulator.requests == []
    assert next(iterator).name == "one"
    assert len(emulator.requests) == 1
    assert [s.id for s in iterator] == [str(n) for n in range(2, 8)]
    assert len(emulator.requests) == 4


def test_one_connection_is_reused_on_loopback(emulator: ToyEmulator) -> None:
    with emulator.serve() as url, plugin.open({"token": TOKEN, "base_url": url}) as store:
        for _ in range(5):
            store.get("1")
    assert len(emulator.requests) == 5
    assert emulator.connections == 1


def test_user_agent_names_spacekit(emulator: ToyEmulator, store: spacekit.SpaceStore) -> None:
    store.get("1")
    assert emulator.requests[0].headers["user-agent"] == f"spacekit/{spacekit.__version__}"


async def test_async_parity(emulator: ToyEmulator) -> None:
    async with emulator.open_async(backoff=0.001) as store:
        emulator.faults.fail(503, times=2)
        assert (await store.get("1")).name == "one"
        created = await store.create("two")
        assert [s.name async for s in store.list()] == ["one", "two"]
        emulator.faults.drop(1, after_commit=True, method="PATCH")
        with pytest.raises(spacekit.ProviderUnavailable) as info:
            await store.update(created.id, name="deux")
        assert info.value.maybe_applied
        await store.delete(created.id)
        with pytest.raises(spacekit.NotFound):
            await store.get(created.id)


def test_a_request_marked_retry_safe_may_be_repeated_whatever_its_method() -> None:
    from spacekit.plugin import Request

    assert Request("POST", "/x", retry_safe=True).idempotent
    assert not Request("POST", "/x").idempotent
    assert not Request("GET", "/x", retry_safe=False).idempotent


def test_a_closed_store_refuses_every_call_before_any_request(emulator: ToyEmulator) -> None:
    store = emulator.open()
    assert store.get("1").name == "one"
    store.close()
    sent = len(emulator.requests)
    for call in (lambda: store.get("1"), lambda: list(store.list()), lambda: store.create("two")):
        with pytest.raises(spacekit.ProviderError, match="toy store is closed"):
            call()
    assert len(emulator.requests) == sent


def test_a_closed_async_store_refuses_every_call_before_any_request(emulator: ToyEmulator) -> None:
    async def run() -> None:
        store = emulator.open_async()
        assert (await store.get("1")).name == "one"
        await store.aclose()
        sent = len(emulator.requests)
        with pytest.raises(spacekit.ProviderError, match="toy store is closed"):
            await store.get("1")
        with pytest.raises(spacekit.ProviderError, match="toy store is closed"):
            [space async for space in store.list()]
        assert len(emulator.requests) == sent

    asyncio.run(run())
