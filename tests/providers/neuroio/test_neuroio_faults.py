"""Faults through the engine against the NeuroIO emulator, in-process and on loopback."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterator

import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit.testing import LoggedRequest

RETRIES, DEADLINE = 3, 5.0  # what the ``nio`` fixture's store is given


def _calls(emulator: NeuroIOEmulator, method: str) -> list[LoggedRequest]:
    return [r for r in emulator.requests if r.method == method]


@pytest.fixture
def served(emulator: NeuroIOEmulator) -> Iterator[spacekit.SpaceStore]:
    """A store on the emulator served on loopback, with fast retries."""
    settings = {"backoff": 0.01, "retries": RETRIES, "deadline": DEADLINE}
    with (
        emulator.serve() as base_url,
        spacekit.connect("neuroio", **emulator.connect_settings(base_url), **settings) as store,
    ):
        yield store


# -- statuses --------------------------------------------------------------------------


def test_a_503_storm_on_get_is_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(503, times=3, method="GET")
    assert nio.get("1").name == "default"
    assert len(emulator.requests) == 4


def test_a_503_storm_longer_than_the_retries_is_unavailable(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.fail(503, times=10, method="GET")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        nio.get("1")
    assert caught.value.status == 503
    assert len(emulator.requests) == 1 + RETRIES


def test_a_503_on_post_is_not_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(503, times=3, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable):
        nio.create("once")
    assert len(emulator.requests) == 1
    assert [s["name"] for s in emulator.spaces.values()] == ["default"]


def test_a_503_on_patch_is_not_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(503, times=3, method="PATCH")
    with pytest.raises(spacekit.ProviderUnavailable):
        nio.update("1", name="renamed")
    assert len(emulator.requests) == 1


def test_a_503_on_token_creation_is_not_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(503, times=3, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable):
        nio.create_token("1", permanent=True)
    assert len(emulator.requests) == 1 and emulator.tokens == {}


def test_a_503_on_delete_is_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    space = emulator.add_space("doomed")
    emulator.faults.fail(503, times=2, method="DELETE")
    nio.delete(str(space["id"]))
    assert len(_calls(emulator, "DELETE")) == 3 and space["id"] not in emulator.spaces


# -- 429 and Retry-After ---------------------------------------------------------------


def test_429_with_retry_after_seconds_is_honoured(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.throttle(times=1, retry_after=1, method="GET")
    started = time.monotonic()
    assert nio.get("1").id == "1"
    assert time.monotonic() - started >= 0.9  # waited for the server, not the 0.01 s backoff
    assert len(emulator.requests) == 2


def test_429_with_retry_after_as_an_http_date_is_honoured(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    when = math.ceil(time.time() + 0.5)  # whole seconds: at least half a second away
    emulator.faults.throttle(times=1, retry_after=email.utils.formatdate(when, usegmt=True), method="GET")
    assert nio.get("1").id == "1"
    assert time.time() >= when - 0.05
    assert len(emulator.requests) == 2


def test_429_on_post_is_retried_since_nothing_was_done(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.throttle(times=1, retry_after=1, method="POST")
    assert nio.create("after the wait").name == "after the wait"
    assert len(_calls(emulator, "POST")) == 2 and len(emulator.spaces) == 2


@pytest.mark.parametrize("retry_after", ["30", "date"])
def test_a_retry_after_beyond_the_deadline_is_rate_limited_at_once(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator, retry_after: str
) -> None:
    value = email.utils.formatdate(time.time() + 3600, usegmt=True) if retry_after == "date" else retry_after
    emulator.faults.throttle(times=5, retry_after=value, method="GET")
    with pytest.raises(spacekit.RateLimited) as caught:
        nio.get("1")
    assert caught.value.retry_after is not None and caught.value.retry_after > DEADLINE
    assert len(emulator.requests) == 1  # no retry was attempted, so no sleep happened


def test_the_emulators_rate_limit_is_eventually_passed(emulator: NeuroIOEmulator) -> None:
    emulator.faults.rate_limit = 20
    with emulator.connect(backoff=0.01, retries=5, deadline=10.0) as store:
        names = [store.get("1").name for _ in range(30)]
    assert names == ["default"] * 30
    assert len(emulator.requests) > 30  # some were answered 429 and tried again


# -- dropped connections -----------------------------------------------------------------


def test_a_dropped_get_is_retried(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.drop(times=2, method="GET")
    assert nio.get("1").name == "default"
    assert len(emulator.requests) == 3


def test_a_post_dropped_after_commit_may_have_been_applied(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.drop(after_commit=True, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        nio.create("committed")
    assert caught.value.maybe_applied is True
    assert len(emulator.requests) == 1
    assert [s["name"] for s in emulator.spaces.values()] == ["default", "committed"]


def test_a_patch_dropped_after_commit_is_not_retried(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.drop(after_commit=True, method="PATCH")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        nio.update("1", name="applied")
    assert caught.value.maybe_applied and len(emulator.requests) == 1
    assert emulator.spaces[1]["name"] == "applied"


# -- unreadable bodies ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["html", "truncated", "wrong shape"])
def test_unreadable_bodies_are_protocol_errors(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator, kind: str
) -> None:
    if kind == "html":
        emulator.faults.malformed(method="GET")
    elif kind == "truncated":
        emulator.faults.malformed(truncate=True, method="GET")
    else:
        emulator.faults.fail(200, body='{"detail": "no space here"}', method="GET")
    with pytest.raises(spacekit.ProtocolError) as caught:
        nio.get("1")
    assert caught.value.provider == "neuroio"


@pytest.mark.parametrize(
    "body",
    [b"<html>oops</html>", b'{"count": 3, "resu', b'"a string"', b'{"results": 5}', b'{"results": []}'],
)
def test_unreadable_pages_are_protocol_errors(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator, body: bytes
) -> None:
    emulator.serves_full_list = False  # (an unreadable full list falls back to pages)
    emulator.faults.fail(200, body=body, method="GET", path="^/v1/spaces/$")
    with pytest.raises(spacekit.ProtocolError):
        list(nio.list())


def test_an_unreadable_token_is_a_protocol_error(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.malformed(truncate=True, method="POST")
    with pytest.raises(spacekit.ProtocolError):
        nio.create_token("1")


def test_an_html_error_page_keeps_its_status(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(404, body=b"<html>Not Found</html>")
    with pytest.raises(spacekit.NotFound):
        nio.get("1")


async def test_async_faults_follow_the_same_rules(
    anio: spacekit.AsyncSpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.fail(503, times=2, method="GET")
    emulator.faults.drop(after_commit=True, method="POST")
    assert (await anio.get("1")).name == "default"
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        await anio.create("async committed")
    assert caught.value.maybe_applied
    assert len(emulator.requests) == 4 and len(emulator.spaces) == 2


# -- the same, served on loopback ----------------------------------------------------------


def test_served_503_storm_on_get_is_retried(served: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(503, times=2, method="GET")
    assert served.get("1").name == "default"
    assert len(emulator.requests) == 3


def test_served_dropped_get_is_retried(served: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    assert served.get("1").id == "1"  # a kept-alive connection, which the drop then breaks
    emulator.faults.drop(method="GET")
    assert served.get("1").id == "1"
    assert len(emulator.requests) == 3


def test_served_post_dropped_after_commit(served: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.drop(after_commit=True, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        served.create("committed over tcp")
    assert caught.value.maybe_applied
    assert [s["name"] for s in emulator.spaces.values()] == ["default", "committed over tcp"]


def test_served_429_then_success(served: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.throttle(times=1, retry_after=1, method="GET")
    assert [s.id for s in served.list()] == ["1"]
    assert len(emulator.requests) == 2


def test_served_truncated_body_is_a_protocol_error(
    served: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.faults.malformed(truncate=True, method="GET")
    with pytest.raises(spacekit.ProtocolError):
        served.get("1")
