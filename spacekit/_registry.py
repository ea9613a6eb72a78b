"""The registry of providers: entry points of the group ``spacekit.providers``.

Read lazily (importing spacekit imports no plugin), sorted, and forgiving: a plugin
that fails to import is reported with its error and does not hide the others. A
known provider whose plugin is missing gets the command that installs it.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, version

from ._errors import ConfigError
from ._plugin import Plugin
from ._version import __version__

GROUP = "spacekit.providers"
CORE_DISTRIBUTION = "spacekit-core"

INSTALL_HINTS = {
    "neuroio": "pip install spacekit-neuroio",
    "instabase": "pip install spacekit-instabase",
    "datablist": "pip install spacekit-datablist",
}


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name)}


def names() -> list[str]:
    """The installed providers, sorted."""
    return list(_entry_points())


@functools.cache
def load(name: str) -> Plugin:
    """The plugin registered as ``name``; ``ConfigError`` if it is missing or broken."""
    entry = _entry_points().get(name)
    if entry is None:
        installed = ", ".join(names()) or "none"
        hint = f"; install it with: {INSTALL_HINTS[name]}" if name in INSTALL_HINTS else ""
        raise ConfigError(f"unknown provider {name!r} (installed: {installed}){hint}")
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
