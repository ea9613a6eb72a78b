"""What a migration or a verification tells its caller: one item per space, and counts.

``MigrationReport`` lists every selected source space with what happened to it on
the target; ``VerifyReport`` lists what is missing or differs. Both turn into plain
JSON with ``to_dict()``, the form of ``--json``. Neither ever holds a secret: a
store is described by its ``Identity`` (provider, location, store name).
"""

from __future__ import annotations

import enum
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import attrs

from ._record import ADOPTED, Action, Outcome, Record


@attrs.frozen
class Identity:
    """Which store: its provider, where it is (URL or path) and, if known, its configured name."""

    provider: str
    location: str
    name: str | None = None

    def __str__(self) -> str:
        named = f" (store {self.name!r})" if self.name and self.name != self.provider else ""
        where = f" at {self.location}" if self.location else ""
        return f"{self.provider}{where}{named}"

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "location": self.location, "name": self.name}


@attrs.frozen
class MigrationItem:
    """One source space: the action planned, its outcome, and what the target could not hold."""

    source_id: str
    source_name: str
    action: Action
    outcome: Outcome
    target_id: str | None = None
    target_name: str | None = None
    lost: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, record: Record) -> MigrationItem:
        """The public view of a record."""
        return cls(
            source_id=record.source_id,
            source_name=record.source_name,
            action=record.action,
            outcome=record.outcome,
            target_id=record.target_id,
            target_name=record.shown_name,
            lost=record.lost,
            reason=record.reason,
            error=record.error,
        )

    @property
    def adopted(self) -> bool:
        """Taken for the result of a write whose answer was lost, on no owner's evidence
        (the provider gives none): for a person to check (see ``_evidence``)."""
        return self.outcome is Outcome.CREATED and (self.reason or "").startswith(ADOPTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source_name": self.source_name,
            "action": self.action.value,
            "outcome": self.outcome.value,
            "target_id": self.target_id,
            "target_name": self.target_name,
            "lost_fields": list(self.lost),
            "reason": self.reason,
            "error": self.error,
            "adopted": self.adopted,
        }


_ACTIONS = tuple(Action)
_OUTCOMES = tuple(Outcome)


