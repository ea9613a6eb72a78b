"""Fixtures for the Instabase plugin's tests: emulator, stores, and the cassette config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from spacekit_instabase import plugin
from spacekit_instabase._emulator import InstabaseEmulator

import spacekit

#: fault tests must stay fast: tiny backoff, few retries
FAST = {"backoff": 0.01, "retries": 3, "deadline": 5.0}


@pytest.fixture
def emulator() -> InstabaseEmulator:
    fresh = plugin.emulator()
    assert isinstance(fresh, InstabaseEmulator)
    return fresh


@pytest.fixture
def ib(emulator: InstabaseEmulator) -> Iterator[spacekit.SpaceStore]:
    """A store on the emulator, in-process, with fast retries."""
    with emulator.connect(**FAST) as store:
        yield store


@pytest.fixture
async def aib(emulator: InstabaseEmulator) -> AsyncIterator[spacekit.AsyncSpaceStore]:
    """The async twin of ``ib``."""
    async with emulator.connect_async(**FAST) as store:
        yield store
