"""``SpaceStore`` and ``AsyncSpaceStore``: the provider-neutral interface.

A store is what ``spacekit.connect()`` returns. Its public methods check the input
and the store's capabilities locally (so bad input and unsupported operations fail
before any request), then call the implementation's hooks, the underscored methods,
which is all an implementation writes::

    _list(query, options) -> iterator of Space        _get(space_id) -> Space
    _create(name, description, options) -> Space       _update(space_id, changes) -> Space
    _delete(space_id) -> None                          _create_token(space_id, permanent)
    _create_subspace(space_id, name, description, private) -> Subspace
    _get_subspace(space_id, name) -> Subspace          _request(call) -> Response
    _check() -> None                                   _close() -> None

``changes`` holds only the fields the caller gave (``name`` and/or ``description``).
Remote providers do not subclass these: they describe their API to the HTTP engine
(``spacekit.plugin.Provider``), which is turned into a store for them.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any, ClassVar, Final

from ._errors import FieldDroppedWarning, ValidationError
from ._exchange import Request, Response
from ._model import Capability, Space, SpaceKind, SpaceToken, Subspace
from ._settings import Setting, check_option_values
from ._validate import (
    check_description,
    check_id,
    check_name,
    check_options,
    check_passthrough,
    check_subspace_name,
    require,
)


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
    #: keyword options ``list`` and ``create`` accept beyond the common ones; create
    #: options are declared with their kind and help (the CLI offers them as flags)
    list_options: ClassVar[frozenset[str]] = frozenset()
    create_options: Mapping[str, Setting] = {}
    #: where the store is (a URL or a path) for reports and journals; never a secret
    location: str = ""

    def stored_name(self, name: str) -> str:
        """``name`` as this store keeps it when a space is created with it (the same
        name, unless the provider declares that it trims or cuts names)."""
        return name

    def caller(self) -> str | None:
        """Who the store's credential acts for, in the form the provider writes in
        ``Space.owner`` (Datablist's user id, known once the API key is exchanged);
        None where the provider does not say. Migrations take it as evidence that a
        space is, or is not, the caller's."""
        return None

    def _check_list(self, query: str | None, options: Mapping[str, Any]) -> None:
        require(self.capabilities, Capability.LIST, self.provider)
        if query is not None and not isinstance(query, str):
            raise ValidationError("query must be a string")
        check_options(options, self.list_options, f"{self.provider} list")

    def _check_create(
        self, name: Any, description: Any, options: Mapping[str, Any]
    ) -> tuple[str, str | None]:
        require(self.capabilities, Capability.CREATE, self.provider)
        check_option_values(options, self.create_options, f"{self.provider} create")
        name, description = check_name(name), check_description(description)
        self._note_dropped_description(description)
        return name, description

    def _check_update(self, space_id: Any, name: Any, description: Any) -> tuple[str, dict[str, Any]]:
        require(self.capabilities, Capability.UPDATE, self.provider)
        space_id, changes = check_id(space_id), _changes(name, description)
        self._note_dropped_description(changes.get("description"))
        return space_id, changes

    def _note_dropped_description(self, description: str | None) -> None:
        """Create and update treat alike a description the store cannot keep: it is left
        out, and a ``FieldDroppedWarning`` says so (before any request).

        An empty description (or None) holds nothing and passes quietly; callers
        copying spaces between stores (migrations) ask ``writable_fields`` first.
        """
        if description and "description" not in self.writable_fields:
            message = f"the {self.provider} store keeps no description: it was left out"
            warnings.warn(FieldDroppedWarning(message), stacklevel=4)

    def _check_subspace(self, space_id: Any, name: Any) -> tuple[str, str]:
        require(self.capabilities, Capability.SUBSPACES, self.provider)
        return check_id(space_id), check_subspace_name(name)

    def _check_new_subspace(
        self, space_id: Any, name: Any, description: Any, private: Any
    ) -> tuple[str, str, str, bool]:
        space_id, name = self._check_subspace(space_id, name)
        if not isinstance(private, bool):
            raise ValidationError(
                f"private must be True or False, not {private!r}", fields={"private": "not a boolean"}
            )
        return space_id, name, check_description(description) or "", private

    def _check_request(self, method: Any, path: Any, params: Any, json: Any, retry_safe: Any) -> Request:
        require(self.capabilities, Capability.REQUEST, self.provider)
        method, path, query = check_passthrough(method, path, params, json, base_url=self.location)
        if retry_safe is not None and not isinstance(retry_safe, bool):
            raise ValidationError(f"retry_safe must be True, False or None, not {retry_safe!r}")
        return Request(method, path, params=query, json=json, retry_safe=retry_safe)

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

    def create_subspace(
        self, space_id: str, name: str, *, description: str = "", private: bool = True
    ) -> Subspace:
        """Create a subspace of a space (only where ``Capability.SUBSPACES``).

        ``name`` is letters, digits, underscores and hyphens, checked before any
        request; ``Conflict`` if the space already holds a subspace of that name.
        Returns the subspace as stored.
        """
        args = self._check_new_subspace(space_id, name, description, private)
        return self._create_subspace(*args)

    def get_subspace(self, space_id: str, name: str) -> Subspace:
        """One subspace of a space by name; ``NotFound`` when absent."""
        return self._get_subspace(*self._check_subspace(space_id, name))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | float] | None = None,
        json: Any = None,
        retry_safe: bool | None = None,
    ) -> Response:
        """Send one request to a path under the store's base URL (``Capability.REQUEST``).

        It goes through the same engine as every operation: credentials, retries,
        rate limits, error mapping and redaction. A status of 400 or more raises the
        error an operation would. ``path`` must stay under the base URL: an absolute
        URL, ``//host``, or ``..`` (even percent-encoded) is a ``ValidationError``
        before anything is sent. GET, HEAD, OPTIONS, PUT and DELETE are retried
        after failures; POST and PATCH only with ``retry_safe=True``.
        """
        return self._request(self._check_request(method, path, params, json, retry_safe))

    def check(self) -> None:
        """Make the cheapest authenticated request the store offers; raise what it answers.

        Returns nothing when the store is reachable and takes its credentials;
        otherwise ``AuthenticationError``, ``PermissionDenied``,
        ``ProviderUnavailable`` and the rest of the error tree.
        """
        self._check()

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

    def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        raise NotImplementedError  # only reached where Capability.SUBSPACES is declared

    def _get_subspace(self, space_id: str, name: str) -> Subspace:
        raise NotImplementedError

    def _request(self, call: Request) -> Response:
        raise NotImplementedError  # only reached where Capability.REQUEST is declared

    def _check(self) -> None:
        """By default: read the first space listed."""
        if Capability.LIST in self.capabilities:
            next(iter(self._list(None, {})), None)

    def _close(self) -> None:
        return None


