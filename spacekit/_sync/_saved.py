"""Saved plans: a plan written to a file (``--plan-out``), applied exactly (``--apply-plan``).

A saved plan holds the two stores' identities (and the names that open them: a
configured store's name, or a manifest's path relative to the plan file's folder),
the options it was made with (``delete``, ``max_changes``, ``force``, the selected
names), and every pair of the plan with a fingerprint of each space it was planned
against. It never holds a secret: identities are URLs and paths, fingerprints are
hashes, and a space is named by its id and name only.

Applying it plans again from fresh listings, restricted to the spaces the saved plan
knows (a space that appeared since on either side is left alone, unless it bears the
name of a planned create), and compares: a pair whose source or target space changed,
is gone, or would now get another action makes the whole plan stale
(``StalePlan``, exit 2), before any write, naming each change. What an earlier,
interrupted application of the same plan did (its journal records the plan's id and
the writes) is no change: running it again resumes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from .._errors import ConfigError, SpacekitError, ValidationError
from .._exchange import load_json
from .._input import read_regular
from .._manifest import is_manifest_path
from .._migrate._journal import Journal
from .._migrate._record import Action, Record
from .._migrate._report import Identity
from .._model import Space
from ._plan import DELETE_KEY, Pair, Plan
from ._report import SyncAction

FORMAT: Final = "spacekit sync plan"
VERSION: Final = 1
#: the fields a fingerprint covers: what a sync reads or writes
FINGERPRINTED: Final = ("id", "name", "kind", "description", "owner", "admins", "subspaces", "image_url")
#: the most changes a stale plan's message names one by one
_SHOWN: Final = 20


class StalePlan(SpacekitError):
    """A saved plan no longer matches the stores: something it touches changed since.

    Raised before any write; ``changes`` names each one. Plan again, review, and apply
    the new plan.
    """

    def __init__(self, message: str, changes: tuple[str, ...]) -> None:
        super().__init__(message)
        self.changes = changes


def fingerprint(space: Space | None) -> str | None:
    """A hash of what a sync reads of ``space``: equal fingerprints, equal spaces."""
    if space is None:
        return None
    data = space.to_dict()
    text = json.dumps({k: data[k] for k in FINGERPRINTED}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@attrs.frozen
class Step:
    """One pair of a saved plan: what was planned, and what it was planned against."""

    action: str
    source_id: str | None
    source_name: str | None
    target_id: str | None
    target_name: str | None
    source_fingerprint: str | None
    target_fingerprint: str | None
    changes: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return ("source", self.source_id) if self.source_id is not None else ("target", self.target_id or "")

    @property
    def label(self) -> str:
        if self.source_id is not None:
            return f"the source space {self.source_name!r} ({self.source_id})"
        return f"the target space {self.target_name!r} ({self.target_id})"

    @classmethod
    def of(cls, pair: Pair) -> Step:
        item = pair.item
        return cls(
            item.action.value,
            item.source_id,
            item.source_name,
            item.target_id,
            item.target_name,
            fingerprint(pair.source),
            fingerprint(pair.target),
            {c.field: {"target": c.before, "source": c.after} for c in item.changes},
        )


@attrs.frozen
class SavedPlan:
    """A plan as saved: the stores, the options, and every pair with its fingerprints."""

    source: Identity
    target: Identity
    #: how to open each store: a store's name, or a manifest's absolute path (None: an open store)
    source_store: str | None
    target_store: str | None
    delete: bool
    max_changes: float
    force: bool
    select: tuple[str, ...] | None
    steps: tuple[Step, ...]
    created: str = attrs.field(factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: the folder of the plan's file (saved or loaded): a manifest is named relative to it
    folder: str | None = None

    @property
    def id(self) -> str:
        """The plan's identity: a hash of what its file says (journals record it), the
        same wherever the file and its manifest are checked out together."""
        text = json.dumps(self._content(self.folder), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _content(self, folder: str | None) -> dict[str, Any]:
        return {
            "source": {**self.source.to_dict(), "store": _relative(self.source_store, folder)},
            "target": {**self.target.to_dict(), "store": _relative(self.target_store, folder)},
            "options": {
                "delete": self.delete,
                "max_changes": self.max_changes,
                "force": self.force,
                "select": None if self.select is None else list(self.select),
            },
            "created": self.created,
            "steps": [attrs.asdict(step) for step in self.steps],
        }

    def save(self, path: str | os.PathLike[str], summary: str) -> None:
        """Write the plan as JSON to ``path`` (a manifest named relative to its folder)."""
        path = os.fspath(path)
        placed = attrs.evolve(self, folder=os.path.dirname(os.path.abspath(path)))
        document = {"format": FORMAT, "version": VERSION, "id": placed.id, "summary": summary}
        document.update(placed._content(placed.folder))
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
        except OSError as exc:
            raise ConfigError(f"cannot write the plan {path}: {exc.strerror}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SavedPlan:
        """The plan saved at ``path``; a file that is not one is a ``ValidationError``."""
        path = os.fspath(path)
        if not os.path.lexists(path):
            raise ConfigError(f"no plan at {path}")
        data = read_regular(path, None, f"the plan {path}", ValidationError)
        try:
            document = load_json(data)
        except ValueError as exc:
            raise ValidationError(f"{path}: not a saved sync plan ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValidationError(f"{path}: not a saved sync plan (spacekit sync --plan-out writes one)")
        if document.get("version") != VERSION:
            raise ValidationError(
                f"{path}: a plan of version {document.get('version')!r}; this spacekit reads {VERSION}"
            )
        folder = os.path.dirname(os.path.abspath(path))
        try:
            options = document["options"]
            plan = cls(
                _identity(document["source"]),
                _identity(document["target"]),
                _absolute(document["source"].get("store"), folder),
                _absolute(document["target"].get("store"), folder),
                bool(options["delete"]),
                float(options["max_changes"]),
                bool(options["force"]),
                None if options["select"] is None else tuple(str(s) for s in options["select"]),
                tuple(Step(**step) for step in document["steps"]),
                str(document["created"]),
                folder,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(f"{path}: a damaged plan ({type(exc).__name__}: {exc})") from None
        if plan.id != document.get("id"):
            raise ValidationError(f"{path}: the plan was edited after it was saved; plan again")
        return plan

    # -- applying ---------------------------------------------------------------------

    def store(self, role: str, given: Any) -> Any:
        """What to open as ``role``: the store given, else the one the plan names."""
        if given is not None:
            return given
        named = self.source_store if role == "source" else self.target_store
        if named is None:
            raise ValidationError(f"the plan was made with an open {role} store: give the {role} too")
        return named

    def check_stores(self, source: Identity, target: Identity) -> None:
        for role, saved, given in (("source", self.source, source), ("target", self.target, target)):
            if (saved.provider, saved.location) != (given.provider, given.location):
                raise ConfigError(f"the plan was made for the {role} {saved}; this {role} is {given}")

    def scope(
        self, sources: list[Space], choose: Callable[[Space], bool]
    ) -> tuple[list[Space], Callable[[Space], bool]]:
        """The source spaces the plan knows, and which unmatched target spaces it may touch."""
        known = {s.source_id for s in self.steps if s.source_id is not None}
        targets = {s.target_id for s in self.steps if s.target_id is not None}
        return [s for s in sources if s.id in known], lambda space: choose(space) and space.id in targets

    def check(self, fresh: Plan, book: Journal | None) -> None:
        """``StalePlan`` unless ``fresh`` (planned now, in the plan's scope) is this plan,
        but for what an earlier application of it recorded in ``book``."""
        resumed = book is not None and self.id in book.plans()
        now = {Step.of(pair).key: pair for pair in fresh.pairs}
        changes: list[str] = []
        for step in self.steps:
            pair = now.pop(step.key, None)
            problem = _compare(step, pair, book if resumed else None)
            if problem:
                changes.append(problem)
        changes += [f"{Step.of(pair).label} is new to the plan's pairs" for pair in now.values()]
        if changes:
            shown = changes[:_SHOWN] + (
                [f"and {len(changes) - _SHOWN} more"] if len(changes) > _SHOWN else []
            )
            raise StalePlan(
                f"the saved plan is stale: {len(changes)} change(s) since it was made; nothing was "
                "written. Plan again, review, then apply the new plan:\n  " + "\n  ".join(shown),
                tuple(changes),
            )


def _compare(step: Step, pair: Pair | None, book: Journal | None) -> str | None:
    """What changed for one saved pair (None: nothing, or only this plan's own writes)."""
    if pair is None:
        if step.action == "delete" and book is not None and book.get(DELETE_KEY + (step.target_id or "")):
            return None  # deleted by an earlier application
        return f"{step.label} is gone"
    if step.source_id is not None and fingerprint(pair.source) != step.source_fingerprint:
        return f"{step.label} changed"
    done = _written(step, book)
    if step.action == "create":
        landed = done is not None and pair.target is not None and done.target_id in (None, pair.target.id)
        if pair.item.action is SyncAction.CREATE or landed:
            return None
        found = pair.target
        return f"a space named {step.target_name!r} is now on the target ({found.id if found else '?'})"
    if step.target_id is not None:
        if pair.target is None or pair.target.id != step.target_id:
            return f"the target space {step.target_name!r} ({step.target_id}) is gone"
        if fingerprint(pair.target) != step.target_fingerprint and not (step.action == "update" and done):
            return f"the target space {step.target_name!r} ({step.target_id}) changed"
    if pair.item.action.value != step.action and not done:
        return f"{step.label}: the plan said {step.action}, it would now be {pair.item.action.value}"
    return None


def _written(step: Step, book: Journal | None) -> Record | None:
    """The write an earlier application of this plan journaled for ``step`` (None: none)."""
    if book is None or step.source_id is None or step.action not in ("create", "update"):
        return None
    record = book.get(step.source_id)
    if record is None or record.action is not (Action.CREATE if step.action == "create" else Action.UPDATE):
        return None
    return record


def saved_plan(
    plan: Plan,
    source: Identity,
    target: Identity,
    stores: tuple[object, object],
    options: tuple[bool, float, bool, Iterable[str] | None],
) -> SavedPlan:
    """The plan to save, from a plan just made and how its stores were given."""
    delete, max_changes, force, select = options
    return SavedPlan(
        source,
        target,
        _named(stores[0]),
        _named(stores[1]),
        delete,
        max_changes,
        force,
        None if select is None else tuple(select),
        tuple(Step.of(pair) for pair in plan.pairs),
    )


def _named(value: object) -> str | None:
    """How to open the store again: a manifest's absolute path, or the name given."""
    if isinstance(value, str | os.PathLike):
        text = os.fspath(value)
        return os.path.abspath(text) if is_manifest_path(text) else text
    return None


def _relative(store: str | None, folder: str | None) -> str | None:
    if store is None or folder is None or not os.path.isabs(store):
        return store
    return os.path.relpath(store, folder)


def _absolute(store: object, folder: str) -> str | None:
    if store is None:
        return None
    if not isinstance(store, str):
        raise TypeError("a store is named by a string")
    return os.path.normpath(os.path.join(folder, store)) if is_manifest_path(store) else store


def _identity(data: Mapping[str, Any]) -> Identity:
    return Identity(str(data["provider"]), str(data["location"]), data.get("name"))


__all__ = ["FORMAT", "SavedPlan", "StalePlan", "fingerprint", "saved_plan"]
