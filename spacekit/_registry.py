"""The registry of providers: entry points of the group ``spacekit.providers``.

Read lazily (importing spacekit imports no plugin), sorted, and forgiving: a plugin
that fails to import is reported with its error and does not hide the others. A
known provider whose plugin is missing gets the command that installs it.

spacekit's own providers (``BUILT_IN``, registered as entry points too, for
``names``) load without reading any package metadata, so that opening the embedded
store costs no scan of the installed packages.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Final

from ._errors import ConfigError
from ._plugin import Plugin
from ._suggest import did_you_mean
from ._version import __version__

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "spacekit.providers"
CORE_DISTRIBUTION = "spacekit-core"

INSTALL_HINTS = {
    "neuroio": "pip install spacekit-neuroio",
    "instabase": "pip install spacekit-instabase",
    "datablist": "pip install spacekit-datablist",
}


BUILT_IN: Final = {
    "local": "spacekit._local:local_plugin",
    "memory": "spacekit._local:memory_plugin",
    "file": "spacekit._manifest:file_plugin",
}
"""spacekit's own providers: the same as its entry points (a test checks)."""


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name)}


def names() -> list[str]:
    """The installed providers, sorted."""
    return list(_entry_points())


@functools.cache
def load(name: str) -> Plugin:
    """The plugin registered as ``name``; ``ConfigError`` if it is missing or broken."""
    if name in BUILT_IN:
        module, attribute = BUILT_IN[name].split(":")
        built_in: Plugin = getattr(importlib.import_module(module), attribute)
        return built_in
    entry = _entry_points().get(name)
    if entry is None:
        installed = ", ".join(names()) or "none"
        hint = f"; install it with: {INSTALL_HINTS[name]}" if name in INSTALL_HINTS else ""
        near = "" if hint else did_you_mean(name, [*names(), *INSTALL_HINTS])
        raise ConfigError(f"unknown provider {name!r}{near} (installed: {installed}){hint}")
    try:
        plugin = entry.load()
    except Exception as exc:  # a broken plugin must not take the others down
        raise ConfigError(
            f"the plugin for provider {name!r} ({entry.value}) failed to import: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(plugin, Plugin):
        raise ConfigError(f"the entry point for provider {name!r} ({entry.value}) is not a spacekit Plugin")
    return plugin


def distributions() -> list[tuple[str, str]]:
    """The core's distribution and every distribution that registers a provider, with versions.

    Read from the installed metadata, without importing any plugin: what ``pip`` installed,
    which is what ``spacekit --version`` shows.
    """
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    try:
        found[CORE_DISTRIBUTION] = version(CORE_DISTRIBUTION)
    except PackageNotFoundError:  # run from a tree that was never installed
        found[CORE_DISTRIBUTION] = __version__
    for entry in _entry_points().values():
        if entry.dist is not None:
            found.setdefault(entry.dist.name, entry.dist.version)
    core = found.pop(CORE_DISTRIBUTION)
    return [(CORE_DISTRIBUTION, core), *sorted(found.items())]


def status() -> dict[str, Plugin | ConfigError]:
    """Every installed provider, loaded, or the error that stopped it."""
    result: dict[str, Plugin | ConfigError] = {}
    for name in names():
        try:
            result[name] = load(name)
        except ConfigError as exc:
            result[name] = exc
    return result
