"""The plan: what happens to each source space on the target, decided before any write.

``check_run`` refuses, before any request, a run the stores cannot perform (a policy
the target lacks the capability for, a store migrated onto itself). ``TargetIndex``
holds what the target had when the run began, by name (names and ids only), and
what this run has claimed since. ``Planner.plan`` turns one source space, with its
journal record if any, into a ``Record``: create, rename, update, skip or fail,
with the fields the target cannot hold. Planning runs in one thread, in source
order, so names are reserved deterministically ("Name (2)", "Name (3)").

Identity is decided by one rule (``TargetIndex.candidates``): a target space may be
the result of a write whose answer was lost only if it bears exactly the intended
name, or the form the target declares it stores that name in
(``SpaceStore.stored_name``), was not among the spaces bearing it when the write
was first sent (``Record.preexisting``), and is not already claimed by another
source space; then what the provider says of it, an owner or a creation time, is
the evidence (``_evidence``). Nothing is matched by resemblance.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from .._errors import NotFound, SpacekitError, Unsupported, ValidationError, in_cli_words
from .._listing import until_complete
from .._model import Capability, Space, SpaceKind
from .._store import SpaceStore
from .._validate import MAX_NAME
from ._evidence import judge
from ._fingerprints import Fingerprints
from ._journal import Journal
from ._record import Action, Outcome, Record, State
from ._report import Identity
from ._stores import canonical_location
from ._subspaces import set_apart

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
        refusal = (
            "{policy} needs a target that can update spaces, and the "
            f"{target.provider} store cannot; choose {{others}}"
        )
        error = Unsupported(refusal.format(policy="on_conflict='update'", others="skip, rename or fail"))
        cli = refusal.format(policy="--on-conflict update", others="--on-conflict skip, rename or fail")
        raise in_cli_words(error, cli)


def store_notes(source: SpaceStore, target: SpaceStore) -> tuple[str, ...]:
    """What a migration never carries, whatever the spaces hold (shown on request)."""
    if Capability.TOKENS in source.capabilities and Capability.TOKENS not in target.capabilities:
        return (
            f"space tokens: {source.provider} tokens are secrets bound to {source.provider}; "
            f"any the spaces have are not copied (the {target.provider} store has none)",
        )
    return ()


def check_distinct(source: SpaceStore, src: Identity, target: SpaceStore, dst: Identity) -> None:
    """Refuse, before any request, a store migrated onto itself (however spelled)."""
    same = source is target or (src.name is not None and src.name == dst.name)
    one_place = canonical_location(source.location) == canonical_location(target.location)
    if not same and source.provider == target.provider and one_place:
        if source.provider == "local":
            same = source.location != ":memory:"
        else:  # one remote account: the same URL and the same credentials
            same = account(source) == account(target) != ()
    if same:
        raise ValidationError(
            f"the source and the target are the same store ({src}); a store cannot be migrated onto itself"
        )


def account(store: SpaceStore) -> tuple[str, ...]:
    """What tells one remote account from another at the same URL: the credentials
    (compared, never shown) and, for an in-process transport (an emulator), which one."""
    provider = getattr(store, "_provider", None)
    secrets = getattr(provider, "secrets", None)
    if not callable(secrets):
        return ()
    return (*sorted(secrets()), *wiring(store))


def wiring(store: SpaceStore) -> tuple[str, ...]:
    """Which in-process transport (an emulator) a remote store is wired to, if any."""
    transport = getattr(getattr(store, "_provider", None), "config", {}).get("transport")
    server = getattr(transport, "emulator", transport)  # the emulator behind its transports
    return (f"transport {id(server)}",) if transport is not None else ()


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


def over_held(wanted: Mapping[str, int], spaces: Iterable[Space], target: SpaceStore) -> list[str]:
    """Each name of ``wanted`` (a name -> how many source spaces want it) that ``spaces``
    (the target, listed after the run) hold more times, in the form the target stores
    it or as given, with their ids: a duplicate the run may have made."""
    stored = {target.stored_name(name): name for name in wanted}
    holding: dict[str, list[str]] = {}
    for space in spaces:
        name = space.name if space.name in wanted else stored.get(space.name)
        if name is not None:
            holding.setdefault(name, []).append(space.id)
    return [
        f"the target holds {name!r} {len(ids)} times ({', '.join(ids)}), the source {wanted[name]}"
        for name, ids in sorted(holding.items())
        if len(ids) > wanted[name]
    ]


class TargetIndex:
    """The target's spaces when the run began, by name; the names this run reserved
    and the target ids mapped to a source space (by this run or, per the journal, an
    earlier one). Thread-safe."""

    def __init__(self, target: SpaceStore, claimed: Iterable[str] = ()) -> None:
        self.target = target
        self._by_name: dict[str, list[str]] = {}
        self._known = Fingerprints()  # every id listed at the start
        self._reserved = Fingerprints()  # names this run creates
        self._claimed = Fingerprints(claimed)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, target: SpaceStore, claimed: Iterable[str] = ()) -> TargetIndex:
        """The target as listed now; listed again while a listing falls short of the
        count the provider states (a create planned against a short look duplicates)."""
        index = cls(target, claimed)

        def once() -> TargetIndex:
            index._by_name, index._known = {}, Fingerprints()  # what a short look saw: forgotten
            for space in target.list():
                index.add(space.id, space.name)
            return index

        return until_complete(once)

    def add(self, target_id: str, name: str) -> None:
        """A target space known from elsewhere (a sync's own listing)."""
        with self._lock:
            self._by_name.setdefault(name, []).append(target_id)
            self._known.add(target_id)

    def names(self, name: str) -> tuple[str, ...]:
        """The name, and the form the target stores it in if that differs."""
        stored = self.target.stored_name(name)
        return (name,) if stored == name else (name, stored)

    def present(self, target_id: str) -> bool:
        """Whether the space was on the target when the run began."""
        return target_id in self._known

    def holding(self, name: str) -> tuple[str, ...]:
        """The ids that bore ``name`` (or its stored form) when the run began."""
        with self._lock:
            return tuple(i for n in self.names(name) for i in self._by_name.get(n, ()))

    def held_name(self, target_id: str, name: str) -> str:
        """Which of ``name`` and its stored form the space ``target_id`` bore at the start."""
        with self._lock:
            return next((n for n in self.names(name) if target_id in self._by_name.get(n, ())), name)

    def unclaimed(self, name: str) -> str | None:
        """A space bearing ``name`` (or its stored form) that no source space maps to:
        a conflict for a new one."""
        held = self.holding(name)
        with self._lock:
            return next((i for i in held if i not in self._claimed), None)

    def candidates(
        self, name: str, preexisting: Iterable[str], found: Iterable[tuple[str, str]] | None = None
    ) -> list[str]:
        """The ids of the spaces that a write of ``name``, of lost outcome, may have
        made: bearing exactly ``name`` or its stored form, absent when the write was
        first sent, and claimed by no source space (whether one is, the evidence
        decides: ``_evidence.judge``). ``found`` is a fresh look at the target, as
        (id, name) pairs, where a space the run's first listing held is excluded too;
        without it, the target as it was when the run began."""
        wanted = set(self.names(name))
        before = set(preexisting)
        fresh = found is not None
        pairs = found if found is not None else [(i, n) for n in wanted for i in self._by_name.get(n, ())]
        with self._lock:
            return [
                target_id
                for target_id, held in pairs
                if held in wanted
                and target_id not in before
                and target_id not in self._claimed
                and not (fresh and target_id in self._known)  # listed before this run wrote anything
            ]

    def taken(self, name: str) -> bool:
        with self._lock:
            return name in self._by_name or name in self._reserved

    def reserve(self, name: str) -> None:
        with self._lock:
            self._reserved.add(name)

    def claim(self, target_id: str) -> None:
        with self._lock:
            self._claimed.add(target_id)

    def claimed(self, target_id: str) -> bool:
        with self._lock:
            return target_id in self._claimed

    def free_name(self, name: str) -> str:
        """ "Name (2)", "Name (3)"...: the first not taken, the name cut to fit the limit."""
        number = 2
        while self.taken(_numbered(name, number)):
            number += 1
        return _numbered(name, number)


def _numbered(name: str, number: int) -> str:
    suffix = f" ({number})"
    return name[: MAX_NAME - len(suffix)] + suffix


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
        carry_subspaces: bool = False,
    ) -> None:
        self.target = target
        self.index = index
        self.on_conflict = on_conflict
        self.journal = journal
        self.transform = transform
        #: subspaces are created one by one after their space (``_subspaces``), not lost
        self.carry_subspaces = carry_subspaces
        #: the source ids the journal held when the run began: only those are looked up
        #: in it (a row per space would otherwise be read while the workers write theirs)
        self._journaled = Fingerprints(journal.source_ids()) if journal else Fingerprints()

    def plan(self, source: Space) -> Record:
        journaled = self.journal is not None and source.id in self._journaled
        earlier = self.journal.get(source.id) if self.journal is not None and journaled else None
        if earlier is not None and earlier.state is State.DONE and self._still_there(earlier):
            earlier.action, earlier.outcome, earlier.journaled = Action.SKIP, Outcome.SKIPPED, False
            earlier.reason, earlier.error = "already migrated (journal)", None
            earlier.subspaces = source.subspaces if self.carry_subspaces else ()
            return earlier
        record = Record(source.id, source.name, source.description)
        try:
            space = self.transform(source) if self.transform else source
        except Exception as exc:  # the caller's code: its failure is this item's failure
            return self._decided(record, Action.FAIL, error=f"transform failed: {type(exc).__name__}: {exc}")
        if space is None:
            record.outcome = Outcome.SKIPPED
            return self._decided(record, Action.SKIP, State.EXCLUDED, reason="left out by the transform")
        if not isinstance(space, Space):
            return self._decided(
                record, Action.FAIL, error=f"transform returned {type(space).__name__}, not a Space"
            )
        if earlier is not None and earlier.unsettled:
            return self._resume(record, space, earlier)
        fresh = self._fresh(record, space)
        if earlier is not None and earlier.state is State.DONE:
            gone = f"migrated earlier as {earlier.target_id}, which is no longer on the target"
            fresh.reason = f"{gone}; {fresh.reason}" if fresh.reason else gone
        return fresh

    def _still_there(self, earlier: Record) -> bool:
        return earlier.target_id is None or self.index.present(earlier.target_id)

    def _decided(
        self,
        record: Record,
        action: Action,
        state: State | None = None,
        *,
        target_id: str | None = None,
        reason: str | None = None,
        error: str | None = None,
    ) -> Record:
        """A record settled without a write."""
        record.action, record.target_id, record.reason, record.error = action, target_id, reason, error
        record.state = state or (State.FAILED if action is Action.FAIL else State.SKIPPED)
        if record.outcome is Outcome.PLANNED:
            record.outcome = Outcome.FAILED if action is Action.FAIL else Outcome.SKIPPED
        return record

    def _fresh(self, record: Record, space: Space) -> Record:
        existing = self.index.unclaimed(space.name)  # spaces this migration made are no conflict
        if existing is None:
            return self._create(record, space, Action.CREATE, space.name)
        if self.on_conflict == "rename":
            return self._create(record, space, Action.RENAME, self.index.free_name(space.name))
        taken = f"a space named {space.name!r} already exists on the target (id {existing})"
        record.target_name, record.target_description = space.name, space.description
        if self.on_conflict == "update":
            return self._update(record, space, existing, taken)
        if self.on_conflict == "fail":
            return self._decided(record, Action.FAIL, target_id=existing, error=taken)
        return self._decided(record, Action.SKIP, target_id=existing, reason=taken)

    def _create(self, record: Record, space: Space, action: Action, name: str) -> Record:
        self.index.reserve(name)
        description, options = create_arguments(space, self.target)
        record.action, record.target_name = action, name
        record.target_description, record.options = description, options
        record.lost = lost_fields(space, self.target)
        return self._subspaces(record, space)

    def _update(self, record: Record, space: Space, target_id: str, reason: str | None) -> Record:
        changes: dict[str, Any] = {}
        if "description" in self.target.writable_fields:
            changes["description"] = space.description
        self.index.claim(target_id)
        record.action, record.target_id, record.changes = Action.UPDATE, target_id, changes
        record.target_name, record.target_description = space.name, space.description
        record.lost = lost_fields(space, self.target, updating=True)
        record.reason = reason
        return self._subspaces(record, space)

    def _subspaces(self, record: Record, space: Space) -> Record:
        if self.carry_subspaces:
            record.subspaces = space.subspaces
            record.options, record.lost = set_apart(record.options, record.lost)
        return record

    def _resume(self, record: Record, space: Space, earlier: Record) -> Record:
        """An earlier write may have landed: look on the target before writing again."""
        name = earlier.target_name or space.name
        if earlier.action is Action.UPDATE and earlier.target_id is not None:
            return self._update(
                record, space, earlier.target_id, "resumed: the earlier update's outcome was unknown"
            )
        self._create(record, space, earlier.action, name)
        # as they were when the write was first sent
        record.preexisting, record.sent_at = earlier.preexisting, earlier.sent_at
        try:
            spaces = self._read(self.index.candidates(name, earlier.preexisting or ()))
            adoption = judge(spaces, record.sent_at, self.target.caller())
        except SpacekitError as exc:
            error = (
                f"an earlier write's outcome is unknown and looking it up failed ({exc}); "
                "the next run looks again before writing"
            )
            record.state, record.outcome, record.error = State.UNKNOWN, Outcome.FAILED, error
            return record
        if adoption.space is None:  # ours is not there
            taken = self.index.unclaimed(name) is not None
            if taken:
                # the name is held by a space that is not ours (someone else's, or there
                # before the write was sent): planned as a new create would be
                record = self._fresh(record, space)
            if adoption.refused:
                note = f"not this write's result: {adoption.refusals()}"
                first = note if taken else f"written again: {note}"
                record.reason = f"{record.reason}; {note}" if record.reason else first
            return record  # not there: written again, unless the name is taken
        found = adoption.space.id
        self.index.claim(found)
        record.target_id, record.stored_name = found, self.index.held_name(found, name)
        record.state, record.outcome = State.DONE, Outcome.CREATED
        record.reason = adoption.reason(
            "found on the target after an earlier write of uncertain outcome; not written again",
            "did not bear it when the write was first sent",
        )
        return record

    def _read(self, ids: list[str]) -> list[Space]:
        """The candidates as the target shows them now (one read each; few, and rare)."""
        spaces = []
        for target_id in ids:
            try:
                spaces.append(self.target.get(target_id))
            except NotFound:
                continue  # gone since the run listed it
        return spaces
