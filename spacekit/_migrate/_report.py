"""What a migration or a verification tells its caller: one item per space, and counts.

``MigrationReport`` lists every selected source space with what happened to it on
the target; ``VerifyReport`` lists what is missing or differs. Both turn into plain
JSON with ``to_dict()``, the form of ``--json``. Neither ever holds a secret: a
store is described by its ``Identity`` (provider, location, store name).
"""

from __future__ import annotations

import enum
from collections import Counter
from typing import Any

import attrs


class Action(enum.StrEnum):
    """What the plan does with one source space."""

    CREATE = "create"
    RENAME = "rename"  # create under a free name, the wanted one being taken
    UPDATE = "update"  # overwrite the target space of the same name
    SKIP = "skip"
    FAIL = "fail"  # a conflict under on_conflict="fail"


class Outcome(enum.StrEnum):
    """What happened: ``planned`` only in a dry run."""

    PLANNED = "planned"
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


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
        }


@attrs.frozen
class MigrationReport:
    """Every selected source space and what happened to it; ``ok`` when none failed."""

    source: Identity
    target: Identity
    items: tuple[MigrationItem, ...]
    dry_run: bool = False
    on_conflict: str = "skip"
    journal: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(item.outcome.value for item in self.items)
        return {outcome.value: found[outcome.value] for outcome in Outcome}

    @property
    def failed(self) -> tuple[MigrationItem, ...]:
        return tuple(item for item in self.items if item.outcome is Outcome.FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts = self.counts
        shown = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
        verb = "would migrate" if self.dry_run else "migrated"
        return f"{self.source} -> {self.target}: {verb} {len(self.items)} space(s): {shown or 'nothing'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "dry_run": self.dry_run,
            "on_conflict": self.on_conflict,
            "journal": self.journal,
            "ok": self.ok,
            "counts": self.counts,
            "warnings": list(self.warnings),
            "items": [item.to_dict() for item in self.items],
        }


class Problem(enum.StrEnum):
    """What verify found wrong with one pair."""

    MISSING = "missing"  # no counterpart on the target
    DIFFERS = "differs"  # a field both stores hold differs
    DUPLICATE = "duplicate"  # more than one target space has the name
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
    """How many pairs were checked, and every problem found; ``ok`` when there is none."""

    source: Identity
    target: Identity
    checked: int
    problems: tuple[VerifyItem, ...]
    fields: tuple[str, ...] = ("name",)
    journal: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        compared = ", ".join(self.fields)
        if self.ok:
            return f"{self.source} -> {self.target}: {self.checked} pair(s) checked on {compared}: all match"
        found = Counter(item.problem.value for item in self.problems)
        shown = ", ".join(f"{n} {problem}" for problem, n in sorted(found.items()))
        return f"{self.source} -> {self.target}: {self.checked} pair(s) checked on {compared}: {shown}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "journal": self.journal,
            "ok": self.ok,
            "checked": self.checked,
            "fields": list(self.fields),
            "problems": [item.to_dict() for item in self.problems],
        }
