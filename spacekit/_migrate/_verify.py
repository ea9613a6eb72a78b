"""``verify``: does the target hold what the source holds, exactly once?

It trusts nothing the journal claims; the journal only says which target space was
meant for which source space, and every such claim is checked on the target as it
is now:

- every source space has exactly one counterpart: the journaled target space is
  there, no other source space is journaled with it, and no stray copy bearing its
  name (one a lost write made) is left beside it;
- each journaled target still carries the intended name (a rename, a transform's
  new name, or the form the target declares it stores names in);
- no journaled target existed before the run wrote it (its id is not among those
  that bore the name when the write was first sent);
- every source space the recorded selection takes is journaled (else missing), and
  every journaled one is still in the source.

Without a journal, source and target spaces are matched by name (as many target
spaces of a name as the source has). The description is compared where both stores
keep it. Only reads: nothing is written anywhere, the journal included (a copy of
it is read).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator

import attrs

from .._model import Space
from .._store import SpaceStore
from ._journal import Journal
from ._plan import matches
from ._record import CREATES, Record, State
from ._report import Problem, VerifyItem, VerifyReport
from ._stores import StoreLike, opened

_PAIRED = frozenset({State.DONE, State.SKIPPED})


@attrs.frozen
class Known:
    """A target space as verify sees it."""

    id: str
    name: str
    description: str | None = None


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
        targets = {space.id: Known(space.id, space.name, space.description) for space in dst.list()}
        gone: list[VerifyItem] = []
        if book is not None:
            checked, problems, gone = _JournalCheck(src, dst, book, targets, fields).run()
        else:
            names = Counter(known.name for known in targets.values())
            checked, problems = _by_name(src, dst, targets, names, fields)
        where = book.path if book else None
        return VerifyReport(src_id, dst_id, checked, tuple(problems), fields, where, tuple(gone))
    raise AssertionError("unreachable")  # pragma: no cover


def _compared(source: SpaceStore, target: SpaceStore) -> tuple[str, ...]:
    both = "description" in source.writable_fields and "description" in target.writable_fields
    return ("name", "description") if both else ("name",)


def _by_name(
    source: SpaceStore,
    target: SpaceStore,
    targets: dict[str, Known],
    names: Counter[str],
    fields: tuple[str, ...],
) -> tuple[int, list[VerifyItem]]:
    """The n-th source space of a name pairs with the n-th target space of that name; a
    target space of a name left over once the source's are paired is a duplicate."""
    by_name: dict[str, list[Known]] = {}
    for known in targets.values():
        by_name.setdefault(known.name, []).append(known)
    first: dict[str, str] = {}  # a source id per name, to report duplicates under
    checked, problems = 0, []
    for space in source.list():
        checked += 1
        first.setdefault(space.name, space.id)
        left = by_name.get(space.name) or by_name.get(target.stored_name(space.name))
        if not left:
            problems.append(
                VerifyItem(space.id, space.name, Problem.MISSING, detail="no target space of that name")
            )
            continue
        found = left.pop(0)
        problems += _differences(space.id, space.name, found, found.name, space.description, fields)
    for name, source_id in first.items():
        if by_name.get(name):
            problems.append(_duplicate(source_id, name, by_name[name][0].id, names[name]))
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
    ) -> None:
        self.source, self.target, self.book = source, target, book
        self.targets, self.fields = targets, fields
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
                    problems += self._unjournaled(space)
                continue
            if record.state is State.EXCLUDED:
                continue
            checked += 1
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
                return _differences(space.id, space.name, found, found.name, space.description, self.fields)
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
        if self.owners[found.id] > 1:
            return problem(
                Problem.CLAIMED_TWICE,
                f"{self.owners[found.id]} source spaces are journaled with this one target space",
            )
        if record.action in CREATES and found.id in (record.preexisting or ()):
            return problem(
                Problem.PREEXISTING,
                "the journaled target space already bore the name before the run wrote it: "
                "it is not this migration's copy",
            )
        wanted = _expected(space.name, record.source_name, record.target_name)
        # not the journal's stored_name: only the name meant, or the form the target declares
        accepted = {wanted, self.target.stored_name(wanted or "")}
        if record.action in CREATES:
            before = set(record.preexisting or ())
            strays = [k for n in accepted if n for k in self.by_name.get(n, ()) if k.id not in before]
            if strays:
                return problem(
                    Problem.DUPLICATE,
                    f"{len(strays) + 1} target spaces have this name; "
                    f"{', '.join(k.id for k in strays)} belong to no source space",
                )
        name = found.name if found.name in accepted else wanted
        description = _expected(space.description, record.source_description, record.target_description)
        return _differences(space.id, space.name, found, name, description, self.fields)


def _expected(current: str | None, journaled: str | None, intended: str | None) -> str | None:
    """The source's current value, unless the migration deliberately changed it."""
    return current if intended == journaled else intended


def _differences(
    source_id: str,
    source_name: str,
    found: Known,
    name: str | None,
    description: str | None,
    fields: tuple[str, ...],
) -> list[VerifyItem]:
    wanted = {"name": name, "description": description}
    have = {"name": found.name, "description": found.description}
    diffs = tuple((f, wanted[f], have[f]) for f in fields if wanted[f] != have[f])
    if not diffs:
        return []
    return [VerifyItem(source_id, source_name, Problem.DIFFERS, found.id, diffs)]


def _duplicate(source_id: str, source_name: str, target_id: str, count: int) -> VerifyItem:
    return VerifyItem(
        source_id, source_name, Problem.DUPLICATE, target_id, detail=f"{count} target spaces have this name"
    )
