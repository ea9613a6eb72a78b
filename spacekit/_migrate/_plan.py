"""The plan: what happens to each source space on the target, decided before any write.

``check_run`` refuses, before any request, a run the stores cannot perform (a policy
the target lacks the capability for). ``TargetIndex`` holds what the target has,
by name (listed once per run, names and ids only). ``Planner.plan`` turns one
source space, with its journal row if any, into a ``Step``: create, rename, update,
skip or fail, with the fields the target cannot hold. Planning runs in one thread,
in source order, so names are reserved deterministically ("Name (2)", "Name (3)").
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from .._errors import Unsupported, ValidationError
from .._model import Capability, Space, SpaceKind
from .._store import SpaceStore
from ._journal import UNRESOLVED, Entry, Journal, State
from ._report import Action, MigrationItem, Outcome

POLICIES: Final = ("skip", "update", "rename", "fail")
#: Space fields a migration carries beyond the name, where the target keeps them
CARRIED: Final = ("description", "kind", "owner", "admins", "subspaces", "image_url")

Select = str | Iterable[str] | Callable[[Space], bool] | None
Transform = Callable[[Space], Space | None]


def check_run(source: SpaceStore, target: SpaceStore, on_conflict: str, concurrency: object) -> None:
    """Refuse, before any request, what this pair of stores cannot do."""
    if on_conflict not in POLICIES:
        raise ValidationError(f"on_conflict must be one of {', '.join(POLICIES)}, not {on_conflict!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"concurrency must be a whole number of at least 1, not {concurrency!r}")
    if Capability.LIST not in source.capabilities:
        raise Unsupported(
            f"the source ({source.provider}) cannot list its spaces, so nothing can be migrated"
        )
    for capability in (Capability.LIST, Capability.CREATE):
        if capability not in target.capabilities:
            raise Unsupported(f"the target ({target.provider}) cannot {capability.value} spaces")
    if on_conflict == "update" and Capability.UPDATE not in target.capabilities:
        raise Unsupported(
            f"on_conflict='update' needs a target that can update spaces, and the {target.provider} "
            "store cannot; choose skip, rename or fail"
        )


def store_warnings(source: SpaceStore, target: SpaceStore) -> tuple[str, ...]:
    """What is lost whatever the spaces hold."""
    if Capability.TOKENS in source.capabilities:
        where = "" if Capability.TOKENS in target.capabilities else f"; the {target.provider} store has none"
        return (
            f"tokens: {source.provider} space tokens are secrets bound to {source.provider} and are "
            f"not copied{where}",
        )
    return ()


def patterns(select: Select) -> list[str] | None:
    """The names and globs of a selection, for the journal (a predicate records none)."""
    if select is None:
        return None
    if isinstance(select, str):
        return [select]
    if callable(select):
        return []
    return list(select)


def selector(select: Select) -> Callable[[Space], bool]:
    """A predicate on source spaces: names (exact) or globs, a callable, or everything."""
    if select is None:
        return lambda space: True
    if callable(select) and not isinstance(select, str):
        return select
    names = patterns(select) or []
    if not names or not all(isinstance(name, str) for name in names):
        raise ValidationError("select must be names or globs (strings), a predicate, or None")
    return lambda space: any(space.name == n or fnmatch.fnmatchcase(space.name, n) for n in names)


def matches(select: list[str] | None, name: str) -> bool:
    """Whether a recorded selection (see ``patterns``) takes a space of this name."""
    return select is None or any(name == n or fnmatch.fnmatchcase(name, n) for n in select)


def lost_fields(space: Space, target: SpaceStore, *, updating: bool = False) -> tuple[str, ...]:
    """The fields with a value in ``space`` that the target will not hold."""
    kept = {"description"} & target.writable_fields if updating else target.writable_fields
    return tuple(field for field in CARRIED if _has_value(space, field) and field not in kept)


def _has_value(space: Space, field: str) -> bool:
    value = getattr(space, field)
    return value is not None and value != () and value is not SpaceKind.WORKSPACE


def create_arguments(space: Space, target: SpaceStore) -> tuple[str | None, dict[str, Any]]:
    """The description and the create options the target keeps, from ``space``."""
    description = space.description if "description" in target.writable_fields else None
    options: dict[str, Any] = {
        field: getattr(space, field)
        for field in CARRIED[1:]
        if field in target.create_options and _has_value(space, field)
    }
    return description, options


@attrs.frozen
class Known:
    """A target space as the index holds it."""

    id: str
    name: str
    description: str | None = None


class TargetIndex:
    """The target's spaces by name, with the names this run has reserved and the ids
    already mapped to a source space. Thread-safe."""

    def __init__(self, claimed: Iterable[str] = ()) -> None:
        self._by_name: dict[str, list[Known]] = {}
        self._ids: set[str] = set()
        self._reserved: set[str] = set()
        self._claimed = set(claimed)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, target: SpaceStore, claimed: Iterable[str] = ()) -> TargetIndex:
        index = cls(claimed)
        for space in target.list():
            index.add(Known(space.id, space.name, space.description))
        return index

    def add(self, known: Known) -> None:
        with self._lock:
            if known.id not in self._ids:
                self._by_name.setdefault(known.name, []).append(known)
                self._ids.add(known.id)

    def has_id(self, target_id: str) -> bool:
        with self._lock:
            return target_id in self._ids

    def first(self, name: str) -> Known | None:
        with self._lock:
            found = self._by_name.get(name)
            return found[0] if found else None

    def unclaimed(self, name: str) -> Known | None:
        with self._lock:
            return next((k for k in self._by_name.get(name, ()) if k.id not in self._claimed), None)

    def taken(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name or name in self._reserved

    def reserve(self, name: str) -> None:
        with self._lock:
            self._reserved.add(name)

    def claim(self, target_id: str) -> None:
        with self._lock:
            self._claimed.add(target_id)

    def free_name(self, name: str) -> str:
        number = 2
        while self.taken(f"{name} ({number})"):
            number += 1
        return f"{name} ({number})"


@attrs.frozen
class Step:
    """One planned item: what to do, and what to record, for one source space."""

    source: Space
    action: Action
    target_name: str | None = None
    description: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    changes: Mapping[str, Any] = attrs.field(factory=dict)  # for an update
    target_id: str | None = None
    lost: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    #: the target space was found after an earlier write of unknown outcome: nothing to write
    reconciled: bool = False
    #: what to journal for a step decided without a write (None: nothing new to record)
    record: State | None = None

    @property
    def writes(self) -> bool:
        return self.action in (Action.CREATE, Action.RENAME, Action.UPDATE) and not self.reconciled

    def entry(self, state: State, *, target_id: str | None = None, error: str | None = None) -> Entry:
        return Entry(
            source_id=self.source.id,
            source_name=self.source.name,
            source_description=self.source.description,
            action=self.action,
            state=state,
            target_name=self.target_name,
            target_description=self.description,
            target_id=target_id or self.target_id,
            error=error,
        )

    def item(
        self,
        outcome: Outcome,
        *,
        target_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> MigrationItem:
        return MigrationItem(
            source_id=self.source.id,
            source_name=self.source.name,
            action=self.action,
            outcome=outcome,
            target_id=target_id or self.target_id,
            target_name=self.target_name,
            lost=self.lost,
            reason=reason or self.reason,
            error=error or self.error,
        )


class Planner:
    """Plans source spaces one at a time, in order, against the target index."""

    def __init__(
        self,
        target: SpaceStore,
        index: TargetIndex,
        *,
        on_conflict: str,
        journal: Journal | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.target = target
        self.index = index
        self.on_conflict = on_conflict
        self.journal = journal
        self.transform = transform

    def plan(self, source: Space) -> Step:
        entry = self.journal.get(source.id) if self.journal else None
        if entry is not None and entry.state is State.DONE:
            gone = entry.target_id is not None and not self.index.has_id(entry.target_id)
            reason = "already migrated (journal)" + ("; the target space is no longer listed" if gone else "")
            return Step(source, Action.SKIP, entry.target_name, target_id=entry.target_id, reason=reason)
        try:
            space = self.transform(source) if self.transform else source
        except Exception as exc:  # the caller's code: its failure is this item's failure
            return Step(
                source,
                Action.FAIL,
                error=f"transform failed: {type(exc).__name__}: {exc}",
                record=State.FAILED,
            )
        if space is None:
            return Step(source, Action.SKIP, reason="left out by the transform", record=State.EXCLUDED)
        if not isinstance(space, Space):
            return Step(
                source,
                Action.FAIL,
                error=f"transform returned {type(space).__name__}, not a Space",
                record=State.FAILED,
            )
        if entry is not None and entry.state in UNRESOLVED:
            return self._reconcile(source, space, entry)
        return self._fresh(source, space)

    def _fresh(self, source: Space, space: Space) -> Step:
        existing = self.index.first(space.name)
        if existing is None:
            return self._create(source, space, Action.CREATE, space.name)
        if self.on_conflict == "rename":
            return self._create(source, space, Action.RENAME, self.index.free_name(space.name))
        taken = f"a space named {space.name!r} already exists on the target (id {existing.id})"
        if self.on_conflict == "update":
            return self._update(source, space, existing, taken)
        if self.on_conflict == "fail":
            return Step(
                source, Action.FAIL, space.name, target_id=existing.id, error=taken, record=State.FAILED
            )
        return Step(
            source,
            Action.SKIP,
            space.name,
            space.description,
            target_id=existing.id,
            reason=taken,
            record=State.SKIPPED,
        )

    def _create(self, source: Space, space: Space, action: Action, name: str) -> Step:
        self.index.reserve(name)
        description, options = create_arguments(space, self.target)
        return Step(source, action, name, description, options, lost=lost_fields(space, self.target))

    def _update(self, source: Space, space: Space, existing: Known, reason: str | None) -> Step:
        changes: dict[str, Any] = {}
        if "description" in self.target.writable_fields and existing.description != space.description:
            changes["description"] = space.description
        self.index.claim(existing.id)
        return Step(
            source,
            Action.UPDATE,
            space.name,
            space.description,
            changes=changes,
            target_id=existing.id,
            lost=lost_fields(space, self.target, updating=True),
            reason=reason,
        )

    def _reconcile(self, source: Space, space: Space, entry: Entry) -> Step:
        """An earlier write's outcome is unknown: look on the target before writing again."""
        name = entry.target_name or space.name
        if entry.action is Action.UPDATE and entry.target_id is not None:
            known = Known(entry.target_id, name, None)
            return self._update(source, space, known, "resumed: the earlier update's outcome was unknown")
        found = self.index.unclaimed(name)
        if found is not None:
            self.index.claim(found.id)
            description, options = create_arguments(space, self.target)
            return Step(
                source,
                entry.action,
                name,
                description,
                options,
                target_id=found.id,
                lost=lost_fields(space, self.target),
                reconciled=True,
                reason="found on the target after a write of unknown outcome; not written again",
            )
        return self._create(source, space, entry.action, name)