class AsyncSpaceStore(_Base, abc.ABC):
    """The asynchronous twin of ``SpaceStore``: the same methods as coroutines."""

    def list(self, query: str | None = None, **options: Any) -> AsyncIterator[Space]:
        """Every space, lazily, as an async iterator; checks run before the first page."""
        self._check_list(query, options)
        return self._list(query or None, options)

    async def get(self, space_id: str) -> Space:
        """``SpaceStore.get``, awaited."""
        require(self.capabilities, Capability.GET, self.provider)
        return await self._get(check_id(space_id))

    async def create(self, name: str, description: str | None = None, **options: Any) -> Space:
        """``SpaceStore.create``, awaited."""
        name, description = self._check_create(name, description, options)
        return await self._create(name, description, options)

    async def update(self, space_id: str, *, name: Any = UNSET, description: Any = UNSET) -> Space:
        """``SpaceStore.update``, awaited."""
        space_id, changes = self._check_update(space_id, name, description)
        if not changes:
            return await self.get(space_id)
        return await self._update(space_id, changes)

    async def delete(self, space_id: str) -> None:
        """``SpaceStore.delete``, awaited."""
        require(self.capabilities, Capability.DELETE, self.provider)
        await self._delete(check_id(space_id))

    async def create_token(self, space_id: str, *, permanent: bool = False) -> SpaceToken:
        """``SpaceStore.create_token``, awaited."""
        require(self.capabilities, Capability.TOKENS, self.provider)
        return await self._create_token(check_id(space_id), bool(permanent))

    async def create_subspace(
        self, space_id: str, name: str, *, description: str = "", private: bool = True
    ) -> Subspace:
        """``SpaceStore.create_subspace``, awaited."""
        args = self._check_new_subspace(space_id, name, description, private)
        return await self._create_subspace(*args)

    async def get_subspace(self, space_id: str, name: str) -> Subspace:
        """``SpaceStore.get_subspace``, awaited."""
        return await self._get_subspace(*self._check_subspace(space_id, name))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | float] | None = None,
        json: Any = None,
        retry_safe: bool | None = None,
    ) -> Response:
        """``SpaceStore.request``, awaited."""
        return await self._request(self._check_request(method, path, params, json, retry_safe))

    async def check(self) -> None:
        """``SpaceStore.check``, awaited."""
        await self._check()

    async def aclose(self) -> None:
        """Release connections and files (``SpaceStore.close``, awaited). Closing twice is harmless."""
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

    async def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        raise NotImplementedError

    async def _get_subspace(self, space_id: str, name: str) -> Subspace:
        raise NotImplementedError

    async def _request(self, call: Request) -> Response:
        raise NotImplementedError

    async def _check(self) -> None:
        if Capability.LIST in self.capabilities:
            listing = self._list(None, {})
            try:
                await anext(listing, None)
            finally:
                close = getattr(listing, "aclose", None)
                if close is not None:
                    await close()

    async def _close(self) -> None:
        return None
