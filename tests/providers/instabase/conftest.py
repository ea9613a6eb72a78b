"""Fixtures for the Instabase plugin's tests: emulator, stores, and the cassette config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from spacekit_instabase import plugin
from spacekit_instabase._emulator import InstabaseEmulator

import spacekit
from spacekit.testing import vcr_config as shared_vcr_config

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "instabase"
#: fault tests must stay fast: tiny backoff, few retries
FAST = {"backoff": 0.01, "retries": 3, "deadline": 5.0}


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return shared_vcr_config()


@pytest.fixture
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


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
