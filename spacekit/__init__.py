"""spacekit: one interface for every "spaces" API.

    import spacekit

    with spacekit.connect() as store:          # the embedded local store
        space = store.create(name="test")
        for space in store.list(query="te"):
            print(space.id, space.name)

Plugin authors: see ``spacekit.plugin``. Tests: see ``spacekit.testing``.
Each name is imported on first use, so that ``import spacekit`` (and the command
line) loads only what is used.
"""

import importlib
from typing import TYPE_CHECKING

from ._errors import (
    AuthenticationError,
    ConfigError,
    Conflict,
    FieldDroppedWarning,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SpacekitError,
    Unsupported,
    ValidationError,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._connect import connect, connect_async
    from ._migrate import MigrationItem, MigrationReport, VerifyItem, VerifyReport, migrate, verify
    from ._model import Capability, Member, Principal, Space, SpaceKind, SpaceToken, Subspace
    from ._plugin import Response
    from ._store import AsyncSpaceStore, SpaceStore
    from ._sync import StalePlan, SyncItem, SyncReport, TooManyChanges, sync

_LAZY = {  # module -> the public names it defines, imported on first use
    "_connect": ("connect", "connect_async"),
    "_migrate": ("MigrationItem", "MigrationReport", "VerifyItem", "VerifyReport", "migrate", "verify"),
    "_model": ("Capability", "Member", "Principal", "Space", "SpaceKind", "SpaceToken", "Subspace"),
    "_plugin": ("Response",),
    "_store": ("AsyncSpaceStore", "SpaceStore"),
    "_sync": ("StalePlan", "SyncItem", "SyncReport", "TooManyChanges", "sync"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'spacekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"spacekit.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AsyncSpaceStore", "AuthenticationError", "Capability", "ConfigError", "Conflict",
    "FieldDroppedWarning", "Member", "MigrationItem", "MigrationReport", "NotFound",
    "PermissionDenied", "Principal", "ProtocolError", "ProviderError", "ProviderUnavailable",
    "RateLimited", "Response", "Space", "SpaceKind", "SpaceStore", "SpaceToken", "SpacekitError", "StalePlan",
    "Subspace", "SyncItem", "SyncReport", "TooManyChanges", "Unsupported", "ValidationError",
    "VerifyItem", "VerifyReport", "__version__", "connect", "connect_async", "migrate", "sync", "verify",
]  # fmt: skip
