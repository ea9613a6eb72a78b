"""Every NeuroIO operation, replayed offline from cassettes under ``cassettes/neuroio/``.

By default (record mode ``none``) the store talks to the real default URL with no
transport of its own, so any request missing from a cassette fails instead of
leaving the machine. ``scripts/record_neuroio.py`` re-records: against the
emulator's in-process transport by default (vcrpy sits above the transport, so the
cassettes show the real host), or against the live API when ``NEUROIO_TOKEN`` is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit.testing import find_secrets

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "neuroio"
NAME = "spacekit-cassette"


def _settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings: dict[str, Any] = {"retries": 0}
    if request.config.getoption("--record-mode") in (None, "none"):
        return {**settings, "token": "replay-token"}  # never sent anywhere: vcrpy answers
    live = os.environ.get("NEUROIO_TOKEN")
    if live:
        return {**settings, "token": live}
    emulator = NeuroIOEmulator()
    return {**settings, "token": emulator.token, "transport": emulator.recording_transport}


@pytest.fixture
def recorded(request: pytest.FixtureRequest) -> Iterator[spacekit.SpaceStore]:
    with spacekit.connect("neuroio", **_settings(request)) as store:
        yield store


@pytest.fixture
async def arecorded(request: pytest.FixtureRequest) -> AsyncIterator[spacekit.AsyncSpaceStore]:
    async with spacekit.connect_async("neuroio", **_settings(request)) as store:
        yield store


@pytest.mark.vcr
def test_every_operation_replays(recorded: spacekit.SpaceStore) -> None:
    assert "default" in {s.name for s in recorded.list()}
    space = recorded.create(NAME)
    assert recorded.get(space.id).name == NAME
    assert recorded.update(space.id, name=f"{NAME}-renamed").name == f"{NAME}-renamed"
    assert space.id in {s.id for s in recorded.list(query=f"{NAME}-renamed")}
    temporary = recorded.create_token(space.id)
    assert not temporary.permanent and temporary.expires_at is not None
    assert recorded.create_token(space.id, permanent=True).permanent
    recorded.delete(space.id)
    with pytest.raises(spacekit.NotFound):
        recorded.get(space.id)


@pytest.mark.vcr
async def test_every_operation_replays_async(arecorded: spacekit.AsyncSpaceStore) -> None:
    assert "default" in {s.name async for s in arecorded.list()}
    space = await arecorded.create(f"{NAME}-async")
    assert (await arecorded.get(space.id)).name == f"{NAME}-async"
    assert (await arecorded.update(space.id, name=f"{NAME}-async-2")).name == f"{NAME}-async-2"
    assert space.id in {s.id async for s in arecorded.list(query=f"{NAME}-async-2")}
    assert (await arecorded.create_token(space.id, permanent=True)).permanent
    await arecorded.delete(space.id)
    with pytest.raises(spacekit.NotFound):
        await arecorded.delete(space.id)


@pytest.mark.vcr
def test_refusals_replay(recorded: spacekit.SpaceStore) -> None:
    with pytest.raises(spacekit.NotFound):
        recorded.get("999999999")
    with pytest.raises(spacekit.NotFound):
        recorded.create_token("999999999")


@pytest.mark.vcr
def test_check_and_passthrough_replay(recorded: spacekit.SpaceStore) -> None:
    recorded.check()
    response = recorded.request("GET", "/v1/lists/spaces/")
    assert response.status == 200 and "default" in response.text


def test_the_cassettes_cover_every_operation_and_hold_no_secret() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(CASSETTES.glob("*.yaml")))
    assert find_secrets(text) == []
    assert "neuroio-emulator-" not in text  # the emulator's account token
    assert "Token " not in text.replace("Token REDACTED", "")
    for method, path in [
        ("GET", r"/v1/spaces/\?limit=100&offset=0"),
        ("POST", r"/v1/spaces/"),
        ("GET", r"/v1/spaces/\d+/"),
        ("PATCH", r"/v1/spaces/\d+/"),
        ("DELETE", r"/v1/spaces/\d+/"),
        ("POST", r"/v1/spaces/\d+/tokens/"),
        ("GET", r"/v1/whoami/"),
        ("GET", r"/v1/lists/spaces/"),
    ]:
        pattern = rf"method: {method}\n\s+uri: https://iam\.neuroio\.com{path}"
        assert re.search(pattern, text), f"no recorded {method} {path}"
