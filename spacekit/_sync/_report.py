"""What a sync tells its caller: one item per space, the counts, and whether it matches.

A ``SyncItem`` pairs a source space with its counterpart on the target (either may
be missing: a create has no target yet, a delete has no source) and says what the
plan does with them, what happened, and what the target cannot hold. A
``SyncReport`` holds them all, with the final comparison of an applied run. Both
turn into plain JSON with ``to_dict()``, the form of ``--json``; neither ever holds
a secret (stores are named by their ``Identity``).
"""

from __future__ import annotations

import enum
import os
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .._errors import SpacekitError, ValidationError
from .._migrate import Identity
from .._migrate._record import ADOPTED

if TYPE_CHECKING:
    from ._saved import SavedPlan


class SyncAction(enum.StrEnum):
    """What the plan does with one pair."""

    CREATE = "create"  # no counterpart on the target
    UPDATE = "update"  # the counterpart differs in a field the target can write
    DELETE = "delete"  # a target space with no source counterpart (only with delete=True)
    KEEP = "keep"  # nothing to change, or nothing the sync may change


class SyncOutcome(enum.StrEnum):
    """What happened: ``planned`` for a change not applied (a plan, or a run that stopped first)."""

    PLANNED = "planned"
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    GONE = "already gone"  # a delete answered not found: it deleted nothing
    KEPT = "kept"
    FAILED = "failed"


#: the counts of ``SyncReport.sides``
SIDES = (
    "source",
    "target",
    "to_create",
    "to_update",
    "unchanged",
    "to_delete",
    "target_only",
    "failed",
    "left_out",
)

#: the actions that write to the target
CHANGES = (SyncAction.CREATE, SyncAction.UPDATE, SyncAction.DELETE)


@attrs.frozen
class Change:
    """One field the update changes: its value on the target, and the one it gets."""

    field: str
    before: str | None
    after: str | None

    def __str__(self) -> str:
        return f"{self.field}: {self.before!r} -> {self.after!r}"


@attrs.frozen
class SyncItem:
    """One source space and its counterpart, the action planned, and its outcome."""

    action: SyncAction
    outcome: SyncOutcome
    source_id: str | None = None
    source_name: str | None = None
    target_id: str | None = None
    target_name: str | None = None
    changes: tuple[Change, ...] = ()
    lost: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    #: a target space with no source counterpart, left in place (no delete asked for)
    extra: bool = False

    @property
    def adopted(self) -> bool:
        """Taken for the result of a create whose answer was lost, on no owner's
        evidence (the provider gives none): for a person to check (``_evidence``)."""
        return self.outcome is not SyncOutcome.FAILED and (self.reason or "").startswith(ADOPTED)

    @property
    def label(self) -> str:
        """How the CLI names the pair: the source space, or the target one for a delete."""
        if self.source_name is not None:
            return (
                self.source_name
                if self.source_id == self.source_name
                else f"{self.source_name} ({self.source_id})"
            )
        return f"{self.target_name} ({self.target_id})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "outcome": self.outcome.value,
            "source": None if self.source_id is None else {"id": self.source_id, "name": self.source_name},
            "target": None
            if self.target_id is None and self.target_name is None
            else {"id": self.target_id, "name": self.target_name},
            "changes": {c.field: {"target": c.before, "source": c.after} for c in self.changes},
            "lost_fields": list(self.lost),
            "reason": self.reason,
            "error": self.error,
            "extra": self.extra,
            "adopted": self.adopted,
        }


