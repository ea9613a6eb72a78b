"""Carrying a migrated space's subspaces, where source and target both have them.

When both stores list ``Capability.SUBSPACES``, the plan does not count subspaces as
lost and does not pass them as a create option: once a record's space is on the
target (created now, updated, or migrated by an earlier run), each subspace of the
source space is created in it with ``create_subspace``, its description and
visibility read first with the source's ``get_subspace`` (the listing names
subspaces without them; a subspace the caller may not read is carried with what
the listing said, private by default).

Subspaces are matched by their exact names: ``data`` and ``Data`` are two, each
carried on its own. Exactly once, and resumable, without a journal row per
subspace: before writing, the target space is read afresh and a subspace it already
holds under exactly that name is not created again. A ``Conflict`` answer is
checked with another read, and so is a success whose answer names another
subspace (a provider that folds case may answer ``data`` to a create of ``Data``):
the name is there (a write whose answer was lost, another run), or the target holds
another name it takes for the same one (a store that folds case cannot hold both
``data`` and ``Data``), and then the subspace is failed with that reason, never
dropped. A subspace that fails marks the record
failed (its space stays migrated, journaled ``done``), so the run is not ok, and
the next run carries what is still missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import Conflict, NotFound, PermissionDenied, SpacekitError
from .._model import Capability, Space, Subspace
from .._store import SpaceStore
from ._record import Outcome, Record, State


def carried(source: SpaceStore, target: SpaceStore) -> bool:
    """Whether a migration from ``source`` to ``target`` carries subspaces one by one."""
    return Capability.SUBSPACES in source.capabilities and Capability.SUBSPACES in target.capabilities


def set_apart(options: Mapping[str, Any], lost: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The create options and the lost fields without subspaces: the carrier creates them."""
    return {k: v for k, v in options.items() if k != "subspaces"}, tuple(f for f in lost if f != "subspaces")


def missing(wanted: Space, held: Space) -> tuple[str, ...]:
    """The exact names of ``wanted``'s subspaces that ``held`` (a listing of the target) lacks."""
    names = {s.name for s in held.subspaces}
    return tuple(s.name for s in wanted.subspaces if s.name not in names)


class Carrier:
    """Creates the subspaces of migrated spaces on the target; safe from many threads."""

    def __init__(self, source: SpaceStore, target: SpaceStore) -> None:
        self.source = source
        self.target = target

    def carry(self, record: Record) -> Record:
        """Create on the target the record's subspaces it does not hold yet."""
        if not record.subspaces or record.target_id is None or record.state is not State.DONE:
            return record
        try:
            held = self._held(record.target_id)
        except SpacekitError as exc:
            return _failed(record, f"its subspaces could not be checked on the target: {exc}")
        made: list[str] = []
        refused: list[str] = []
        for subspace in record.subspaces:
            if subspace.name in held:
                continue
            try:
                answered = self._create(record, self._details(record, subspace))
            except Conflict as exc:
                why = self._conflict(record.target_id, subspace.name, str(exc))
                if why is not None:
                    refused.append(why)
                    continue
            except SpacekitError as exc:
                return _failed(record, f"subspace {subspace.name!r} was not created: {exc}", made)
            else:
                if answered != subspace.name:  # a success naming another: it may have folded case
                    why = self._conflict(
                        record.target_id, subspace.name, f"the target answered with {answered!r}"
                    )
                    if why is not None:
                        refused.append(why)
                        continue
                made.append(subspace.name)
            held.add(subspace.name)
        if made:
            note = f"subspaces created: {', '.join(made)}"
            record.reason = f"{record.reason}; {note}" if record.reason else note
        if refused:
            return _failed(record, "; ".join(refused), made)
        return record

    def _held(self, target_id: str) -> set[str]:
        """The exact names of the subspaces the target space holds now."""
        return {s.name for s in self.target.get(target_id).subspaces}

    def _conflict(self, target_id: str, name: str, error: str) -> str | None:
        """Why a subspace answered ``Conflict`` (or a success naming another subspace) is
        not on the target (None: it is there, made by a write whose answer was lost or
        by another run)."""
        try:
            held = self._held(target_id)
        except SpacekitError as exc:
            return f"subspace {name!r} was refused ({error}) and the target could not be read again: {exc}"
        if name in held:
            return None
        alike = sorted(h for h in held if h.casefold() == name.casefold())
        if alike:
            return (
                f"subspace {name!r} was not created: the target holds {', '.join(map(repr, alike))}, "
                "which it takes for the same name, and cannot hold both"
            )
        return f"subspace {name!r} was not created: {error}"

    def _details(self, record: Record, subspace: Subspace) -> Subspace:
        if subspace.description is not None and subspace.private is not None:
            return subspace
        try:
            return self.source.get_subspace(record.source_id, subspace.name)
        except (NotFound, PermissionDenied):  # not readable in full: what the listing said
            return subspace

    def _create(self, record: Record, subspace: Subspace) -> str:
        """Create ``subspace``; the name of the subspace the target answered with."""
        assert record.target_id is not None
        return self.target.create_subspace(
            record.target_id,
            subspace.name,
            description=subspace.description or "",
            private=True if subspace.private is None else subspace.private,
        ).name


def _failed(record: Record, message: str, made: list[str] | None = None) -> Record:
    done = f" (created before it: {', '.join(made)})" if made else ""
    record.error = message + done
    record.outcome = Outcome.FAILED
    return record
