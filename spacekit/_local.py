"""The embedded stores: ``local`` (a SQLite file) and ``memory`` (the same, in-process).

They need no account and no network, so they are the default store, a target for
backups and migrations, and a fast double in tests. Both keep every field a
migration can bring (``create`` accepts ``kind``, ``owner``, ``admins``,
``subspaces`` and ``image_url``), set ``created_at`` and ``updated_at`` themselves,
and give ids as strings of never-reused integers. The SQL lives in ``_sqlite``;
this module checks options and adapts ``Database`` to the sync and async
interfaces. The async store runs each call in a worker thread
(``asyncio.to_thread``), so a write waiting for another process's lock does not
block the event loop; writes made at once, from those threads or the caller's own,
share transactions (see ``_sqlite``).
"""

from __future__ import annotations

import abc
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Final, TypeVar

import platformdirs

from ._errors import NotFound, ValidationError
from ._model import Capability, Principal, Space, SpaceKind, Subspace
from ._plugin import Plugin, Setting
from ._sqlite import MEMORY, Database
from ._store import AsyncSpaceStore, SpaceStore

CAPABILITIES: Final = frozenset(
    {
        Capability.LIST,
        Capability.SEARCH,
        Capability.GET,
        Capability.CREATE,
        Capability.UPDATE,
        Capability.DELETE,
        Capability.SUBSPACES,
    }
)
CREATE_OPTIONS: Final[Mapping[str, Setting]] = {
    "kind": Setting("kind", str, help="workspace, user or organization"),
    "owner": Setting("owner", str, help="the creator or owning user"),
    "admins": Setting("admins", object, help="a list of spacekit.Principal", configurable=False),
    "subspaces": Setting("subspaces", object, help="a list of spacekit.Subspace", configurable=False),
    "image_url": Setting("image_url", str, help="the URL of the space's image"),
}
WRITABLE_FIELDS: Final = frozenset({"name", "description", *CREATE_OPTIONS})


def default_path() -> str:
    """Where the local store lives unless configured: ``spaces.db`` in the user data directory."""
    return os.path.join(platformdirs.user_data_dir("spacekit"), "spaces.db")