class Items(Sequence[MigrationItem]):
    """The report's items, kept compact: one short JSON line each, decoded when read.

    A migration of a million spaces keeps a few dozen bytes per space here, not a
    Python object of a dozen fields. ``vanished`` source ids read back as ``vanished``.
    """

    def __init__(self, items: Iterable[MigrationItem] = ()) -> None:
        self._data = bytearray()
        self._ends = array("Q")
        self._vanished: frozenset[str] = frozenset()
        for item in items:
            self.append(item)

    def append(self, item: MigrationItem) -> None:
        same = item.target_name == item.source_name
        fields: list[Any] = [
            item.source_id,
            item.source_name,
            _ACTIONS.index(item.action),
            _OUTCOMES.index(item.outcome),
            item.target_id,
            0 if same else item.target_name,
            list(item.lost),
            item.reason,
            item.error,
        ]
        while fields[-1] is None:
            fields.pop()
        self._data += json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        self._ends.append(len(self._data))

    def add(self, record: Record) -> MigrationItem:
        item = MigrationItem.of(record)
        self.append(item)
        return item

    def mark_vanished(self, source_ids: frozenset[str]) -> None:
        self._vanished = source_ids

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> MigrationItem: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[MigrationItem, ...]: ...
    def __getitem__(self, index: int | slice) -> MigrationItem | tuple[MigrationItem, ...]:
        if isinstance(index, slice):
            return tuple(self._decode(i) for i in range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("item index out of range")
        return self._decode(index)

    def __iter__(self) -> Iterator[MigrationItem]:
        return (self._decode(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Items):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<Items: {len(self)}>"

    def _decode(self, index: int) -> MigrationItem:
        start = self._ends[index - 1] if index else 0
        fields = json.loads(self._data[start : self._ends[index]])
        fields += [None] * (9 - len(fields))
        sid, name, action, outcome, tid, tname, lost, reason, error = fields
        shown = _OUTCOMES[outcome]
        if sid in self._vanished:
            reason = _vanished_reason(shown, tid)
            shown = Outcome.VANISHED
        return MigrationItem(
            source_id=sid,
            source_name=name,
            action=_ACTIONS[action],
            outcome=shown,
            target_id=tid,
            target_name=name if tname == 0 else tname,
            lost=tuple(lost),
            reason=reason,
            error=error if shown is not Outcome.VANISHED else None,
        )


def _vanished_reason(outcome: Outcome, target_id: str | None) -> str:
    gone = "deleted from the source while the run went on"
    if outcome in (Outcome.CREATED, Outcome.UPDATED) and target_id:
        return f"{gone}; its copy {target_id} was {outcome.value} on the target before"
    return gone


@attrs.frozen
class MigrationReport:
    """Every selected source space and what happened to it.

    ``ok`` means: every space present in the source at the end of the run is on the
    target exactly once, and the target, listed again, holds no name of the run more
    times than the source does (``mismatches``). Spaces deleted from the source meanwhile are ``vanished``,
    not failures; ``complete`` is False when the source kept changing beyond the
    listings a run makes (then ``ok`` is False too).
    """

    source: Identity
    target: Identity
    items: Sequence[MigrationItem]
    dry_run: bool = False
    on_conflict: str = "skip"
    journal: str | None = None
    warnings: tuple[str, ...] = ()
    #: remarks worth knowing that need no action (shown with --verbose)
    notes: tuple[str, ...] = ()
    #: how many times the source was listed (the first pass, then until nothing was new)
    listings: int = 1
    complete: bool = True
    #: what the target, listed again after the writes, holds wrong: each name the run
    #: covers that it holds more times than the source does (with the ids)
    mismatches: tuple[str, ...] = ()
    #: why the target could not be listed again after the writes (a listing that failed,
    #: or fell short of its own count every time): the result cannot be confirmed
    unreadable: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(item.outcome.value for item in self.items)
        return {outcome.value: found[outcome.value] for outcome in Outcome}

    @property
    def failed(self) -> tuple[MigrationItem, ...]:
        return tuple(item for item in self.items if item.outcome is Outcome.FAILED)

    @property
    def ok(self) -> bool:
        return self.complete and not self.failed and not self.mismatches and self.unreadable is None

    def lost_fields(self) -> dict[str, int]:
        """How many spaces lose each field the target cannot hold."""
        found: Counter[str] = Counter()
        for item in self.items:
            if item.outcome is not Outcome.FAILED:
                found.update(item.lost)
        return dict(sorted(found.items()))

    def summary(self) -> str:
        counts = self.counts
        shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        total = len(self.items)
        written = counts["created"] + counts["updated"]
        if self.dry_run:
            planned = counts["planned"]
            head = f"would migrate {planned} of {total} space(s)" if planned else "nothing to migrate"
        elif written:
            head = f"migrated {written} of {total} space(s)"
        else:
            head = "nothing migrated"
        lost = self.lost_fields()
        tail = "; lost: " + ", ".join(f"{field} on {n}" for field, n in lost.items()) if lost else ""
        adopted = sum(item.adopted for item in self.items)
        tail += f"; {adopted} {ADOPTED}" if adopted else ""
        tail += (
            f"; the target could not be listed again to confirm it: {self.unreadable}"
            if self.unreadable
            else ""
        )
        return f"{self.source} -> {self.target}: {head} ({shown or 'no space'}){tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "dry_run": self.dry_run,
            "on_conflict": self.on_conflict,
            "journal": self.journal,
            "ok": self.ok,
            "complete": self.complete,
            "listings": self.listings,
            "mismatches": list(self.mismatches),
            "unreadable": self.unreadable,
            "counts": self.counts,
            "lost_fields": self.lost_fields(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "items": [item.to_dict() for item in self.items],
        }


class Problem(enum.StrEnum):
    """What verify found wrong with one pair."""

    MISSING = "missing"  # no counterpart on the target
    DIFFERS = "differs"  # a field both stores hold differs
    DUPLICATE = "duplicate"  # more than one target space has the name
    PREEXISTING = "preexisting"  # the journaled target existed before the run wrote it
    FOREIGN = "foreign"  # the journaled target is owned by another user than the caller
    CLAIMED_TWICE = "claimed_twice"  # two source spaces are journaled with one target space
    SOURCE_MISSING = "source_missing"  # journaled, but gone from the source


@attrs.frozen
class VerifyItem:
    """One pair that is not as it should be; ``differences`` maps a field to its two values."""

    source_id: str
    source_name: str
    problem: Problem
    target_id: str | None = None
    differences: tuple[tuple[str, str | None, str | None], ...] = ()
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "source_name": self.source_name,
            "problem": self.problem.value,
            "target_id": self.target_id,
            "differences": {field: {"source": s, "target": t} for field, s, t in self.differences},
            "detail": self.detail,
        }


@attrs.frozen
class VerifyReport:
    """How many pairs were checked, and every problem found; ``ok`` when there is none.

    ``gone`` lists the journaled spaces deleted from the source since they were
    migrated (``source_missing``): worth knowing, not a problem of the migration.
    """

    source: Identity
    target: Identity
    checked: int
    problems: tuple[VerifyItem, ...]
    fields: tuple[str, ...] = ("name",)
    journal: str | None = None
    gone: tuple[VerifyItem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        compared = ", ".join(self.fields)
        gone = f"; {len(self.gone)} deleted from the source since (copies kept)" if self.gone else ""
        if self.ok:
            head = f"{self.source} -> {self.target}: {self.checked} pair(s) checked on {compared}"
            return f"{head}: all match{gone}"
        found = Counter(item.problem.value for item in self.problems)
        shown = ", ".join(f"{n} {problem}" for problem, n in sorted(found.items()))
        return f"{self.source} -> {self.target}: {self.checked} pair(s) checked on {compared}: {shown}{gone}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "journal": self.journal,
            "ok": self.ok,
            "checked": self.checked,
            "fields": list(self.fields),
            "problems": [item.to_dict() for item in self.problems],
            "gone": [item.to_dict() for item in self.gone],
        }