@attrs.frozen
class SyncReport:
    """Every pair and what happened to it.

    ``ok`` means no item failed and, for an applied run, the target listed again
    afterwards matched the plan (``mismatches`` says how it did not). ``in_sync``
    means the target already equals the source: nothing to create, update or delete,
    and no target space without a source counterpart (unless the provider protects
    it), which is what ``spacekit sync --check`` tests.
    """

    source: Identity
    target: Identity
    items: tuple[SyncItem, ...]
    applied: bool = False
    delete: bool = False
    journal: str | None = None
    warnings: tuple[str, ...] = ()
    #: what the final listing found different from the source (applied runs only)
    mismatches: tuple[str, ...] = ()
    #: why the deletes not yet sent were held back: a read of the source that was to
    #: prove a space gone failed, fell short of its count, or found the space
    unreadable: str | None = None
    #: makes the plan to save (plans only; see ``save``)
    saveable: Callable[[], SavedPlan] | None = attrs.field(default=None, repr=False, eq=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this plan to ``path`` (JSON), to be applied exactly later with
        ``spacekit.sync(plan=path)`` (``spacekit sync --apply-plan``). The file names
        the stores (a manifest relative to the file's folder), the options, and each
        pair with a fingerprint of the spaces it was planned against; never a secret.
        """
        if self.saveable is None or self.applied:
            raise ValidationError("only a plan (a sync without apply) can be saved")
        self.saveable().save(path, self.summary())

    @property
    def counts(self) -> dict[str, int]:
        """How many items had each outcome."""
        found = Counter(item.outcome.value for item in self.items)
        return {outcome.value: found[outcome.value] for outcome in SyncOutcome}

    @property
    def planned(self) -> dict[str, int]:
        """How many items the plan gave each action."""
        found = Counter(item.action.value for item in self.items)
        return {action.value: found[action.value] for action in SyncAction}

    @property
    def failed(self) -> tuple[SyncItem, ...]:
        return tuple(item for item in self.items if item.outcome is SyncOutcome.FAILED)

    @property
    def held_back(self) -> tuple[SyncItem, ...]:
        """The deletes an applied run did not send: their absence from the source was not proven."""
        if not self.applied:
            return ()
        return tuple(
            item
            for item in self.items
            if item.action is SyncAction.DELETE and item.outcome is SyncOutcome.PLANNED
        )

    @property
    def in_sync(self) -> bool:
        """Whether the target equals the source (see the class docstring)."""
        return not any(item.action in CHANGES or item.error or item.extra for item in self.items)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.mismatches and not self.held_back and self.unreadable is None

    @property
    def sides(self) -> dict[str, int]:
        """The plan in counts that add up: the source's spaces (``to_create`` +
        ``to_update`` + ``unchanged`` + ``failed`` + ``left_out``) and the target's
        (``to_update`` + ``unchanged`` + ``to_delete`` + ``target_only``)."""
        found: Counter[str] = Counter()
        for item in self.items:
            if item.source_id is not None:
                found["source"] += 1
                if item.action is SyncAction.KEEP:
                    left_out = item.target_id is None and not item.error
                    found["failed" if item.error else "left_out" if left_out else "unchanged"] += 1
                else:
                    found[f"to_{item.action.value}"] += 1
            elif item.action is SyncAction.DELETE:
                found["to_delete"] += 1
            else:
                found["target_only"] += 1
            if item.target_id is not None and item.action is not SyncAction.CREATE:
                found["target"] += 1
        return {key: found[key] for key in SIDES}

    def summary(self) -> str:
        where = f"{self.source} -> {self.target}"
        adopted = sum(item.adopted for item in self.items)
        marked = f"; {adopted} {ADOPTED}" if adopted else ""
        if not self.applied:
            return f"{where}: {plan_line(self.sides)}{marked}"
        counts = self.counts
        shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        state = (
            "the target matches the source"
            if self.ok
            else (f"{len(self.failed)} failed" if self.failed else "the target does not match the source")
        )
        held = self.held_back
        if held or self.unreadable:
            state += f"; {len(held)} delete(s) held back: {self.unreadable or 'not proven gone'}"
        return f"{where}: synced {len(self.items)} space(s): {shown or 'nothing'}; {state}{marked}"

    def lost(self) -> dict[str, int]:
        """Each field the target cannot hold, and for how many of the source's spaces."""
        found = Counter(field for item in self.items for field in item.lost)
        return dict(sorted(found.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "applied": self.applied,
            "delete": self.delete,
            "journal": self.journal,
            "ok": self.ok,
            "in_sync": self.in_sync,
            "planned": self.planned,
            "sides": self.sides,
            "lost_fields": self.lost(),
            "counts": self.counts,
            "warnings": list(self.warnings),
            "mismatches": list(self.mismatches),
            "held_back": len(self.held_back),
            "unreadable": self.unreadable,
            "items": [item.to_dict() for item in self.items],
        }


def plan_line(sides: dict[str, int]) -> str:
    """``source 29, target 30: 2 to create, 2 to update, 25 unchanged, 2 to delete; 1 on
    the target only, kept``: every part counted, each side adding up."""
    parts = [
        f"{sides['to_create']} to create" if sides["to_create"] else "",
        f"{sides['to_update']} to update" if sides["to_update"] else "",
        f"{sides['unchanged']} unchanged" if sides["unchanged"] else "",
        f"{sides['to_delete']} to delete" if sides["to_delete"] else "",
        f"{sides['failed']} that cannot be planned" if sides["failed"] else "",
        f"{sides['left_out']} left out by the transform" if sides["left_out"] else "",
    ]
    shown = ", ".join(p for p in parts if p) or "nothing"
    extra = f"; {sides['target_only']} on the target only, kept" if sides["target_only"] else ""
    return f"source {sides['source']}, target {sides['target']}: {shown}{extra}"


class TooManyChanges(SpacekitError):
    """The plan would update or delete more of the target than ``max_changes`` allows.

    Raised before any write (``force=True`` lifts it); ``report`` holds the plan.
    """

    def __init__(self, message: str, *, changes: int, total: int, limit: float, report: SyncReport) -> None:
        super().__init__(message)
        self.changes = changes
        self.total = total
        self.limit = limit
        self.report = report
