"""The token stays secret, ids stay in their path segment, and credentials stay home."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable

import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit.plugin import quote_id

MALICIOUS_IDS = [
    "1/../../v1/tokens",
    "..",
    ".",
    "?x=1",
    "#frag",
    "%2F",
    "1/tokens/",
    "1?limit=1",
    "../lists/spaces",
]
ONE_SEGMENT = re.compile(r"/v1/spaces/(?P<segment>[^/?#]+)/(tokens/)?")


def _provoke_every_error(store: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> list[BaseException]:
    """Run operations that fail in every way; return what was raised, tracebacks checked."""
    token = emulator.token
    echoing = f'{{"error_codes": [1], "message": "bad token {token}", "fields": []}}'
    provocations: list[tuple[Callable[[], None], Callable[[], object]]] = [
        (lambda: None, lambda: store.get("404")),
        (lambda: None, lambda: store.create(" ")),
        (lambda: None, lambda: store.update("1", name="bad\x00name")),
        (lambda: emulator.faults.fail(400, body=echoing), lambda: store.create("x")),
        (lambda: emulator.faults.fail(401, body=echoing), lambda: store.get("1")),
        (lambda: emulator.faults.fail(500, times=3, body=echoing), lambda: store.get("1")),  # 1 + 2 retries
        (lambda: emulator.faults.fail(200, body=echoing), lambda: store.get("1")),
        (lambda: emulator.faults.drop(method="POST"), lambda: store.create("dropped")),
        # the full list and then the first page (the fallback) both unreadable
        (lambda: emulator.faults.malformed(2, body=echoing.encode()[:30]), lambda: list(store.list())),
        (lambda: emulator.faults.throttle(times=1, retry_after=600), lambda: store.get("1")),
        (lambda: None, lambda: store.get("405")),  # a wait past the deadline does not stall the store
    ]
    errors: list[BaseException] = []
    for arrange, act in provocations:
        arrange()
        try:
            act()
        except spacekit.SpacekitError as exc:
            assert token not in traceback.format_exc()
            errors.append(exc)
        else:
            pytest.fail("the operation should have failed")
    return errors


def test_the_token_never_shows_in_errors_logs_or_tracebacks(
    emulator: NeuroIOEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = emulator.token
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "spacekit", "spacekit.http", "spacekit.neuroio"):
        caplog.set_level(logging.DEBUG, logger=name)
    with emulator.connect(backoff=0.01, retries=2, deadline=5.0) as store:
        assert token not in repr(store)
        space = store.create("logged")
        store.update(space.id, name="renamed")
        issued = store.create_token(space.id, permanent=True)
        assert issued.key not in repr(issued)
        list(store.list(query="ren"))
        store.delete(space.id)
        errors = _provoke_every_error(store, emulator)
    assert [type(e) for e in errors] == [
        spacekit.NotFound,
        spacekit.ValidationError,
        spacekit.ValidationError,
        spacekit.ValidationError,
        spacekit.AuthenticationError,
        spacekit.ProviderUnavailable,
        spacekit.ProtocolError,
        spacekit.ProviderUnavailable,
        spacekit.ProtocolError,
        spacekit.RateLimited,
        spacekit.NotFound,
    ]
    for error in errors:
        for text in (str(error), repr(error), str(getattr(error, "body", "")), str(error.args)):
            assert token not in text
    assert caplog.records, "the DEBUG logs should have recorded the exchanges"
    assert any(r.name == "spacekit.http" for r in caplog.records)
    assert token not in caplog.text
    assert issued.key not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


async def test_the_async_store_redacts_too(emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(500, times=9, body=f'{{"message": "echo {emulator.token}"}}')
    async with emulator.connect_async(backoff=0.01, retries=1) as store:
        assert emulator.token not in repr(store)
        with pytest.raises(spacekit.ProviderUnavailable) as caught:
            await store.get("1")
    assert emulator.token not in str(caught.value) and emulator.token not in str(caught.value.body)


def test_the_token_is_not_in_a_config_error() -> None:
    secret = "s3cret-token-value"
    with pytest.raises(spacekit.ConfigError) as caught:
        spacekit.connect("neuroio", token=secret, base_url="http://iam.example.com")
    assert secret not in str(caught.value)
    assert secret not in traceback.format_exception(caught.value)[-1]


@pytest.mark.parametrize("space_id", MALICIOUS_IDS)
def test_malicious_ids_stay_in_one_path_segment(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator, space_id: str
) -> None:
    for operation in (
        lambda: nio.get(space_id),
        lambda: nio.update(space_id, name="hijacked"),
        lambda: nio.delete(space_id),
        lambda: nio.create_token(space_id, permanent=True),
    ):
        with pytest.raises(spacekit.NotFound):
            operation()
    assert len(emulator.requests) == 4
    for request in emulator.requests:
        match = ONE_SEGMENT.fullmatch(request.path)
        assert match is not None, request.path
        assert match.group("segment") == quote_id(space_id)
        assert request.query == ""
    assert emulator.spaces == {1: {"id": 1, "name": "default"}} and emulator.tokens == {}


@pytest.mark.parametrize("space_id", ["1/../../v1/tokens", "..", "?x=1", "#frag", "%2F"])
def test_malicious_ids_stay_in_one_segment_over_tcp(emulator: NeuroIOEmulator, space_id: str) -> None:
    with (
        emulator.serve() as base_url,
        spacekit.connect("neuroio", **emulator.connect_settings(base_url)) as store,
    ):
        with pytest.raises(spacekit.NotFound):
            store.get(space_id)
        with pytest.raises(spacekit.NotFound):
            store.create_token(space_id)
    assert [r.path for r in emulator.requests] == [
        f"/v1/spaces/{quote_id(space_id)}/",
        f"/v1/spaces/{quote_id(space_id)}/tokens/",
    ]


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(spacekit.ConfigError, match="allow_insecure_http"):
        spacekit.connect("neuroio", token="t0ken-value", base_url="http://iam.neuroio.com")
    with spacekit.connect(
        "neuroio", token="t0ken-value", base_url="http://iam.neuroio.com", allow_insecure_http=True
    ) as store:
        assert store.location == "http://iam.neuroio.com"
    with spacekit.connect("neuroio", token="t0ken-value", base_url="http://127.0.0.1:9") as store:
        assert store.location == "http://127.0.0.1:9"


@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (301, "GET"), (307, "POST"), (308, "PATCH")])
def test_a_redirect_to_another_origin_carries_no_credentials(status: int, method: str) -> None:
    home, elsewhere = NeuroIOEmulator(), NeuroIOEmulator(token="another-emulators-token")
    with home.serve() as base_url, elsewhere.serve() as other_url:
        home.faults.fail(status, headers={"Location": f"{other_url}/v1/spaces/1/"}, method=method)
        store = spacekit.connect("neuroio", **home.connect_settings(base_url))
        with store, pytest.raises(spacekit.ProtocolError, match="redirect"):
            {
                "GET": lambda: store.get("1"),
                "POST": lambda: store.create("x"),
                "PATCH": lambda: store.update("1", name="x"),
            }[method]()
    assert elsewhere.requests == []
    assert len(home.requests) == 1
