"""The sync plan: which target space is each source space's counterpart, and what to do.

Matching, in this order, so that a space renamed at the source is renamed on the
target rather than deleted and created again:

1. the counterpart the journal recorded for the source space (if it is still there);
2. else the first target space not yet matched with exactly the source's name; for a
   source space whose create the journal holds unsettled (sent, its answer lost),
   only a space the evidence allows to be that create's result (``_evidence``, as
   for a migration's adoption: not bearing the name when it was first sent, not
   owned by another user, not created before it was sent); a refuted one is no
   counterpart: kept, never updated or deleted, and the source space's item fails,
   naming it, with nothing written for it; an adoption no owner proves is marked
   "adopted after a lost answer";
3. else, for a manifest entry that says ``renamed_from``, the first target space not
   yet matched bearing one of its old names, the first listed first (an ``update``
   of the name, never a delete and a create).

Then each pair gets its action: ``create`` (no counterpart), ``update`` (the
counterpart differs in a field the target can write: the name, and the description
where the target keeps one), or ``keep``; each target space left unmatched (and
selected) gets ``delete`` when deletes are asked for and the target will let go of
it, else ``keep``. ``check_safety`` refuses a plan that changes too much of the
target. Planning makes no request: it works on the two listings it is given.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Final

import attrs

from .._errors import Unsupported, ValidationError, in_cli_words
from .._manifest import toml_string
from .._migrate._evidence import Adoption, judge
from .._migrate._plan import Transform, lost_fields
from .._migrate._record import Record
from .._migrate._subspaces import missing, set_apart
from .._model import Capability, Space
from .._store import SpaceStore
from ._report import CHANGES, Change, SyncAction, SyncItem, SyncOutcome, SyncReport, TooManyChanges

#: below this many target spaces, the max_changes rule does not apply
SAFETY_THRESHOLD: Final = 10
#: the journal key of a delete: a control character never starts a space id
DELETE_KEY: Final = "\x1fdelete:"
#: how alike two names must be (difflib's ratio) for a plan to suggest renamed_from
SIMILAR: Final = 0.5
#: how many deletes and creates are compared for that, each
SIMILAR_AT_MOST: Final = 200
NOT_IN_SOURCE: Final = "not in the source; kept (with delete, it would be deleted)"
#: an adoption's reason, and why its space is a candidate at all (``Adoption.reason``)
ADOPTED_HERE: Final = "found on the target after an earlier create of unknown outcome; not written again"
FIRST_SENT: Final = "did not bear it when the write was first sent"


@attrs.frozen
class Pair:
    """One planned item, with the spaces its writes need."""

    item: SyncItem
    #: the source space as the target should hold it (after the transform)
    wanted: Space | None = None
    #: the source space as listed (its id keys the journal)
    source: Space | None = None
    #: the counterpart on the target, as listed
    target: Space | None = None


@attrs.frozen
class Plan:
    pairs: tuple[Pair, ...]
    #: how many spaces the target held when it was listed
    total: int

    @property
    def items(self) -> tuple[SyncItem, ...]:
        return tuple(pair.item for pair in self.pairs)

    @property
    def changes(self) -> int:
        """The updates and deletes: what the max_changes rule counts."""
        return sum(p.item.action in (SyncAction.UPDATE, SyncAction.DELETE) for p in self.pairs)


def check_options(target: SpaceStore, delete: bool, max_changes: object, concurrency: object) -> Fraction:
    """Refuse, before any request, what cannot run; return ``max_changes`` as an exact fraction."""
    if isinstance(max_changes, bool) or not isinstance(max_changes, int | float) or not 0 <= max_changes <= 1:
        raise ValidationError(
            f"max_changes must be a fraction from 0 to 1 (0.3 is 30 %), not {max_changes!r}"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"concurrency must be a whole number of at least 1, not {concurrency!r}")
    if Capability.LIST not in target.capabilities:
        raise Unsupported(f"the target ({target.provider}) cannot list its spaces, so it cannot be synced")
    return Fraction(str(max_changes))


def make_plan(
    sources: Iterable[Space],
    targets: list[Space],
    target: SpaceStore,
    *,
    recorded: Mapping[str, str],
    delete: bool,
    in_scope: Callable[[Space], bool],
    transform: Transform | None = None,
    held_back: Collection[str] = (),
    renamed: Mapping[str, Sequence[str]] | None = None,
    unsettled: Mapping[str, Record] | None = None,
    carry_subspaces: bool = False,
) -> Plan:
    """The plan for ``sources`` (selected already) against the target's full listing.

    ``recorded`` maps a source id to the target id the journal holds for it;
    ``in_scope`` says which unmatched target spaces the sync may delete; ``held_back``
    are target ids the journal pairs with source spaces left out of this run (by the
    selection), never deleted: the source still holds them. ``renamed`` maps a source
    id to the names its space had before (a manifest's ``renamed_from``);
    ``unsettled`` maps a source id to the journal's record of its create whose
    outcome is unknown, whose counterpart by name the evidence must allow.
    ``carry_subspaces`` (both stores have subspaces, ``_migrate._subspaces.carried``):
    subspaces are not lost, and a counterpart lacking one (by exact name) is updated.
    """
    wanted = [(space, _transformed(space, transform)) for space in sources]
    matcher = _Matcher(targets, target)
    matched: dict[int, Space] = {}
    for number, (space, _) in enumerate(wanted):
        found = matcher.by_id(recorded.get(space.id))
        if found is not None:
            matched[number] = found
    judged: dict[int, Adoption] = {}
    for number, (space, want) in enumerate(wanted):
        if number not in matched:
            name = want.name if isinstance(want, Space) else space.name
            earlier = (unsettled or {}).get(space.id)
            if earlier is None:
                found = matcher.by_name(name)
            else:
                judged[number] = matcher.adopt(name, earlier)
                found = judged[number].space
            if found is not None:
                matched[number] = found
    was: dict[int, str] = {}
    for number, (space, _) in enumerate(wanted):
        for old in (renamed or {}).get(space.id, ()) if number not in matched | judged.keys() else ():
            found = matcher.by_name(old)
            if found is not None:
                matched[number], was[number] = found, old
                break
    pairs = [
        _judged(
            _pair(space, want, matched.get(number), target, was.get(number), carry_subspaces),
            judged.get(number),
        )
        for number, (space, want) in enumerate(wanted)
    ]
    for space in targets:
        if space.id in matcher.refuted:
            reason = f"not in the source as itself; kept: {matcher.refuted[space.id]}"
            item = SyncItem(
                SyncAction.KEEP, SyncOutcome.KEPT, target_id=space.id, target_name=space.name, reason=reason
            )
            pairs.append(Pair(item, target=space))
            continue
        if matcher.taken(space.id) or not in_scope(space):
            continue
        if space.id in held_back:
            reason = "the counterpart of a source space this selection leaves out; kept"
            pairs.append(
                Pair(
                    SyncItem(
                        SyncAction.KEEP,
                        SyncOutcome.KEPT,
                        target_id=space.id,
                        target_name=space.name,
                        reason=reason,
                    ),
                    target=space,
                )
            )
        else:
            pairs.append(_leftover(space, target, delete))
    return Plan(tuple(pairs), len(targets))


def _transformed(space: Space, transform: Transform | None) -> Space | str | None:
    """The space as wanted on the target, None (left out), or why the transform failed."""
    if transform is None:
        return space
    try:
        result = transform(space)
    except Exception as exc:  # the caller's code: its failure is this item's failure
        return f"transform failed: {type(exc).__name__}: {exc}"
    if result is not None and not isinstance(result, Space):
        return f"transform returned {type(result).__name__}, not a Space"
    return result


class _Matcher:
    """The target's spaces by id and by name, each matched at most once."""

    def __init__(self, targets: list[Space], store: SpaceStore) -> None:
        self._store = store
        self._by_id = {space.id: space for space in targets}
        self._by_name: dict[str, list[Space]] = {}
        for space in targets:
            self._by_name.setdefault(space.name, []).append(space)
        self._taken: set[str] = set()
        #: spaces bearing the name of an unsettled create that the evidence refutes: why
        self.refuted: dict[str, str] = {}

    def taken(self, target_id: str) -> bool:
        return target_id in self._taken

    def by_id(self, target_id: str | None) -> Space | None:
        found = self._by_id.get(target_id) if target_id is not None else None
        if found is None or found.id in self._taken:
            return None
        self._taken.add(found.id)
        return found

    def by_name(self, name: str) -> Space | None:
        """The first untaken space bearing ``name``, or the form the target stores it in."""
        found = next(iter(self._untaken(name)), None)
        if found is not None:
            self._taken.add(found.id)
        return found

    def adopt(self, name: str, earlier: Record) -> Adoption:
        """The untaken spaces bearing ``name`` judged as the result of ``earlier``, a
        create of unknown outcome (``_evidence.judge``): the one adopted is taken, and
        every refuted one too (no counterpart of anything, never deleted)."""
        spaces = self._untaken(name)
        before = set(earlier.preexisting or ())
        refused = [
            f"{s.id} bears the name but bore it already when the write was first sent"
            for s in spaces
            if s.id in before
        ]
        passed = [s for s in spaces if s.id not in before]
        adoption = judge(passed, earlier.sent_at, self._store.caller() if passed else None)
        adoption = attrs.evolve(adoption, refused=(*refused, *adoption.refused))
        for space in spaces:
            if adoption.space is None or space.id == adoption.space.id:
                self._taken.add(space.id)
            if adoption.space is None:
                self.refuted[space.id] = (
                    f"bears the name of {earlier.source_name!r} ({earlier.source_id}), whose create's "
                    "outcome is unknown, but is not its result"
                )
        return adoption

    def _untaken(self, name: str) -> list[Space]:
        stored = self._store.stored_name(name)
        candidates = [
            *self._by_name.get(name, ()),
            *(self._by_name.get(stored, ()) if stored != name else ()),
        ]
        return [s for s in candidates if s.id not in self._taken]


def _judged(pair: Pair, adoption: Adoption | None) -> Pair:
    """A source space's pair, once its unsettled create's candidates were judged: the
    adopted counterpart's reason said (marked where no owner proves it), or, with
    candidates all refuted, a failure naming them (nothing written: still unknown)."""
    if adoption is None or (adoption.space is None and not adoption.refused):
        return pair  # no candidate: planned as any other (a create)
    if adoption.space is not None:
        reason = adoption.reason(ADOPTED_HERE, FIRST_SENT)
        return attrs.evolve(pair, item=attrs.evolve(pair.item, reason=reason))
    error = (
        f"an earlier create's outcome is unknown, and the space bearing the name is not its result: "
        f"{adoption.refusals()}; nothing written, the next run looks again"
    )
    item = attrs.evolve(
        pair.item,
        action=SyncAction.KEEP,
        outcome=SyncOutcome.FAILED,
        target_id=None,
        target_name=None,
        changes=(),
        error=error,
    )
    return attrs.evolve(pair, item=item)


def _pair(
    source: Space,
    want: Space | str | None,
    found: Space | None,
    target: SpaceStore,
    was: str | None = None,
    carry_subspaces: bool = False,
) -> Pair:
    base = SyncItem(
        SyncAction.KEEP,
        SyncOutcome.KEPT,
        source_id=source.id,
        source_name=source.name,
        target_id=found.id if found else None,
        target_name=found.name if found else None,
    )
    if isinstance(want, str):
        return Pair(attrs.evolve(base, outcome=SyncOutcome.FAILED, error=want), None, source, found)
    if want is None:
        return Pair(attrs.evolve(base, reason="left out by the transform"), None, source, found)
    lost = lost_fields(want, target)
    if carry_subspaces:  # created one by one after their space (``_migrate._subspaces``)
        lost = set_apart({}, lost)[1]
    if found is None:
        item = attrs.evolve(
            base,
            action=SyncAction.CREATE,
            outcome=SyncOutcome.PLANNED,
            target_name=want.name,
            lost=lost,
            error=_cannot(target, Capability.CREATE),
        )
        return Pair(item, want, source, None)
    written = differences(want, found, target)
    changes = written
    if carry_subspaces and missing(want, found):  # added by the carrier, not by an update
        held = ", ".join(s.name for s in found.subspaces)
        changes = (*written, Change("subspaces", held or None, ", ".join(s.name for s in want.subspaces)))
    if not changes:
        return Pair(attrs.evolve(base, lost=lost), want, source, found)
    item = attrs.evolve(
        base,
        action=SyncAction.UPDATE,
        outcome=SyncOutcome.PLANNED,
        changes=changes,
        lost=lost,
        reason=None if was is None else f"renamed from {was!r} (renamed_from)",
        error=_cannot(target, Capability.UPDATE) if written else None,
    )
    return Pair(item, want, source, found)


def differences(want: Space, found: Space, target: SpaceStore) -> tuple[Change, ...]:
    """The writable fields in which the target's space differs from the wanted one."""
    changes = []
    if found.name not in (want.name, target.stored_name(want.name)):  # a trimmed name is no change
        changes.append(Change("name", found.name, want.name))
    if "description" in target.writable_fields and (found.description or None) != (want.description or None):
        changes.append(Change("description", found.description, want.description))
    return tuple(changes)


def _cannot(target: SpaceStore, capability: Capability) -> str | None:
    if capability in target.capabilities:
        return None
    return f"the {target.provider} store cannot {capability.value} spaces"


def _leftover(space: Space, target: SpaceStore, delete: bool) -> Pair:
    base = SyncItem(SyncAction.KEEP, SyncOutcome.KEPT, target_id=space.id, target_name=space.name)
    held = target.protected(space)
    if held:  # the same line with or without delete
        return Pair(
            attrs.evolve(base, reason=f"not in the source; protected, never deleted: {held}"), target=space
        )
    if not delete:
        return Pair(attrs.evolve(base, reason=NOT_IN_SOURCE, extra=True), target=space)
    item = attrs.evolve(
        base,
        action=SyncAction.DELETE,
        outcome=SyncOutcome.PLANNED,
        reason="not in the source",
        error=_cannot(target, Capability.DELETE),
    )
    return Pair(item, target=space)


def rename_hints(plan: Plan, most: int = 10) -> tuple[str, ...]:
    """For a manifest source: each space the plan deletes (or keeps, on the target only)
    while it creates another with nothing linking them, the likeliest rename, said once:
    the one pair when there is one of each, else the pairs of similar names."""
    gone = [p.item.target_name for p in plan.pairs if p.item.action is SyncAction.DELETE or p.item.extra]
    new = [p.item.target_name for p in plan.pairs if p.item.action is SyncAction.CREATE]
    alone = len(gone) == len(new) == 1
    candidates = sorted(
        (
            (difflib.SequenceMatcher(None, old, name).ratio(), old, name)
            for old in gone[:SIMILAR_AT_MOST]
            for name in new[:SIMILAR_AT_MOST]
            if old and name
        ),
        key=lambda row: (-row[0], row[1], row[2]),
    )
    hints: list[str] = []
    used: set[str] = set()
    for ratio, old, name in candidates:
        if old in used or name in used or len(hints) >= most or not (alone or ratio >= SIMILAR):
            continue
        used |= {old, name}
        hints.append(
            f"if {old!r} was renamed to {name!r}, add renamed_from = {toml_string(old)} to its entry"
        )
    return tuple(sorted(hints))


def check_safety(plan: Plan, max_changes: Fraction, report: SyncReport) -> None:
    """``TooManyChanges`` if the plan updates or deletes more than ``max_changes`` of a
    target of at least ``SAFETY_THRESHOLD`` spaces."""
    total, changes = plan.total, plan.changes
    if total < SAFETY_THRESHOLD or changes <= max_changes * total:
        return
    counts = report.planned
    parts = [f"{counts[a]} update(s)" for a in ("update",) if counts[a]]
    parts += [f"{counts[a]} delete(s)" for a in ("delete",) if counts[a]]
    share = round(100 * changes / total, 1)
    refusal = (
        f"refused: the plan makes {changes} change(s) ({' and '.join(parts)}) to the {total} spaces "
        f"of the target, {share:g} %, more than the {float(max_changes) * 100:g} % allowed; nothing "
        "was written. Check the plan, then use {force} or a higher {max_changes} if it is right"
    )
    error = TooManyChanges(
        refusal.format(force="force=True", max_changes="max_changes"),
        changes=changes,
        total=total,
        limit=float(max_changes),
        report=report,
    )
    raise in_cli_words(error, refusal.format(force="--force", max_changes="--max-changes"))


__all__ = [
    "CHANGES",
    "Pair",
    "Plan",
    "check_options",
    "check_safety",
    "differences",
    "make_plan",
    "rename_hints",
]
