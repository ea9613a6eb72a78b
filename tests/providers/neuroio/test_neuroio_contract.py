"""The shared store contract, run against the NeuroIO emulator in-process, sync and async."""

from __future__ import annotations

import pytest

import spacekit
from spacekit.testing import SpaceStoreContract


class TestNeuroIOContract(SpaceStoreContract):
    @pytest.fixture
    def store(self, nio: spacekit.SpaceStore) -> spacekit.SpaceStore:
        return nio

    @pytest.fixture
    def async_store(self, anio: spacekit.AsyncSpaceStore) -> spacekit.AsyncSpaceStore:
        return anio
