"""From what a caller passes as source or target (a store, or a name) to an open store.

A name is opened with ``spacekit.connect`` and closed when the run ends; a store the
caller opened stays open. Only sync stores are taken: the engine runs their calls
in worker threads (see ``_run``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._connect import connect
from .._errors import ValidationError
from .._manifest import manifest_of
from .._store import AsyncSpaceStore, SpaceStore
from ._report import Identity

StoreLike = SpaceStore | str


def identity(store: SpaceStore, name: str | None = None) -> Identity:
    """How journals and reports name a store: never a secret. A manifest is named by
    its own identity (its ``[manifest] name``, else its file name), not by its path, so
    that the same manifest checked out anywhere is the same source."""
    manifest = manifest_of(store)
    if manifest is not None:
        return Identity(store.provider, manifest.identity, None)
    return Identity(store.provider, store.location, name)


@contextlib.contextmanager
def opened(value: StoreLike, role: str) -> Iterator[tuple[SpaceStore, Identity]]:
    """The store for ``value`` and its identity; a store opened here is closed on exit."""
    if isinstance(value, SpaceStore):
        yield value, identity(value)
        return
    if isinstance(value, AsyncSpaceStore):
        raise ValidationError(
            f"the {role} is an AsyncSpaceStore; migrations take a SpaceStore (spacekit.connect) or a name"
        )
    if not isinstance(value, str):
        raise ValidationError(
            f"the {role} must be a SpaceStore or a store's name, not {type(value).__name__}"
        )
    with connect(value) as store:
        yield store, identity(store, value)
