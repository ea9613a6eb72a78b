"""Fixtures for the Datablist plugin's tests: emulators, stores, and the cassette target.

Cassette tests open their store through ``cassette_target``, which replays by
default (no emulator, no transport: only the cassette answers). Recording is
switched on by ``DATABLIST_RECORD`` (see scripts/record_datablist.py):
``emulator`` records a fresh emulator behind the real URLs, ``live`` records the
real service with ``DATABLIST_API_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest
from spacekit_datablist import plugin
from spacekit_datablist._emulator import API_KEY, DatablistEmulator

import spacekit

#: fault tests must stay fast: tiny backoff, few retries
FAST: dict[str, Any] = {"backoff": 0.01, "retries": 3, "deadline": 5.0}
RECORD = os.environ.get("DATABLIST_RECORD", "")
#: what a replayed store sends as its key; the cassettes hold "REDACTED" instead
REPLAY_KEY = "replayed-key-not-a-secret"


@pytest.fixture
def emulator() -> DatablistEmulator:
    fresh = plugin.emulator()
    assert isinstance(fresh, DatablistEmulator)
    return fresh


@pytest.fixture
def store(emulator: DatablistEmulator) -> Iterator[spacekit.SpaceStore]:
    """A store on the emulator, in-process, with fast retries."""
    with emulator.connect(**FAST) as opened:
        yield opened


@pytest.fixture
async def astore(emulator: DatablistEmulator) -> AsyncIterator[spacekit.AsyncSpaceStore]:
    """The async twin of ``store``."""
    async with emulator.connect_async(**FAST) as opened:
        yield opened


@attrs.define
class CassetteTarget:
    """Where a cassette test's store talks: the cassette, an emulator, or the live API."""

    mode: str
    emulator: DatablistEmulator | None

    def settings(self, **overrides: Any) -> dict[str, Any]:
        base: dict[str, Any]
        if self.mode == "live":
            found = {
                "base_url": os.environ.get("DATABLIST_BASE_URL"),
                "auth_url": os.environ.get("DATABLIST_AUTH_URL"),
            }
            base = {"api_key": os.environ["DATABLIST_API_KEY"], **{k: v for k, v in found.items() if v}}
        elif self.emulator is not None:
            # vcrpy intercepts httpx's own transports only: reach the emulator through one.
            base = {
                "api_key": API_KEY,
                "transport": self.emulator.recording_transport,
            }
        else:
            base = {"api_key": REPLAY_KEY}
        return {**base, **FAST, **overrides}

    def open(self, **overrides: Any) -> spacekit.SpaceStore:
        return spacekit.connect("datablist", **self.settings(**overrides))

    def open_async(self, **overrides: Any) -> spacekit.AsyncSpaceStore:
        return spacekit.connect_async("datablist", **self.settings(**overrides))

    def seed(self, item: dict[str, Any]) -> None:
        """Put a documented example in place; only an emulator can, so live runs skip."""
        if self.mode == "live":
            pytest.skip("the documented examples are recorded from the emulator only")
        if self.emulator is not None:
            self.emulator.add_workspace(**item)


@pytest.fixture
def cassette_target() -> CassetteTarget:
    if RECORD not in ("", "emulator", "live"):
        raise pytest.UsageError(f"DATABLIST_RECORD must be 'emulator' or 'live', not {RECORD!r}")
    return CassetteTarget(RECORD or "replay", DatablistEmulator() if RECORD == "emulator" else None)
