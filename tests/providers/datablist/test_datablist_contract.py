"""The store contract, run against the Datablist emulator in-process, sync and async,
and once more with the emulator served on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from spacekit_datablist._emulator import DatablistEmulator

import spacekit
from spacekit.testing import SpaceStoreContract


class TestDatablistContract(SpaceStoreContract):
    missing_id = "zzzzzzzzzzzzzzzzzzz"

    @pytest.fixture
    def store(self, emulator: DatablistEmulator, fast: dict[str, Any]) -> Iterator[spacekit.SpaceStore]:
        with emulator.connect(**fast) as opened:
            yield opened

    @pytest.fixture
    async def async_store(
        self, emulator: DatablistEmulator, fast: dict[str, Any]
    ) -> AsyncIterator[spacekit.AsyncSpaceStore]:
        async with emulator.connect_async(**fast) as opened:
            yield opened


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
