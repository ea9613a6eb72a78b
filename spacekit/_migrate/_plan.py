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
from .._validate import MAX_NAME
from ._journal import UNRESOLVED, Entry, Journal, State
from ._report import Action, MigrationItem, Outcome

POLICIES: Final = ("skip", "update", "rename", "fail")
#: actions that create a target space
WRITTEN: Final = frozenset({Action.CREATE, Action.RENAME})
#: Space fields a migration carries beyond the name, where the target keeps them
CARRIED: Final = ("description", "kind", "owner", "admins", "subspaces", "image_url")
#: a target may cut names; one cut to fewer characters than this is not recognised
STEM: Final = 32

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


def resembles(wanted: str, got: str) -> bool:
    """Whether ``got`` is ``wanted`` as a target may store it: with surrounding or repeated
    whitespace removed, the case changed, or cut after at least ``STEM`` characters."""
    want, have = _normal(wanted), _normal(got)
    return have == want or (len(have) >= STEM and want.startswith(have))


def stem(name: str) -> str:
    """A query that finds ``name`` however a target rewrote it (see ``resembles``)."""
    return name.strip()[:STEM].split("  ")[0]


def _normal(name: str) -> str:
    return " ".join(name.split()).casefold()


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

    def unclaimed(self, name: str) -> Known | None:
        """A space of this name that no source space maps to: a conflict for a new one."""
        with self._lock:
            return next((k for k in self._by_name.get(name, ()) if k.id not in self._claimed), None)

    def resembling(self, name: str) -> Known | None:
        """An unclaimed space of this name or, failing that, of a name like it (``resembles``)."""
        exact = self.unclaimed(name)
        if exact is not None:
            return exact
        with self._lock:
            alike = (k for known in self._by_name.values() for k in known if resembles(name, k.name))
            return next(
                (k for k in alike if k.id not in self._claimed and k.name not in self._reserved), None
            )

    def taken(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name or name in self._reserved

    def reserved(self, name: str) -> bool:
        with self._lock:
            return name in self._reserved

    def reserve(self, name: str) -> None:
        with self._lock:
            self._reserved.add(name)

    def claim(self, target_id: str) -> None:
        with self._lock:
            self._claimed.add(target_id)

    def free_name(self, name: str) -> str:
        """ "Name (2)", "Name (3)"...: the first not taken, the name cut to fit the limit."""
        number = 2
        while self.taken(_numbered(name, number)):
            number += 1
        return _numbered(name, number)


def _numbered(name: str, number: int) -> str:
    suffix = f" ({number})"
    return name[: MAX_NAME - len(suffix)] + suffix


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
        target_name: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> MigrationItem:
        return MigrationItem(
            source_id=self.source.id,
            source_name=self.source.name,
            action=self.action,
            outcome=outcome,
            target_id=target_id or self.target_id,
            target_name=target_name or self.target_name,
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
        if entry is not None and entry.state is State.DONE and self._still_there(entry):
            reason = "already migrated (journal)"
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
        if entry is not None and entry.state is State.FAILED and entry.action in WRITTEN:
            # A create refused with an error may still have been applied (a proxy's
            # 5xx after the commit, a lying 409): look before writing again.
            found = self.index.resembling(entry.target_name or space.name)
            if found is not None:
                return self._found(source, space, entry.action, found)
        step = self._fresh(source, space)
        if entry is not None and entry.state is State.DONE:
            gone = f"migrated earlier as {entry.target_id}, which is no longer on the target"
            return attrs.evolve(step, reason=f"{gone}; {step.reason}" if step.reason else gone)
        return step

    def _still_there(self, entry: Entry) -> bool:
        return entry.target_id is None or self.index.has_id(entry.target_id)

    def _fresh(self, source: Space, space: Space) -> Step:
        existing = self.index.unclaimed(space.name)  # spaces this migration made are no conflict
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
        found = self.index.resembling(name)
        if found is not None:
            return self._found(source, space, entry.action, found)
        return self._create(source, space, entry.action, name)

    def _found(self, source: Space, space: Space, action: Action, found: Known) -> Step:
        """The space an earlier write of uncertain outcome made: claimed, not written again."""
        self.index.claim(found.id)
        description, options = create_arguments(space, self.target)
        return Step(
            source,
            action,
            found.name,
            description,
            options,
            target_id=found.id,
            lost=lost_fields(space, self.target),
            reconciled=True,
            reason="found on the target after an earlier write of uncertain outcome; not written again",
        )
