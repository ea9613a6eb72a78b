"""``SpaceStore`` and ``AsyncSpaceStore``: the provider-neutral interface.

A store is what ``spacekit.connect()`` returns. Its public methods check the input
and the store's capabilities locally (so bad input and unsupported operations fail
before any request), then call the implementation's hooks, the underscored methods,
which is all an implementation writes::

    _list(query, options) -> iterator of Space        _get(space_id) -> Space
    _create(name, description, options) -> Space       _update(space_id, changes) -> Space
    _delete(space_id) -> None                          _create_token(space_id, permanent)
    _close() -> None

``changes`` holds only the fields the caller gave (``name`` and/or ``description``).
Remote providers do not subclass these: they describe their API to the HTTP engine
(``spacekit.plugin.Provider``), which is turned into a store for them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, Final

from ._errors import ValidationError
from ._model import Capability, Space, SpaceKind, SpaceToken
from ._validate import check_description, check_id, check_name, check_options, require


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()
"""Marks an ``update`` argument that was not given (None means "clear it")."""

WRITABLE_FIELDS: Final = frozenset({"name", "description"})


def _changes(name: Any, description: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = check_name(name)
    if description is not UNSET:
        changes["description"] = check_description(description)
    return changes


class _Base:
    provider: str = ""
    capabilities: frozenset[Capability] = frozenset()
    #: the Space fields this store keeps when a space is written to it
    writable_fields: frozenset[str] = frozenset({"name"})
    #: keyword options ``list`` and ``create`` accept beyond the common ones
    list_options: ClassVar[frozenset[str]] = frozenset()
    create_options: ClassVar[frozenset[str]] = frozenset()
    #: where the store is (a URL or a path) for reports and journals; never a secret
    location: str = ""

    def stored_name(self, name: str) -> str:
        """``name`` as this store keeps it when a space is created with it (the same
        name, unless the provider declares that it trims or cuts names)."""
        return name

    def _check_list(self, query: str | None, options: Mapping[str, Any]) -> None:
        require(self.capabilities, Capability.LIST, self.provider)
        if query is not None and not isinstance(query, str):
            raise ValidationError("query must be a string")
        check_options(options, self.list_options, f"{self.provider} list")

    def _check_create(
        self, name: Any, description: Any, options: Mapping[str, Any]
    ) -> tuple[str, str | None]:
        require(self.capabilities, Capability.CREATE, self.provider)
        check_options(options, self.create_options, f"{self.provider} create")
        return check_name(name), check_description(description)

    def _check_update(self, space_id: Any, name: Any, description: Any) -> tuple[str, dict[str, Any]]:
        require(self.capabilities, Capability.UPDATE, self.provider)
        return check_id(space_id), _changes(name, description)

    def __repr__(self) -> str:
        where = f" {self.location}" if self.location else ""
        return f"<{type(self).__name__} {self.provider}{where}>"

    def protected(self, space: Space) -> str | None:
        """Why the provider will not let ``space`` be deleted, or None if it may be.

        Syncs never plan to delete a protected space. A user's own space belongs to
        its user; a provider adds its own rules (NeuroIO's ``default`` space, say).
        """
        return "a user's own space" if space.kind is SpaceKind.USER else None


class SpaceStore(_Base, abc.ABC):
    """A place where spaces live, seen the same way whatever the provider."""

    def list(self, query: str | None = None, **options: Any) -> Iterator[Space]:
        """Every space, page by page, lazily; ``query`` keeps those whose name contains it."""
        self._check_list(query, options)
        return self._list(query or None, options)

    def get(self, space_id: str) -> Space:
        """One space by id; ``NotFound`` when absent."""
        require(self.capabilities, Capability.GET, self.provider)
        return self._get(check_id(space_id))

    def create(self, name: str, description: str | None = None, **options: Any) -> Space:
        """Create a space and return it as stored."""
        name, description = self._check_create(name, description, options)
        return self._create(name, description, options)

    def update(self, space_id: str, *, name: Any = UNSET, description: Any = UNSET) -> Space:
        """Change only the fields given; return the space as stored."""
        space_id, changes = self._check_update(space_id, name, description)
        if not changes:
            return self.get(space_id)
        return self._update(space_id, changes)

    def delete(self, space_id: str) -> None:
        """Delete a space; ``NotFound`` if it does not exist (or was already deleted)."""
        require(self.capabilities, Capability.DELETE, self.provider)
        self._delete(check_id(space_id))

    def create_token(self, space_id: str, *, permanent: bool = False) -> SpaceToken:
        """Issue an access token for one space (only where ``Capability.TOKENS``)."""
        require(self.capabilities, Capability.TOKENS, self.provider)
        return self._create_token(check_id(space_id), bool(permanent))

    def close(self) -> None:
        """Release connections and files. Closing twice is harmless."""
        self._close()

    def __enter__(self) -> SpaceStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def _list(self, query: str | None, options: Mapping[str, Any]) -> Iterator[Space]: ...

    @abc.abstractmethod
    def _get(self, space_id: str) -> Space: ...

    @abc.abstractmethod
    def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space: ...

    @abc.abstractmethod
    def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space: ...

    @abc.abstractmethod
    def _delete(self, space_id: str) -> None: ...

    def _create_token(self, space_id: str, permanent: bool) -> SpaceToken:
        raise NotImplementedError  # only reached where Capability.TOKENS is declared

    def _close(self) -> None:
        return None


class AsyncSpaceStore(_Base, abc.ABC):
    """The asynchronous twin of ``SpaceStore``: the same methods as coroutines."""

    def list(self, query: str | None = None, **options: Any) -> AsyncIterator[Space]:
        """Every space, lazily, as an async iterator; checks run before the first page."""
        self._check_list(query, options)
        return self._list(query or None, options)

    async def get(self, space_id: str) -> Space:
        require(self.capabilities, Capability.GET, self.provider)
        return await self._get(check_id(space_id))

    async def create(self, name: str, description: str | None = None, **options: Any) -> Space:
        name, description = self._check_create(name, description, options)
        return await self._create(name, description, options)

    async def update(self, space_id: str, *, name: Any = UNSET, description: Any = UNSET) -> Space:
        space_id, changes = self._check_update(space_id, name, description)
        if not changes:
            return await self.get(space_id)
        return await self._update(space_id, changes)

    async def delete(self, space_id: str) -> None:
        require(self.capabilities, Capability.DELETE, self.provider)
        await self._delete(check_id(space_id))

    async def create_token(self, space_id: str, *, permanent: bool = False) -> SpaceToken:
        require(self.capabilities, Capability.TOKENS, self.provider)
        return await self._create_token(check_id(space_id), bool(permanent))

    async def aclose(self) -> None:
        await self._close()

    async def __aenter__(self) -> AsyncSpaceStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @abc.abstractmethod
    def _list(self, query: str | None, options: Mapping[str, Any]) -> AsyncIterator[Space]: ...

    @abc.abstractmethod
    async def _get(self, space_id: str) -> Space: ...

    @abc.abstractmethod
    async def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space: ...

    @abc.abstractmethod
    async def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space: ...

    @abc.abstractmethod
    async def _delete(self, space_id: str) -> None: ...

    async def _create_token(self, space_id: str, permanent: bool) -> SpaceToken:
        raise NotImplementedError

    async def _close(self) -> None:
        return None
