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

import os
from collections.abc import Mapping
from typing import Any

import attrs

from . import _config, _registry
from ._errors import ConfigError
from ._plugin import Plugin
from ._settings import MissingSetting
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
    """Resolve, load and check: everything but opening; every mistake a ``ConfigError``.

    A name ending in ``.toml``, ``.json`` or ``.jsonl`` is a manifest's path: the
    read-only ``file`` store of that manifest, wherever a store is read. A name that is
    neither a store, a provider nor a manifest, but names an existing file, is refused
    saying which suffixes are read as manifests.
    """
    if name is not None:  # imported here: the default store is never a manifest
        from . import _manifest

        if _manifest.is_manifest_path(name):
            plugin = _registry.load(_manifest.PROVIDER)
            checked = plugin.check_settings({**settings, "path": name}, where=f"the manifest {name}")
            return Opening(_manifest.PROVIDER, plugin, checked, f"the manifest {name}")
    try:
        resolved = _config.resolve(name, settings)
    except ConfigError:
        if name is not None and os.path.isfile(name):
            suffixes = ", ".join(_manifest.FORMATS)
            raise ConfigError(
                f"{name} is a file, not a store: a manifest's name ends in {suffixes}"
            ) from None
        raise
    plugin = _registry.load(resolved.provider)
    try:
        checked = plugin.check_settings(resolved.settings, where=resolved.where)
    except MissingSetting as exc:
        raise ConfigError(f"{exc}: {resolved.how_to_set(exc.key)}") from None
    return Opening(resolved.provider, plugin, checked, resolved.where)


def connect(name: str | None = None, /, **settings: Any) -> SpaceStore:
    """Open a store: a configured store's name, a provider's name, or the default."""
    return prepare(name, settings).open()


def connect_async(name: str | None = None, /, **settings: Any) -> AsyncSpaceStore:
    """The asynchronous twin of ``connect``: the same arguments, an ``AsyncSpaceStore``."""
    return prepare(name, settings).open_async()
