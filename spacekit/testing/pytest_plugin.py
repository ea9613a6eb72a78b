"""The spacekit pytest plugin (registered by the ``pytest11`` entry point).

Fixtures for offline tests of code that uses spacekit:

- ``spacekit_emulator``: a factory, ``spacekit_emulator("neuroio")``, returning a
  fresh emulator of that provider. A provider that is not installed, misspelt or
  without an emulator fails the test (naming the installed providers): it is never
  skipped, so a typo cannot turn a test into one that silently never runs;
  ``emulator.connect()`` opens a store on it in-process, ``emulator.serve()`` puts
  it on a loopback port;
- ``spacekit_memory_store``: a fresh in-memory store.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

import pytest

from .._connect import connect
from .._errors import ConfigError
from .._registry import load, names
from .._store import SpaceStore
from ._emulator import Emulator


@pytest.fixture
def spacekit_emulator() -> Callable[[str], Emulator]:
    """A factory of fresh emulators, by provider name."""

    def make(provider: str) -> Emulator:
        try:
            plugin = load(provider)
        except ConfigError as exc:
            close = difflib.get_close_matches(provider, names(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            pytest.fail(f"spacekit_emulator({provider!r}): {exc}{hint}", pytrace=False)
        emulator = plugin.emulator()
        if emulator is None:
            with_emulators = [name for name in names() if _has_emulator(name)]
            pytest.fail(
                f"spacekit_emulator({provider!r}): the {provider} plugin ships no emulator "
                f"(these do: {', '.join(with_emulators) or 'none'})",
                pytrace=False,
            )
        if not isinstance(emulator, Emulator):
            pytest.fail(f"the {provider} plugin's emulator is not a spacekit.testing.Emulator")
        return emulator

    return make


def _has_emulator(name: str) -> bool:
    try:
        return load(name).emulator() is not None
    except ConfigError:
        return False


@pytest.fixture
def spacekit_memory_store() -> Iterator[SpaceStore]:
    """A fresh, empty in-memory store, closed after the test."""
    with connect("memory") as store:
        yield store
