"""``verify``: does the target hold what the source holds?

With a journal, every journaled pair is compared, and every source space the
recorded selection takes but the journal lacks is reported missing. Without one,
source and target spaces are matched by name (as many target spaces of a name as
the source has). Fields compared: the name always (a journaled rename, a
transform's new name, or the name as the target stored it, is expected), the
description where both stores keep it. A target space bearing the name of one
this migration created, but held by no journaled pair, is a duplicate (without
a journal: more target spaces of a name than source spaces). Only reads: nothing
is written anywhere.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator

from .._model import Space
from .._store import SpaceStore
from ._journal import Entry, Journal, State
from ._plan import Known, matches
from ._report import Action, Problem, VerifyItem, VerifyReport
from ._stores import StoreLike, opened

_PAIRED = frozenset({State.DONE, State.SKIPPED})


def verify(
    source: StoreLike, target: StoreLike, *, journal: str | os.PathLike[str] | None = None
) -> VerifyReport:
    """Compare source and target; ``report.ok`` when nothing is missing or differs."""
    with contextlib.ExitStack() as stack:
        src, src_id = stack.enter_context(opened(source, "source"))
        dst, dst_id = stack.enter_context(opened(target, "target"))
        book = stack.enter_context(Journal.open(journal, create=False)) if journal is not None else None
        if book is not None:
            book.check(src_id, dst_id)
        fields = _compared(src, dst)
        targets = {space.id: Known(space.id, space.name, space.description) for space in dst.list()}
        names = Counter(known.name for known in targets.values())
        if book is not None:
            paired = {e.target_id for e in book.entries() if e.state in _PAIRED}
            strays = Counter(k.name for k in targets.values() if k.id not in paired)
            checked, problems = _by_journal(src, book, targets, strays, fields)
        else:
            checked, problems = _by_name(src, targets, names, fields)
        return VerifyReport(src_id, dst_id, checked, tuple(problems), fields, book.path if book else None)
    raise AssertionError("unreachable")  # pragma: no cover


def _compared(source: SpaceStore, target: SpaceStore) -> tuple[str, ...]:
    both = "description" in source.writable_fields and "description" in target.writable_fields
    return ("name", "description") if both else ("name",)


def _by_name(
    source: SpaceStore, targets: dict[str, Known], names: Counter[str], fields: tuple[str, ...]
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
        left = by_name.get(space.name)
        if not left:
            problems.append(
                VerifyItem(space.id, space.name, Problem.MISSING, detail="no target space of that name")
            )
            continue
        found = left.pop(0)
        problems += _differences(space.id, space.name, found, space.name, space.description, fields)
    for name, source_id in first.items():
        if by_name.get(name):
            problems.append(_duplicate(source_id, name, by_name[name][0].id, names[name]))
    return checked, problems


def _by_journal(
    source: SpaceStore,
    book: Journal,
    targets: dict[str, Known],
    strays: Counter[str],
    fields: tuple[str, ...],
) -> tuple[int, list[VerifyItem]]:
    """``strays`` counts, by name, the target spaces no journaled pair holds."""
    selection = book.selection()
    seen: set[str] = set()
    checked, problems = 0, []
    for space in source.list():
        entry = book.get(space.id)
        if entry is None:
            if matches(selection, space.name):
                checked += 1
                problems.append(
                    VerifyItem(space.id, space.name, Problem.MISSING, detail="not in the journal")
                )
            continue
        seen.add(space.id)
        if entry.state is State.EXCLUDED:
            continue
        checked += 1
        problems += _check_pair(space, entry, targets, strays, fields)
    for entry in _unseen(book, seen):
        checked += 1
        problems.append(
            VerifyItem(
                entry.source_id,
                entry.source_name,
                Problem.SOURCE_MISSING,
                entry.target_id,
                detail="journaled, but no longer listed by the source",
            )
        )
    return checked, problems


def _unseen(book: Journal, seen: set[str]) -> Iterator[Entry]:
    return (e for e in book.entries() if e.source_id not in seen and e.state is not State.EXCLUDED)


def _check_pair(
    space: Space, entry: Entry, targets: dict[str, Known], strays: Counter[str], fields: tuple[str, ...]
) -> list[VerifyItem]:
    if entry.state not in _PAIRED or entry.target_id is None:
        detail = f"not migrated (journal: {entry.state.value}{': ' + entry.error if entry.error else ''})"
        return [VerifyItem(space.id, space.name, Problem.MISSING, entry.target_id, detail=detail)]
    found = targets.get(entry.target_id)
    if found is None:
        return [
            VerifyItem(
                space.id,
                space.name,
                Problem.MISSING,
                entry.target_id,
                detail="the journaled target space is not on the target",
            )
        ]
    if entry.action in (Action.CREATE, Action.RENAME) and strays[found.name]:
        return [_duplicate(space.id, space.name, found.id, strays[found.name] + 1)]
    name = _expected(space.name, entry.source_name, entry.target_name)
    description = _expected(space.description, entry.source_description, entry.target_description)
    return _differences(space.id, space.name, found, name, description, fields)


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
