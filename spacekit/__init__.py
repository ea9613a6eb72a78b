"""spacekit: one interface for every "spaces" API.

    import spacekit

    with spacekit.connect() as store:          # the embedded local store
        space = store.create(name="test")
        for space in store.list(query="te"):
            print(space.id, space.name)

Plugin authors: see ``spacekit.plugin``. Tests: see ``spacekit.testing``.
"""

from ._connect import connect, connect_async
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
from ._migrate import MigrationItem, MigrationReport, VerifyItem, VerifyReport, migrate, verify
from ._model import Capability, Member, Principal, Space, SpaceKind, SpaceToken, Subspace
from ._plugin import Response
from ._store import AsyncSpaceStore, SpaceStore
from ._sync import StalePlan, SyncItem, SyncReport, TooManyChanges, sync
from ._version import __version__

__all__ = [
    "AsyncSpaceStore",
    "AuthenticationError",
    "Capability",
    "ConfigError",
    "Conflict",
    "FieldDroppedWarning",
    "Member",
    "MigrationItem",
    "MigrationReport",
    "NotFound",
    "PermissionDenied",
    "Principal",
    "ProtocolError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "Response",
    "Space",
    "SpaceKind",
    "SpaceStore",
    "SpaceToken",
    "SpacekitError",
    "Subspace",
    "StalePlan",
    "SyncItem",
    "SyncReport",
    "TooManyChanges",
    "Unsupported",
    "ValidationError",
    "VerifyItem",
    "VerifyReport",
    "__version__",
    "connect",
    "connect_async",
    "migrate",
    "sync",
    "verify",
]
