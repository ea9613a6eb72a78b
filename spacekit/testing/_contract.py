"""The contract every store must keep: one pytest suite that any plugin reuses.

Subclass ``SpaceStoreContract`` in a test module and give it two fixtures, a fresh
synchronous store and a fresh asynchronous one::

    from spacekit.testing import SpaceStoreContract

    class TestMyStore(SpaceStoreContract):
        @pytest.fixture
        def store(self):
            with spacekit.connect("mine", base_url=...) as store:
                yield store

        @pytest.fixture
        async def async_store(self):
            async with spacekit.connect_async("mine", base_url=...) as store:
                yield store

Each test needs as few capabilities as it can and skips, saying why, when the store
lacks one. Test spaces come from ``new_space`` (and ``new_async_space``): override
them for a store that cannot create spaces the plain way, say to pass options or
to hand out existing spaces. Names carry a random suffix and assertions look only at
the spaces a test made, so the suite can run against a shared emulator or a
provider that already holds spaces. Spaces a test made are deleted afterwards where
the store can delete.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from .._errors import Conflict, NotFound, Unsupported, ValidationError
from .._model import Capability, Space
from .._store import AsyncSpaceStore, SpaceStore
from .._validate import describe
from ._emulator import Emulator

BAD_NAMES: tuple[tuple[str, str], ...] = (
    ("empty", ""),
    ("blank", "   "),
    ("too long", "x" * 256),
    ("NUL", "bad\x00name"),
    ("newline", "bad\nname"),
    ("escape", "bad\x1bname"),
)

# How to call each operation a capability guards (SEARCH guards no method of its own).
_OPERATIONS: dict[Capability, Callable[[SpaceStore], object]] = {
    Capability.LIST: lambda store: list(store.list()),
    Capability.GET: lambda store: store.get("1"),
    Capability.CREATE: lambda store: store.create("spacekit-contract"),
    Capability.UPDATE: lambda store: store.update("1", name="spacekit-contract"),
    Capability.DELETE: lambda store: store.delete("1"),
    Capability.TOKENS: lambda store: store.create_token("1"),
    Capability.SUBSPACES: lambda store: store.get_subspace("1", "spacekit-contract"),
    Capability.REQUEST: lambda store: store.request("GET", "/"),
}

BAD_SUBSPACE_NAMES: tuple[object, ...] = ("", "has space", "a/b", "..", "dots.are.bad", "é", "x" * 256, 42)
HOSTILE_PATHS: tuple[str, ...] = (
    "https://evil.example/",
    "//evil.example/",
    "/../../escape",
    "/%2e%2e/escape",
    "\\\\evil.example\\x",
)


def unique_name(label: str) -> str:
    """A space name no other test run will use."""
    return f"spacekit-contract-{label}-{uuid.uuid4().hex[:12]}"


def needs(store: SpaceStore | AsyncSpaceStore, *capabilities: Capability) -> None:
    """Skip the running test unless the store has every one of ``capabilities``."""
    missing = [describe(c) for c in capabilities if c not in store.capabilities]
    if missing:
        pytest.skip(f"the {store.provider} store cannot {' or '.join(missing)}")


class SpaceStoreContract:
    """The behaviour every ``SpaceStore`` and ``AsyncSpaceStore`` shares.

    Subclasses provide the ``store`` and ``async_store`` fixtures; they may
    override ``new_space``, ``new_async_space``, ``missing_id`` and
    ``compared_fields``.
    """

    #: an id the store cannot know, for "unknown id" tests
    missing_id: ClassVar[str] = "999999999"
    #: the Space fields that must read back the same as ``create`` returned them
    compared_fields: ClassVar[tuple[str, ...]] = (
        "provider",
        "id",
        "name",
        "kind",
        "description",
        "owner",
        "admins",
        "subspaces",
        "image_url",
        "created_at",
        "updated_at",
    )
    description: ClassVar[str] = "made by the spacekit contract suite"

    # -- fixtures and hooks -----------------------------------------------------------

    @pytest.fixture
    def subject(self, store: SpaceStore) -> Iterator[SpaceStore]:
        """The ``store``, with the spaces a test made deleted afterwards."""
        self.made: list[str] = []
        yield store
        if Capability.DELETE in store.capabilities:
            for space_id in self.made:
                with contextlib.suppress(NotFound):
                    store.delete(space_id)

    @pytest_asyncio.fixture
    async def async_subject(self, async_store: AsyncSpaceStore) -> AsyncIterator[AsyncSpaceStore]:
        """The ``async_store``, with the spaces a test made deleted afterwards."""
        self.made = []
        yield async_store
        if Capability.DELETE in async_store.capabilities:
            for space_id in self.made:
                with contextlib.suppress(NotFound):
                    await async_store.delete(space_id)

    def new_space(self, store: SpaceStore, name: str) -> Space:
        """A space for a test, named ``name`` where the store lets the test choose.

        Override it for a store that needs create options, or that cannot create
        and can only hand out an existing space (tests then use that space's name).
        """
        needs(store, Capability.CREATE)
        return store.create(name, description=self.description)

    async def new_async_space(self, store: AsyncSpaceStore, name: str) -> Space:
        """``new_space`` through the async store."""
        needs(store, Capability.CREATE)
        return await store.create(name, description=self.description)

    def space(self, store: SpaceStore, label: str) -> Space:
        name = unique_name(label)
        return self._made(self.new_space(store, name), name)

    async def async_space(self, store: AsyncSpaceStore, label: str) -> Space:
        name = unique_name(label)
        return self._made(await self.new_async_space(store, name), name)

    def _made(self, space: Space, name: str) -> Space:
        # Only a space bearing the fresh name is surely the test's own to delete; one
        # that a ``new_space`` override handed out from what was there is left alone.
        if space.name == name:
            self.made.append(space.id)
        return space

    def fields(self, space: Space) -> dict[str, Any]:
        return {name: getattr(space, name) for name in self.compared_fields}

    # -- reading ----------------------------------------------------------------------

    def test_create_then_get(self, subject: SpaceStore) -> None:
        needs(subject, Capability.GET)
        created = self.space(subject, "get")
        assert created.provider == subject.provider
        assert self.fields(subject.get(created.id)) == self.fields(created)

    def test_created_space_keeps_name_and_description(self, subject: SpaceStore) -> None:
        needs(subject, Capability.CREATE, Capability.GET)
        name = unique_name("fields")
        created = subject.create(name, description=self.description)
        self.made.append(created.id)
        fetched = subject.get(created.id)
        assert fetched.name == name
        if "description" in subject.writable_fields:
            assert fetched.description == self.description

    def test_list_includes_created_spaces(self, subject: SpaceStore) -> None:
        needs(subject, Capability.LIST)
        made = {self.space(subject, "list").id, self.space(subject, "list").id}
        assert made <= {space.id for space in subject.list()}

    def test_list_query_filters_by_name(self, subject: SpaceStore) -> None:
        needs(subject, Capability.LIST)
        wanted, other = self.space(subject, "alpha"), self.space(subject, "beta")
        found = list(subject.list(query=wanted.name))
        assert wanted.id in {space.id for space in found}
        assert all(wanted.name.casefold() in space.name.casefold() for space in found)
        if wanted.name not in other.name:
            assert other.id not in {space.id for space in found}

    def test_get_unknown_id_is_not_found(self, subject: SpaceStore) -> None:
        needs(subject, Capability.GET)
        with pytest.raises(NotFound) as caught:
            subject.get(self.missing_id)
        assert isinstance(caught.value, LookupError)
        assert caught.value.provider == subject.provider

    # -- writing ----------------------------------------------------------------------

    def test_update_changes_only_the_given_field(self, subject: SpaceStore) -> None:
        needs(subject, Capability.UPDATE, Capability.GET)
        space = self.space(subject, "update")
        new_name = unique_name("renamed")
        updated = subject.update(space.id, name=new_name)
        fetched = subject.get(space.id)
        assert updated.id == fetched.id == space.id
        assert updated.name == fetched.name == new_name
        assert fetched.description == space.description
        assert fetched.kind == space.kind

    def test_update_description_leaves_the_name(self, subject: SpaceStore) -> None:
        needs(subject, Capability.UPDATE, Capability.GET)
        if "description" not in subject.writable_fields:
            pytest.skip(f"the {subject.provider} store keeps no descriptions")
        space = self.space(subject, "describe")
        subject.update(space.id, description="changed by the contract suite")
        fetched = subject.get(space.id)
        assert fetched.description == "changed by the contract suite"
        assert fetched.name == space.name

    def test_delete_then_get_is_not_found(self, subject: SpaceStore) -> None:
        needs(subject, Capability.DELETE, Capability.GET)
        space = self.space(subject, "delete")
        subject.delete(space.id)
        with pytest.raises(NotFound):
            subject.get(space.id)

    def test_delete_twice_is_not_found(self, subject: SpaceStore) -> None:
        needs(subject, Capability.DELETE)
        space = self.space(subject, "delete-twice")
        subject.delete(space.id)
        with pytest.raises(NotFound):
            subject.delete(space.id)

    def test_deleted_space_leaves_the_list(self, subject: SpaceStore) -> None:
        needs(subject, Capability.DELETE, Capability.LIST)
        kept, gone = self.space(subject, "kept"), self.space(subject, "gone")
        subject.delete(gone.id)
        listed = {space.id for space in subject.list()}
        assert kept.id in listed
        assert gone.id not in listed

    # -- refusals ---------------------------------------------------------------------

    @pytest.mark.parametrize("capability", sorted(_OPERATIONS), ids=str)
    def test_missing_capability_is_unsupported(self, subject: SpaceStore, capability: Capability) -> None:
        if capability in subject.capabilities:
            pytest.skip(f"the {subject.provider} store can {describe(capability)}")
        with pytest.raises(Unsupported):
            _OPERATIONS[capability](subject)

    @pytest.mark.parametrize(("label", "name"), BAD_NAMES, ids=[label for label, _ in BAD_NAMES])
    def test_bad_name_is_refused_before_storing(self, subject: SpaceStore, label: str, name: str) -> None:
        needs(subject, Capability.CREATE)
        before = self._ids(subject)
        with pytest.raises(ValidationError):
            subject.create(name)
        assert self._ids(subject) == before

    @pytest.mark.parametrize("name", [None, 42, b"bytes"], ids=["None", "int", "bytes"])
    def test_non_string_name_is_refused(self, subject: SpaceStore, name: Any) -> None:
        needs(subject, Capability.CREATE)
        with pytest.raises(ValidationError):
            subject.create(name)

    def test_bad_description_is_refused(self, subject: SpaceStore) -> None:
        needs(subject, Capability.CREATE)
        before = self._ids(subject)
        with pytest.raises(ValidationError):
            subject.create(unique_name("bad-description"), description="bad\x00text")
        assert self._ids(subject) == before

    def test_bad_rename_is_refused(self, subject: SpaceStore) -> None:
        needs(subject, Capability.UPDATE, Capability.GET)
        space = self.space(subject, "bad-rename")
        with pytest.raises(ValidationError):
            subject.update(space.id, name=" ")
        assert subject.get(space.id).name == space.name

    # -- subspaces --------------------------------------------------------------------

    def test_subspace_create_then_get(self, subject: SpaceStore) -> None:
        needs(subject, Capability.SUBSPACES)
        space = self.space(subject, "subspaces")
        made = subject.create_subspace(space.id, "contract_repo-1", description="made here", private=True)
        assert made.name == "contract_repo-1"
        assert made.description in ("made here", None)  # None: a provider that did not say
        assert made.private in (True, None)
        fetched = subject.get_subspace(space.id, "contract_repo-1")
        assert (fetched.name, fetched.owner) == (made.name, made.owner)
        assert fetched.description == made.description and fetched.private == made.private
        if Capability.GET in subject.capabilities:
            assert "contract_repo-1" in {s.name for s in subject.get(space.id).subspaces}
        public = subject.create_subspace(space.id, "contract_public", private=False)
        assert public.private in (False, None)

    def test_subspace_twice_is_a_conflict(self, subject: SpaceStore) -> None:
        needs(subject, Capability.SUBSPACES)
        space = self.space(subject, "subspace-twice")
        subject.create_subspace(space.id, "twice")
        with pytest.raises(Conflict):
            subject.create_subspace(space.id, "twice")
        if Capability.GET in subject.capabilities:
            assert [s.name for s in subject.get(space.id).subspaces].count("twice") == 1

    @pytest.mark.parametrize("name", BAD_SUBSPACE_NAMES, ids=repr)
    def test_bad_subspace_name_is_refused_before_storing(self, subject: SpaceStore, name: Any) -> None:
        needs(subject, Capability.SUBSPACES)
        space = self.space(subject, "bad-subspace")
        with pytest.raises(ValidationError):
            subject.create_subspace(space.id, name)
        if Capability.GET in subject.capabilities:
            assert subject.get(space.id).subspaces == space.subspaces

    def test_unknown_subspace_is_not_found(self, subject: SpaceStore) -> None:
        needs(subject, Capability.SUBSPACES)
        space = self.space(subject, "no-subspace")
        with pytest.raises(NotFound):
            subject.get_subspace(space.id, "never-made")

    # -- passthrough and check --------------------------------------------------------

    def test_check_passes_on_a_working_store(self, subject: SpaceStore) -> None:
        subject.check()  # returns nothing, raises nothing

    # (not named "path": a parameter overrides the fixture of that name, which a
    # store's own fixtures may use)
    @pytest.mark.parametrize("hostile_path", HOSTILE_PATHS)
    def test_passthrough_never_leaves_the_base_url(self, subject: SpaceStore, hostile_path: str) -> None:
        needs(subject, Capability.REQUEST)
        with pytest.raises(ValidationError):
            subject.request("GET", hostile_path)

    def _ids(self, store: SpaceStore) -> set[str] | None:
        """The ids listed now, or None where the store cannot list."""
        if Capability.LIST not in store.capabilities:
            return None
        return {space.id for space in store.list()}

    # -- the async store --------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_async_core_flow(self, async_subject: AsyncSpaceStore) -> None:
        store = async_subject
        needs(store, Capability.GET)
        space = await self.async_space(store, "async")
        assert self.fields(await store.get(space.id)) == self.fields(space)
        if Capability.LIST in store.capabilities:
            assert space.id in {found.id async for found in store.list(query=space.name)}
        if Capability.UPDATE in store.capabilities:
            new_name = unique_name("async-renamed")
            assert (await store.update(space.id, name=new_name)).name == new_name
            assert (await store.get(space.id)).name == new_name
        if Capability.DELETE in store.capabilities:
            await store.delete(space.id)
            with pytest.raises(NotFound):
                await store.get(space.id)
            with pytest.raises(NotFound):
                await store.delete(space.id)

    @pytest.mark.asyncio
    async def test_async_subspaces_and_check(self, async_subject: AsyncSpaceStore) -> None:
        store = async_subject
        await store.check()
        needs(store, Capability.SUBSPACES)
        space = await self.async_space(store, "async-subspace")
        await store.create_subspace(space.id, "async-repo")
        assert (await store.get_subspace(space.id, "async-repo")).name == "async-repo"
        with pytest.raises(Conflict):
            await store.create_subspace(space.id, "async-repo")

    @pytest.mark.asyncio
    async def test_async_get_unknown_id_is_not_found(self, async_subject: AsyncSpaceStore) -> None:
        needs(async_subject, Capability.GET)
        with pytest.raises(NotFound):
            await async_subject.get(self.missing_id)

    @pytest.mark.asyncio
    async def test_async_bad_name_is_refused(self, async_subject: AsyncSpaceStore) -> None:
        needs(async_subject, Capability.CREATE)
        with pytest.raises(ValidationError):
            await async_subject.create("bad\x00name")

    @pytest.mark.asyncio
    async def test_async_missing_capability_is_unsupported(self, async_subject: AsyncSpaceStore) -> None:
        missing = sorted(set(_OPERATIONS) - async_subject.capabilities)
        if not missing:
            pytest.skip(f"the {async_subject.provider} store has every capability")
        for capability in missing:
            with pytest.raises(Unsupported):
                await _async_operation(async_subject, capability)


async def _async_operation(store: AsyncSpaceStore, capability: Capability) -> object:
    if capability is Capability.LIST:
        return [space async for space in store.list()]
    if capability is Capability.GET:
        return await store.get("1")
    if capability is Capability.CREATE:
        return await store.create("spacekit-contract")
    if capability is Capability.UPDATE:
        return await store.update("1", name="spacekit-contract")
    if capability is Capability.DELETE:
        await store.delete("1")
        return None
    if capability is Capability.SUBSPACES:
        return await store.get_subspace("1", "spacekit-contract")
    if capability is Capability.REQUEST:
        return await store.request("GET", "/")
    return await store.create_token("1")


class EmulatorContract(SpaceStoreContract):
    """The contract against an emulator, in-process: subclasses give an ``emulator``
    fixture (a fresh ``spacekit.testing.Emulator``) and, if they like, ``settings``
    for the stores that connect to it (fast retries, say)."""

    settings: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def store(self, emulator: Emulator) -> Iterator[SpaceStore]:
        with emulator.connect(**self.settings) as opened:
            yield opened

    @pytest_asyncio.fixture
    async def async_store(self, emulator: Emulator) -> AsyncIterator[AsyncSpaceStore]:
        async with emulator.connect_async(**self.settings) as opened:
            yield opened
