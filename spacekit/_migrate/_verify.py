"""``verify``: does the target hold what the source holds, exactly once?

It trusts nothing the journal claims; the journal only says which target space was
meant for which source space, and every such claim is checked on the target as it
is now:

- every source space has exactly one counterpart: the journaled target space is
  there, and no other source space is journaled with it;
- each journaled target still carries the intended name (a rename, a transform's
  new name, or the form the target declares it stores names in);
- no journaled target existed before the run wrote it (its id is not among those
  that bore the name when the write was first sent, and, where the provider gives a
  creation time, it was not created before the write was sent), and none is owned
  by another user than the caller, where the provider says (``_evidence``);
- every source space the recorded selection takes is journaled (else missing), and
  every journaled one is still in the source.

Without a journal, source and target spaces are matched by name (as many target
spaces of a name as the source has). With or without it, every name in scope (the
names the source's spaces should bear on the target) that the target holds more
times than the source holds it is a duplicate, naming the target's ids: a stray
copy a lost write left, or a second copy of a space the migration skipped. The
description is compared where both stores keep it, and subspaces by their exact
names where both stores have them (a subspace of the source missing from its
counterpart is a difference). Only reads: nothing is written anywhere, the journal
included (a copy of it is read).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

import attrs

from .._model import Space
from .._store import SpaceStore
from ._evidence import earlier, foreign
from ._journal import Journal
from ._plan import matches
from ._record import CREATES, Record, State
from ._report import Problem, VerifyItem, VerifyReport
from ._stores import StoreLike, opened
from ._subspaces import carried

_PAIRED = frozenset({State.DONE, State.SKIPPED})


@attrs.frozen
class Known:
    """A target space as verify sees it: ``subspaces`` holds their exact names; the
    owner and creation time are the evidence of whose it is (``_evidence``)."""

    id: str
    name: str
    description: str | None = None
    subspaces: frozenset[str] = frozenset()
    owner: str | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, space: Space) -> Known:
        names = frozenset(s.name for s in space.subspaces)
        return cls(space.id, space.name, space.description, names, space.owner, space.created_at)


def verify(
    source: StoreLike, target: StoreLike, *, journal: str | os.PathLike[str] | None = None
) -> VerifyReport:
    """Compare source and target; ``report.ok`` when nothing is missing, doubled or differs."""
    with contextlib.ExitStack() as stack:
        src, src_id = stack.enter_context(opened(source, "source"))
        dst, dst_id = stack.enter_context(opened(target, "target"))
        book = None
        if journal is not None:
            book = stack.enter_context(Journal.open(journal, create=False, read_only=True))
            book.check(src_id, dst_id)
        fields = _compared(src, dst)
        targets = {space.id: Known.of(space) for space in dst.list()}
        scope = _Scope(dst)
        gone: list[VerifyItem] = []
        if book is not None:
            checked, problems, gone = _JournalCheck(src, dst, book, targets, fields, scope).run()
        else:
            checked, problems = _by_name(src, dst, targets, fields, scope)
        problems += scope.doubled(targets.values())
        where = book.path if book else None
        return VerifyReport(src_id, dst_id, checked, tuple(problems), fields, where, tuple(gone))
    raise AssertionError("unreachable")  # pragma: no cover


def _compared(source: SpaceStore, target: SpaceStore) -> tuple[str, ...]:
    both = "description" in source.writable_fields and "description" in target.writable_fields
    fields = ("name", "description") if both else ("name",)
    return (*fields, "subspaces") if carried(source, target) else fields


class _Scope:
    """The names the source's spaces should bear on the target, counted (by the form
    the target stores a name in), and the target ids paired with a source space."""

    def __init__(self, target: SpaceStore) -> None:
        self.target = target
        self.wanted: Counter[str] = Counter()
        self.first: dict[str, tuple[str, str]] = {}  # a source space per name, to report under
        self.paired: set[str] = set()

    def add(self, name: str, source_id: str, source_name: str) -> None:
        key = self.target.stored_name(name)
        self.wanted[key] += 1
        self.first.setdefault(key, (source_id, source_name))

    def doubled(self, targets: Iterable[Known]) -> list[VerifyItem]:
        """A duplicate for every name in scope the target holds more times than the source."""
        held: dict[str, list[str]] = {}
        for known in targets:
            key = self.target.stored_name(known.name)
            if key in self.wanted:
                held.setdefault(key, []).append(known.id)
        problems = []
        for key, ids in held.items():
            if len(ids) <= self.wanted[key]:
                continue
            source_id, source_name = self.first[key]
            strays = [i for i in ids if i not in self.paired] or ids
            detail = (
                f"the target holds {key!r} {len(ids)} times, the source {self.wanted[key]}: "
                f"{', '.join(ids)} ({', '.join(strays)} paired with no source space)"
            )
            problems.append(VerifyItem(source_id, source_name, Problem.DUPLICATE, strays[0], detail=detail))
        return problems


def _by_name(
    source: SpaceStore,
    target: SpaceStore,
    targets: dict[str, Known],
    fields: tuple[str, ...],
    scope: _Scope,
) -> tuple[int, list[VerifyItem]]:
    """The n-th source space of a name pairs with the n-th target space of that name
    (the target spaces of a name left over are counted by ``_Scope.doubled``)."""
    by_name: dict[str, list[Known]] = {}
    for known in targets.values():
        by_name.setdefault(known.name, []).append(known)
    checked, problems = 0, []
    for space in source.list():
        checked += 1
        scope.add(space.name, space.id, space.name)
        left = by_name.get(space.name) or by_name.get(target.stored_name(space.name))
        if not left:
            problems.append(
                VerifyItem(space.id, space.name, Problem.MISSING, detail="no target space of that name")
            )
            continue
        found = left.pop(0)
        scope.paired.add(found.id)
        problems += _differences(space, found, found.name, space.description, fields)
    return checked, problems


class _JournalCheck:
    """Every journaled claim, checked on the target as it is now."""

    def __init__(
        self,
        source: SpaceStore,
        target: SpaceStore,
        book: Journal,
        targets: dict[str, Known],
        fields: tuple[str, ...],
        scope: _Scope,
    ) -> None:
        self.source, self.target, self.book = source, target, book
        self.targets, self.fields, self.scope = targets, fields, scope
        self.caller = target.caller()  # known once the target was listed
        self.records = {record.source_id: record for record in book.records()}
        paired = [r.target_id for r in self.records.values() if r.state in _PAIRED and r.target_id]
        self.owners = Counter(paired)
        self.by_name: dict[str, list[Known]] = {}
        for known in targets.values():
            if known.id not in self.owners:  # held by no journaled pair
                self.by_name.setdefault(known.name, []).append(known)

    def run(self) -> tuple[int, list[VerifyItem], list[VerifyItem]]:
        selection = self.book.selection()
        checked, problems = 0, []
        for space in self.source.list():
            record = self.records.pop(space.id, None)
            if record is None:
                if matches(selection, space.name):
                    checked += 1
                    self.scope.add(space.name, space.id, space.name)
                    problems += self._unjournaled(space)
                continue
            if record.state is State.EXCLUDED:
                continue
            checked += 1
            wanted = _expected(space.name, record.source_name, record.target_name)
            self.scope.add(wanted or space.name, space.id, space.name)
            problems += self._pair(space, record)
        gone = []
        for record in self._unseen():
            gone.append(
                VerifyItem(
                    record.source_id,
                    record.source_name,
                    Problem.SOURCE_MISSING,
                    record.target_id,
                    detail="journaled, but no longer listed by the source",
                )
            )
        return checked, problems, gone

    def _unjournaled(self, space: Space) -> list[VerifyItem]:
        """A selected source space the journal does not know: its counterpart is looked
        for by name among the target spaces no journaled pair holds."""
        for name in dict.fromkeys((space.name, self.target.stored_name(space.name))):
            left = self.by_name.get(name)
            if left:
                found = left.pop(0)
                self.scope.paired.add(found.id)
                return _differences(space, found, found.name, space.description, self.fields)
        detail = "not in the journal, and no target space of that name"
        return [VerifyItem(space.id, space.name, Problem.MISSING, detail=detail)]

    def _unseen(self) -> Iterator[Record]:
        return (r for r in self.records.values() if r.state is not State.EXCLUDED)

    def _pair(self, space: Space, record: Record) -> list[VerifyItem]:
        def problem(kind: Problem, detail: str) -> list[VerifyItem]:
            return [VerifyItem(space.id, space.name, kind, record.target_id, detail=detail)]

        if record.state not in _PAIRED or record.target_id is None:
            why = f": {record.error}" if record.error else ""
            return problem(Problem.MISSING, f"not migrated (journal: {record.state.value}{why})")
        found = self.targets.get(record.target_id)
        if found is None:
            return problem(Problem.MISSING, "the journaled target space is not on the target")
        self.scope.paired.add(found.id)
        if self.owners[found.id] > 1:
            return problem(
                Problem.CLAIMED_TWICE,
                f"{self.owners[found.id]} source spaces are journaled with this one target space",
            )
        wrong = self._not_written(found, record) if record.action in CREATES else None
        if wrong is not None:
            return problem(wrong[0], f"{wrong[1]}: it is not this migration's copy")
        wanted = _expected(space.name, record.source_name, record.target_name)
        # not the journal's stored_name: only the name meant, or the form the target declares
        accepted = {wanted, self.target.stored_name(wanted or "")}
        name = found.name if found.name in accepted else wanted
        description = _expected(space.description, record.source_description, record.target_description)
        return _differences(space, found, name, description, self.fields)

    def _not_written(self, found: Known, record: Record) -> tuple[Problem, str] | None:
        """Why the journaled target of a create cannot be what the write made: it bore
        the name before, is owned by another user, or was created before the write."""
        if found.id in (record.preexisting or ()):
            return (
                Problem.PREEXISTING,
                "the journaled target space already bore the name before the run wrote it",
            )
        why = foreign(found, self.caller)
        if why is not None:
            return Problem.FOREIGN, why
        why = earlier(found, record.sent_at)
        return None if why is None else (Problem.PREEXISTING, why)


def _expected(current: str | None, journaled: str | None, intended: str | None) -> str | None:
    """The source's current value, unless the migration deliberately changed it."""
    return current if intended == journaled else intended


def _differences(
    space: Space, found: Known, name: str | None, description: str | None, fields: tuple[str, ...]
) -> list[VerifyItem]:
    wanted = {"name": name, "description": description}
    have = {"name": found.name, "description": found.description}
    diffs = [(f, wanted[f], have[f]) for f in fields if f in wanted and wanted[f] != have[f]]
    if "subspaces" in fields:
        names = [s.name for s in space.subspaces]
        if any(n not in found.subspaces for n in names):  # by exact name; extra ones are the target's
            diffs.append(("subspaces", ", ".join(names), ", ".join(sorted(found.subspaces))))
    if not diffs:
        return []
    return [VerifyItem(space.id, space.name, Problem.DIFFERS, found.id, tuple(diffs))]
