"""The spacekit pytest plugin (registered by the ``pytest11`` entry point).

Fixtures for offline tests of code that uses spacekit:

- ``spacekit_emulator``: a factory, ``spacekit_emulator("neuroio")``, returning a
  fresh emulator of that provider (skips the test if its plugin is not installed);
  ``emulator.connect()`` opens a store on it in-process, ``emulator.serve()`` puts
  it on a loopback port;
- ``spacekit_memory_store``: a fresh in-memory store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .._connect import connect
from .._errors import ConfigError
from .._registry import load
from .._store import SpaceStore
from ._emulator import Emulator


@pytest.fixture
def spacekit_emulator() -> Callable[[str], Emulator]:
    """A factory of fresh emulators, by provider name."""

    def make(provider: str) -> Emulator:
        try:
            plugin = load(provider)
        except ConfigError as exc:
            pytest.skip(str(exc))
        emulator = plugin.emulator()
        if emulator is None:
            pytest.skip(f"the {provider} plugin ships no emulator")
        return emulator

    return make


@pytest.fixture
def spacekit_memory_store() -> Iterator[SpaceStore]:
    """A fresh, empty in-memory store, closed after the test."""
    with connect("memory") as store:
        yield store
