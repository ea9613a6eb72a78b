"""``connect`` and ``connect_async``: from a name (or nothing) to an open store.

Which store and which settings come from ``_config.resolve`` (keywords, then the
environment, then the config file, then the embedded local store); which code
opens it comes from the registry.
"""

from __future__ import annotations

from typing import Any

from . import _config, _registry
from ._store import AsyncSpaceStore, SpaceStore


def connect(name: str | None = None, /, **settings: Any) -> SpaceStore:
    """Open a store: a configured store's name, a provider's name, or the default."""
    resolved = _config.resolve(name, settings)
    plugin = _registry.load(resolved.provider)
    return plugin.open(plugin.check_settings(resolved.settings, where=resolved.where))


def connect_async(name: str | None = None, /, **settings: Any) -> AsyncSpaceStore:
    """The asynchronous twin of ``connect``: the same arguments, an ``AsyncSpaceStore``."""
    resolved = _config.resolve(name, settings)
    plugin = _registry.load(resolved.provider)
    return plugin.open_async(plugin.check_settings(resolved.settings, where=resolved.where))
