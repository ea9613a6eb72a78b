"""The spacekit pytest plugin (registered by the ``pytest11`` entry point).

Fixtures for offline tests of code that uses spacekit:

- ``spacekit_emulator``: a factory, ``spacekit_emulator("neuroio")``, returning a
  fresh emulator of that provider. A provider that is not installed, misspelt or
  without an emulator fails the test (naming the installed providers): it is never
  skipped, so a typo cannot turn a test into one that silently never runs;
  ``emulator.connect()`` opens a store on it in-process, ``emulator.serve()`` puts
  it on a loopback port; ``seed_spaces``, ``reset``, ``snapshot``, ``faults`` and
  ``requests`` are the control API's controls, in Python;
- ``spacekit_memory_store``: a fresh in-memory store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .._connect import connect
from .._errors import ConfigError
from .._store import SpaceStore
from ._emulator import Emulator, emulator_for


@pytest.fixture
def spacekit_emulator() -> Callable[[str], Emulator]:
    """A factory of fresh emulators, by provider name."""

    def make(provider: str) -> Emulator:
        try:
            return emulator_for(provider)
        except ConfigError as exc:
            pytest.fail(f"spacekit_emulator({provider!r}): {exc}", pytrace=False)

    return make


@pytest.fixture
def spacekit_memory_store() -> Iterator[SpaceStore]:
    """A fresh, empty in-memory store, closed after the test."""
    with connect("memory") as store:
        yield store
