"""``connect`` and ``connect_async``: from a name (or nothing) to an open store.

Opening a store is written once, here: ``prepare`` resolves the name (keywords,
then the environment, then the config file, then the embedded local store; see
``_config``), loads the provider's plugin from the registry and checks the settings
once, into an ``Opening``; ``Opening.open`` or ``open_async`` then opens the store.
``connect`` and ``connect_async`` are that, and so is every other way spacekit opens
a store (the command line, migrations, sync, ``stores --check``, the testing kit's
``Emulator.connect``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from . import _config, _registry
from ._plugin import Plugin
from ._store import AsyncSpaceStore, SpaceStore


@attrs.frozen(repr=False)
class Opening:
    """A store ready to be opened: its provider's plugin and its checked settings."""

    provider: str
    plugin: Plugin
    settings: Mapping[str, Any]
    #: where the settings came from, as messages name it (a config file's section, say)
    where: str

    def __repr__(self) -> str:  # settings hold secrets: show only their keys
        return f"Opening(provider={self.provider!r}, settings=<{', '.join(sorted(self.settings))}>)"

    @property
    def secrets(self) -> list[str]:
        """The values of the settings the plugin marks secret, for redacting messages."""
        schema = self.plugin.settings
        return [
            str(v) for k, v in self.settings.items() if v is not None and k in schema and schema[k].secret
        ]

    def open(self) -> SpaceStore:
        return self.plugin.open(self.settings)

    def open_async(self) -> AsyncSpaceStore:
        return self.plugin.open_async(self.settings)


def prepare(name: str | None, settings: Mapping[str, Any]) -> Opening:
    """Resolve, load and check: everything but opening; every mistake a ``ConfigError``."""
    resolved = _config.resolve(name, settings)
    plugin = _registry.load(resolved.provider)
    checked = plugin.check_settings(resolved.settings, where=resolved.where)
    return Opening(resolved.provider, plugin, checked, resolved.where)


def connect(name: str | None = None, /, **settings: Any) -> SpaceStore:
    """Open a store: a configured store's name, a provider's name, or the default."""
    return prepare(name, settings).open()


def connect_async(name: str | None = None, /, **settings: Any) -> AsyncSpaceStore:
    """The asynchronous twin of ``connect``: the same arguments, an ``AsyncSpaceStore``."""
    return prepare(name, settings).open_async()
