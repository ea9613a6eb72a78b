"""The store contract, run against the Datablist emulator in-process, sync and async,
and once more with the emulator served on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from spacekit_datablist._emulator import DatablistEmulator

import spacekit
from spacekit.testing import EmulatorContract, SpaceStoreContract


class TestDatablistContract(EmulatorContract):
    missing_id = "zzzzzzzzzzzzzzzzzzz"
    settings = {"backoff": 0.01, "retries": 3, "deadline": 5.0}


class TestDatablistContractOnLoopback(SpaceStoreContract):
    """The same, over real sockets: base_url and auth_url both point at the emulator."""

    @pytest.fixture
    def store(self, emulator: DatablistEmulator) -> Iterator[spacekit.SpaceStore]:
        with (
            emulator.serve() as url,
            spacekit.connect("datablist", **emulator.connect_settings(url)) as opened,
        ):
            yield opened

    @pytest.fixture
    async def async_store(self, emulator: DatablistEmulator) -> AsyncIterator[spacekit.AsyncSpaceStore]:
        with emulator.serve() as url:
            async with spacekit.connect_async("datablist", **emulator.connect_settings(url)) as opened:
                yield opened
