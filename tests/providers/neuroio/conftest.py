"""Fixtures for the NeuroIO plugin's tests: emulators, stores, and the cassette config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from spacekit_neuroio import plugin
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit

#: fault tests must stay fast: tiny backoff, few retries
FAST = {"backoff": 0.01, "retries": 3, "deadline": 5.0}


@pytest.fixture
def emulator() -> NeuroIOEmulator:
    fresh = plugin.emulator()
    assert isinstance(fresh, NeuroIOEmulator)
    return fresh


@pytest.fixture
def nio(emulator: NeuroIOEmulator) -> Iterator[spacekit.SpaceStore]:
    """A store on the emulator, in-process, with fast retries."""
    with emulator.connect(**FAST) as store:
        yield store


@pytest.fixture
async def anio(emulator: NeuroIOEmulator) -> AsyncIterator[spacekit.AsyncSpaceStore]:
    """The async twin of ``nio``."""
    async with emulator.connect_async(**FAST) as store:
        yield store