def create_fields(name: str, description: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of a new space, from checked name and description and unchecked options."""
    return {
        "name": name,
        "description": description,
        "kind": _kind(options.get("kind")),
        "owner": _optional_text(options, "owner"),
        "admins": _items(options, "admins", Principal),
        "subspaces": _items(options, "subspaces", Subspace),
        "image_url": _optional_text(options, "image_url"),
    }


def new_subspace(space_id: str, name: str, description: str, private: bool) -> Subspace:
    """A subspace made here: owned by the space that holds it, administered by its maker."""
    return Subspace(space_id, name, is_admin=True, description=description or None, private=private)


def find_subspace(space: Space, name: str) -> Subspace:
    """The subspace of ``space`` named ``name`` (exactly); ``NotFound`` otherwise."""
    found = next((s for s in space.subspaces if s.name == name), None)
    if found is None:
        raise NotFound(f"space {space.id} holds no subspace named {name!r}", provider=space.provider)
    return found


def _kind(value: object) -> SpaceKind:
    if value is None:
        return SpaceKind.WORKSPACE
    if isinstance(value, str):
        try:
            return SpaceKind(value)
        except ValueError:
            pass
    allowed = ", ".join(kind.value for kind in SpaceKind)
    raise ValidationError(f"kind must be one of {allowed}, not {value!r}", fields={"kind": "unknown kind"})


def _optional_text(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{key} must be a string or None", fields={key: "not a string"})
    return value


def _items(options: Mapping[str, Any], key: str, kind: type[Any]) -> tuple[Any, ...]:
    value = options.get(key) or ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, kind) for item in value):
        raise ValidationError(
            f"{key} must be a list of spacekit.{kind.__name__}", fields={key: f"not {kind.__name__} items"}
        )
    return tuple(value)


class _Embedded:
    """What both embedded stores declare, from the database they wrap."""

    capabilities = CAPABILITIES
    writable_fields = WRITABLE_FIELDS
    create_options = CREATE_OPTIONS

    def __init__(self, database: Database) -> None:
        self._database = database
        self.provider = database.provider
        self.location = database.location


class SQLiteStore(_Embedded, SpaceStore):
    """The embedded store, synchronous."""

    def _list(self, query: str | None, options: Mapping[str, Any]) -> Iterator[Space]:
        return self._database.iterate(query)

    def _get(self, space_id: str) -> Space:
        return self._database.get(space_id)

    def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        return self._database.insert(create_fields(name, description, options))

    def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        return self._database.update(space_id, changes)

    def _delete(self, space_id: str) -> None:
        self._database.delete(space_id)

    def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        return self._database.add_subspace(space_id, new_subspace(space_id, name, description, private))

    def _get_subspace(self, space_id: str, name: str) -> Subspace:
        return find_subspace(self._database.get(space_id), name)

    def _close(self) -> None:
        self._database.close()


T = TypeVar("T")


async def _in_thread(function: Callable[..., T], /, *args: Any) -> T:
    """``asyncio.to_thread``; asyncio is imported here, so that the sync store never loads it."""
    import asyncio

    return await asyncio.to_thread(function, *args)


class AsyncSQLiteStore(_Embedded, AsyncSpaceStore):
    """The embedded store, asynchronous: the same ``Database`` calls, in a worker thread."""

    async def _list(self, query: str | None, options: Mapping[str, Any]) -> AsyncIterator[Space]:
        cursor: int | None = 0
        while cursor is not None:
            spaces, cursor = await _in_thread(self._database.page, query, cursor)
            for space in spaces:
                yield space

    async def _get(self, space_id: str) -> Space:
        return await _in_thread(self._database.get, space_id)

    async def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        fields = create_fields(name, description, options)
        return await _in_thread(self._database.insert, fields)

    async def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        return await _in_thread(self._database.update, space_id, changes)

    async def _delete(self, space_id: str) -> None:
        await _in_thread(self._database.delete, space_id)

    async def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        subspace = new_subspace(space_id, name, description, private)
        return await _in_thread(self._database.add_subspace, space_id, subspace)

    async def _get_subspace(self, space_id: str, name: str) -> Subspace:
        return find_subspace(await _in_thread(self._database.get, space_id), name)

    async def _close(self) -> None:
        await _in_thread(self._database.close)


class _EmbeddedPlugin(Plugin):
    capabilities = CAPABILITIES
    create_options = CREATE_OPTIONS

    @abc.abstractmethod
    def location(self, settings: Mapping[str, Any]) -> str:
        """The path (or ``MEMORY``) a store opened with these settings uses."""

    def open(self, settings: Mapping[str, Any]) -> SQLiteStore:
        return SQLiteStore(Database.open(self.location(settings), provider=self.name))

    def open_async(self, settings: Mapping[str, Any]) -> AsyncSQLiteStore:
        return AsyncSQLiteStore(Database.open(self.location(settings), provider=self.name))


class LocalPlugin(_EmbeddedPlugin):
    name = "local"
    summary = "spaces in a SQLite file on this machine"
    settings: Mapping[str, Setting] = {
        "path": Setting(
            "path",
            str,
            help="the SQLite file (~ expanded); default: spaces.db in the user data directory",
        ),
    }

    def location(self, settings: Mapping[str, Any]) -> str:
        path = settings.get("path") or default_path()
        return path if path == MEMORY else os.path.abspath(os.path.expanduser(path))


class MemoryPlugin(_EmbeddedPlugin):
    name = "memory"
    summary = "spaces in this process's memory, gone when the store is closed"

    def location(self, settings: Mapping[str, Any]) -> str:
        return MEMORY


local_plugin: Final = LocalPlugin()
memory_plugin: Final = MemoryPlugin()
