"""The store contract, run against the Datablist emulator in-process, sync and async,
and once more with the emulator served on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from spacekit_datablist._emulator import DatablistEmulator

import spacekit
from spacekit.testing import EmulatorContract, SpaceStoreContract

CREATED_UNSET = frozenset({"owner", "created_at", "updated_at"})


#: A create is one request answered ``{"@id"}``: the workspace it returns has what
#: was sent and no creator or timestamps, which a read gives (the rest must agree).
CREATED_FIELDS = tuple(f for f in SpaceStoreContract.compared_fields if f not in CREATED_UNSET)


class TestDatablistContract(EmulatorContract):
    missing_id = "zzzzzzzzzzzzzzzzzzz"
    settings = {"backoff": 0.01, "retries": 3, "deadline": 5.0}
    compared_fields = CREATED_FIELDS


class TestDatablistContractOnLoopback(SpaceStoreContract):
    """The same, over real sockets: base_url and auth_url both point at the emulator."""

    compared_fields = CREATED_FIELDS

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
