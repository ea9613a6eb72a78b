"""``store.check()`` against a NeuroIO that serves the documented spaces API but not
the SDK's ``/v1/whoami/``: the token is still checked, by a one-space listing."""

from __future__ import annotations

import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_without_whoami_a_good_token_checks_by_a_one_space_listing(status: int) -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(status, times=10, path="/v1/whoami/", body=b'{"detail": "Not found."}')
    with emulator.connect() as store:
        store.check()
    listing = [r for r in emulator.requests if r.path == "/v1/spaces/"]
    assert [r.params for r in listing] == [{"limit": "1", "offset": "0"}]


@pytest.mark.parametrize("status", [404, 405, 410, 501])
def test_without_whoami_a_bad_token_is_an_authentication_error(status: int) -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(status, times=10, path="/v1/whoami/", body=b'{"detail": "Not found."}')
    with (
        emulator.connect(token="not-the-right-token-0123") as store,
        pytest.raises(spacekit.AuthenticationError),
    ):
        store.check()


async def test_without_whoami_the_async_check_falls_back_too() -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(404, times=10, path="/v1/whoami/", body=b'{"detail": "Not found."}')
    async with emulator.connect_async(token="not-the-right-token-0123") as store:
        with pytest.raises(spacekit.AuthenticationError):
            await store.check()


def test_a_whoami_that_fails_otherwise_is_reported_as_it_is() -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(403, times=10, path="/v1/whoami/")
    with emulator.connect() as store, pytest.raises(spacekit.PermissionDenied):
        store.check()
    assert not [r for r in emulator.requests if r.path == "/v1/spaces/"]
