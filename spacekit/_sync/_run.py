"""``sync``: list both stores, plan, check the plan is safe, then (with ``apply``) write.

Applying goes through the migration engine: creates and updates are migration
steps carried out by its ``Writer`` (journaled ``sent`` before they leave and
``done`` or ``failed`` once answered; a create of unknown outcome looked up on the
target before it is sent again), and every pair that is kept is journaled ``done``
with its counterpart's id, which is how a later run follows a rename. Deletes are
journaled too, before they are sent, under a key of their own (``DELETE_KEY`` and
the target id); a resumed run plans afresh and never acts on a delete row, so it
deletes only what its own plan calls for. The phases run in order (deletes, then
updates, then creates, each with ``concurrency`` threads), so that a name freed by
a delete or a rename is free before it is taken again.

A delete needs proof (``_proof``): before each is sent, a read of the source
independent of the listing that planned it confirms the space is gone there; a read
that fails, falls short of its count or finds the space holds back every delete not
yet sent, and the report says how many and why (``unreadable``).

Then both stores are listed again and planned against once more: the run is ``ok``
only if no item failed, no delete was held back, that second plan has nothing left
to change, and no name the run covers is on the target more times than in the
source.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import attrs

from .._errors import (
    AuthenticationError,
    NotFound,
    PermissionDenied,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SpacekitError,
    ValidationError,
)
from .._listing import until_complete
from .._manifest import manifest_of
from .._migrate._apply import Stop, Writer
from .._migrate._journal import Journal
from .._migrate._lock import held
from .._migrate._plan import (
    Select,
    TargetIndex,
    Transform,
    check_distinct,
    create_arguments,
    patterns,
    selector,
)
from .._migrate._record import CREATES, UNRESOLVED, Action, Outcome, Record, State
from .._migrate._report import Identity, MigrationItem
from .._migrate._run import _restated
from .._migrate._stores import StoreLike, opened
from .._migrate._subspaces import Carrier, carried, set_apart
from .._model import Space
from .._store import SpaceStore
from ._plan import DELETE_KEY, Pair, Plan, check_options, check_safety, make_plan, rename_hints
from ._proof import Proof, deletes, surplus
from ._report import SyncAction, SyncItem, SyncOutcome, SyncReport
from ._saved import SavedPlan, saved_plan

#: seconds to wait before listing the target a second time, when the first differs
SETTLE: Final = 0.5

Progress = Callable[[SyncItem], None]


def sync(
    source: StoreLike | None = None,
    target: StoreLike | None = None,
    *,
    apply: bool = False,
    delete: bool = False,
    max_changes: float = 0.3,
    force: bool = False,
    journal: str | os.PathLike[str] | None = None,
    select: Select = None,
    transform: Transform | None = None,
    concurrency: int = 8,
    progress: Progress | None = None,
    plan: str | os.PathLike[str] | None = None,
) -> SyncReport:
    """Make ``target`` hold what ``source`` holds: plan, and with ``apply=True`` write.

    ``source`` and ``target`` are stores, names ``spacekit.connect`` takes, or paths
    of manifest files (``.toml``, ``.json``, ``.jsonl``). Without ``apply`` nothing is
    written, not even the journal. ``delete=True`` lets the plan delete target spaces
    that have no counterpart in the source (never one the provider protects).
    A plan that updates or deletes more than ``max_changes`` of a target holding at
    least 10 spaces raises ``TooManyChanges`` before any write, unless ``force``.
    ``journal`` names the SQLite file that makes runs resumable and follows renames;
    ``select`` (names, globs or a predicate) limits both sides; ``transform`` may
    return a changed ``Space`` or None to leave a space out. An
    ``AuthenticationError`` or ``PermissionDenied`` that would fail every item stops
    the run and is raised, as is a ``ProviderError`` listing either store.

    A plan (``apply=False``) can be saved, ``report.save("plan.json")``, and applied
    exactly later: ``sync(plan="plan.json", journal=...)`` opens the stores the plan
    names (``source`` and ``target`` may be given instead, and must be the same
    stores), takes its ``delete``, ``max_changes``, ``force`` and selection, plans
    again, and raises ``StalePlan`` before any write if anything the plan touches
    changed since (what an interrupted application of it journaled aside: running it
    again resumes it). Pass the same ``transform``, if the plan was made with one.
    """
    saved = SavedPlan.load(plan) if plan is not None else None
    if saved is not None:  # the plan's own stores and options
        source, target = saved.store("source", source), saved.store("target", target)
        apply, delete, max_changes, force = True, saved.delete, saved.max_changes, saved.force
        select = None if saved.select is None else list(saved.select)
    if source is None or target is None:
        raise ValidationError("sync needs a source and a target (or a saved plan)")
    choose = selector(select)
    with contextlib.ExitStack() as stack:
        src, src_id = stack.enter_context(opened(source, "source"))
        dst, dst_id = stack.enter_context(opened(target, "target"))
        limit = check_options(dst, delete, max_changes, concurrency)
        check_distinct(src, src_id, dst, dst_id)
        if saved is not None:
            saved.check_stores(src_id, dst_id)
        book = _journal(journal, apply)  # an existing journal (a plan reads a copy of it)
        if book is not None:
            stack.enter_context(book)
            book.check(src_id, dst_id, "sync")
        if apply:  # one run at a time writes into a target, as for migrations
            stack.enter_context(held(dst, dst_id, os.fspath(journal) if journal is not None else None))
        manifest = manifest_of(src)
        listed = _listed(src, "source", src_id)
        in_scope = choose
        if saved is not None:  # only the spaces the saved plan knows
            in_scope = saved.scope([], choose)[1]

        def scoped_sources(fresh: list[Space]) -> list[Space]:
            chosen = [space for space in fresh if choose(space)]
            return saved.scope(chosen, choose)[0] if saved is not None else chosen

        def replan(fresh: list[Space], after: list[Space], mapping: Mapping[str, str]) -> Plan:
            """The plan for ``fresh`` (a listing of the source) against ``after``."""
            return make_plan(
                scoped_sources(fresh),
                after,
                dst,
                recorded=mapping,
                delete=delete,
                in_scope=in_scope,
                transform=transform,
                held_back=held_back,
                renamed=manifest.renames if manifest else None,
                unsettled=unsettled,
                carry_subspaces=carry,
            )

        carry = carried(src, dst)
        sources = scoped_sources(listed)
        targets = _listed(dst, "target", dst_id)
        recorded, unsettled = _recorded(book), _unsettled(book)
        scoped = {space.id for space in sources}
        held_back = {recorded[s.id] for s in listed if s.id in recorded and s.id not in scoped}
        planned = replan(listed, targets, recorded)
        if saved is not None:
            saved.check(planned, book)
        report = SyncReport(
            src_id,
            dst_id,
            planned.items,
            applied=False,
            delete=delete,
            journal=book.path if book else None,
            warnings=rename_hints(planned) if manifest else (),
            saveable=functools.partial(
                saved_plan,
                planned,
                src_id,
                dst_id,
                (source, target),
                (delete, max_changes, force, patterns(select)),
            ),
        )
        if not force:
            check_safety(planned, limit, report)
        if not apply:
            return report
        if book is None and journal is not None:  # created only once the plan is accepted
            book = stack.enter_context(Journal.open(journal, create=True))
        if book is not None:
            book.bind(src_id, dst_id, patterns(select), "sync")
            if saved is not None:
                book.note_plan(saved.id)
            report = attrs.evolve(report, journal=book.path)

        proof = Proof(
            src,
            dst,
            recorded=recorded,
            listed=frozenset(space.id for space in listed),
            replan=lambda fresh: deletes(replan(fresh, targets, recorded).pairs),
            choose=choose,
            transform=transform,
            needed=manifest is None,
        )
        carrier = Carrier(src, dst) if carry else None
        items = _apply(
            planned, Writer(dst, TargetIndex(dst), book, carrier), concurrency, progress, recorded, proof
        )
        mapping = {**recorded, **{i.source_id: i.target_id for i in items if i.source_id and i.target_id}}
        check = functools.partial(_compare, src, src_id, dst, dst_id, mapping, replan)
        mismatches = check()
        if mismatches and not any(item.outcome is SyncOutcome.FAILED for item in items):
            time.sleep(SETTLE)  # a provider may show a write in its listing a moment later
            mismatches = check()
        return attrs.evolve(
            report, items=tuple(items), applied=True, mismatches=mismatches, unreadable=proof.unreadable
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _journal(path: str | os.PathLike[str] | None, apply: bool) -> Journal | None:
    """The journal, if it exists already; a plan reads a copy, so no byte of it changes."""
    if path is None or not os.path.exists(path):
        return None
    return Journal.open(path, create=apply, read_only=not apply)


def _recorded(book: Journal | None) -> dict[str, str]:
    """Source id -> target id, for every pair the journal knows (deletes aside)."""
    if book is None:
        return {}
    known: dict[str, str] = {}
    for entry in book.records():
        if entry.source_id.startswith(DELETE_KEY) or entry.target_id is None:
            continue
        if entry.state is State.DONE or (entry.action is Action.UPDATE and entry.state in UNRESOLVED):
            known[entry.source_id] = entry.target_id
    return known


def _unsettled(book: Journal | None) -> dict[str, Record]:
    """Source id -> the journal's record of its create whose outcome is unknown."""
    if book is None:
        return {}
    return {
        entry.source_id: entry
        for entry in book.records()
        if entry.unsettled and entry.action in CREATES and not entry.source_id.startswith(DELETE_KEY)
    }


def _listed(store: SpaceStore, role: str, who: Identity, *, again: bool = False) -> list[Space]:
    """Every space of ``store``, listed again while a listing falls short of its count."""
    try:
        return until_complete(lambda: list(store.list()))
    except ProviderError as exc:
        when = "after the writes, so the result could not be checked" if again else "nothing was written"
        raise _restated(exc, f"listing the {role} ({who}) failed, {when}: {exc.args[0]}") from None


def _compare(
    source: SpaceStore,
    source_who: Identity,
    target: SpaceStore,
    target_who: Identity,
    mapping: Mapping[str, str],
    replan: Callable[[list[Space], list[Space], Mapping[str, str]], Plan],
) -> tuple[str, ...]:
    """What fresh listings of both stores show still differing: the same plan, made
    again (so a source space renamed or created meanwhile is a difference too), and
    every name the target now holds more times than the source does."""
    fresh = _listed(source, "source", source_who, again=True)
    after = _listed(target, "target", target_who, again=True)
    again = replan(fresh, after, mapping)
    found = [_mismatch(item) for item in again.items if item.action is not SyncAction.KEEP]
    return (*found, *surplus(again.pairs, after, target))


def _mismatch(item: SyncItem) -> str:
    if item.action is SyncAction.CREATE:
        return f"{item.source_name!r} ({item.source_id}) has no counterpart on the target"
    if item.action is SyncAction.UPDATE:
        shown = "; ".join(str(change) for change in item.changes)
        return f"{item.source_name!r} ({item.source_id}) differs on the target ({item.target_id}): {shown}"
    if item.action is SyncAction.DELETE:
        return f"{item.target_name!r} ({item.target_id}) is still on the target"
    return f"{item.label}: {item.error}"


# -- applying -------------------------------------------------------------------------


def _apply(
    plan: Plan,
    writer: Writer,
    concurrency: int,
    progress: Progress | None,
    recorded: Mapping[str, str],
    proof: Proof,
) -> list[SyncItem]:
    index = writer.index
    for pair in plan.pairs:
        if pair.target is not None:
            index.add(pair.target.id, pair.target.name)
            if pair.item.action is not SyncAction.DELETE:
                index.claim(pair.target.id)
        if pair.item.action is SyncAction.CREATE and pair.wanted is not None:
            index.reserve(pair.wanted.name)
    runner = _Runner(writer, progress, recorded, proof)
    results: dict[int, SyncItem] = {}
    phases = (SyncAction.DELETE, SyncAction.UPDATE, SyncAction.CREATE, SyncAction.KEEP)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="spacekit-sync") as pool:
        for action in phases:
            numbered = [(n, p) for n, p in enumerate(plan.pairs) if p.item.action is action]
            futures = {n: pool.submit(runner.run, pair) for n, pair in numbered}
            try:
                for number, future in futures.items():
                    results[number] = future.result()
            except BaseException as exc:  # a Stop, or Ctrl-C: finish what is in flight, start nothing
                runner.writer.stopped.set()
                for future in futures.values():
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)
                if isinstance(exc, Stop):
                    raise _stopped(exc.error) from None
                raise
    return [results[number] for number in sorted(results)]


def _stopped(error: ProviderError) -> ProviderError:
    if isinstance(error, RateLimited):
        wait = f" and asks to wait {error.retry_after:g} s" if error.retry_after is not None else ""
        cause, then = f"the target is rate limiting{wait} ({error.args[0]})", "later,"
    elif isinstance(error, AuthenticationError | PermissionDenied):
        cause, then = error.args[0], "fix the credentials or permissions, then"
    else:
        cause, then = error.args[0], "once the provider answers again,"
    message = f"sync stopped: {cause}. Nothing more was written; {then} run the same command again to resume"
    return _restated(error, message)


class _Runner:
    """Carries out one pair: creates, updates and keeps through the migration
    ``Writer``, deletes here, each journaled before it is sent."""

    def __init__(
        self, writer: Writer, progress: Progress | None, recorded: Mapping[str, str], proof: Proof
    ) -> None:
        self.writer = writer
        self.progress = progress
        self.recorded = recorded
        self.proof = proof

    def run(self, pair: Pair) -> SyncItem:
        item = pair.item
        if item.error is not None:
            done = attrs.evolve(item, outcome=SyncOutcome.FAILED)
        elif self.writer.stopped.is_set():
            done = item  # the run stopped before this pair was started: still planned
        elif item.action is SyncAction.DELETE:
            done = self._delete(pair)
        elif pair.wanted is None or pair.source is None:
            done = item  # left out by the transform, or a target space kept: nothing to write
        else:
            done = self._write(pair)
        if self.progress is not None:
            self.progress(done)
        return done

    def _write(self, pair: Pair) -> SyncItem:
        assert pair.wanted is not None and pair.source is not None
        item, wanted = pair.item, pair.wanted
        source = pair.source
        step = Record(source.id, source.name, source.description, lost=item.lost)
        if item.action is SyncAction.CREATE:
            description, options = create_arguments(wanted, self.writer.target)
            step.action, step.target_name = Action.CREATE, wanted.name
            step.target_description, step.options = description, options
            if self.writer.carrier is not None:
                step.options = set_apart(options, ())[0]
        elif item.action is SyncAction.UPDATE:
            step.action, step.target_name, step.target_description = (
                Action.UPDATE,
                wanted.name,
                wanted.description,
            )
            step.changes = {c.field: c.after for c in item.changes if c.field != "subspaces"}
            step.target_id = item.target_id
        else:  # keep: the pair is journaled, so that a later rename is followed
            step.action, step.state, step.outcome = Action.SKIP, State.DONE, Outcome.SKIPPED
            step.target_name, step.target_id = item.target_name, item.target_id
            step.journaled = self.recorded.get(source.id) != item.target_id  # a row only if new
        if self.writer.carrier is not None and item.action is not SyncAction.KEEP:
            step.subspaces = wanted.subspaces  # a kept pair holds them all (its plan said so)
        written = self.writer.apply(step)
        if written is None:
            return item
        return _item(item, MigrationItem.of(written))

    def _delete(self, pair: Pair) -> SyncItem:
        item, space = pair.item, pair.target
        assert space is not None
        held = self.proof.check(pair)
        if held is not None:  # not sent, not journaled: the next run plans it afresh
            return attrs.evolve(item, reason=held)
        entry = Record(
            source_id=DELETE_KEY + space.id,
            source_name=space.name,
            source_description=space.description,
            action=Action.DELETE,
            state=State.SENT,
            target_name=space.name,
            target_id=space.id,
        )
        self._record(entry)
        try:
            self.writer.target.delete(space.id)
        except NotFound:
            self._record(entry.advance(State.DONE))
            return attrs.evolve(item, outcome=SyncOutcome.GONE, reason="the target answered not found")
        except (ProviderUnavailable, ProtocolError) as exc:
            # The delete may have been applied: the next run's plan decides afresh.
            self._record(entry.advance(State.UNKNOWN, error=str(exc)))
            return attrs.evolve(item, outcome=SyncOutcome.FAILED, error=f"the outcome is unknown: {exc}")
        except (AuthenticationError, RateLimited) as exc:
            self._record(entry.advance(State.FAILED, error=str(exc)))
            self.writer.stopped.set()
            raise Stop(exc) from None
        except SpacekitError as exc:
            self._record(entry.advance(State.FAILED, error=str(exc)))
            return attrs.evolve(item, outcome=SyncOutcome.FAILED, error=str(exc))
        self._record(entry.advance(State.DONE))
        return attrs.evolve(item, outcome=SyncOutcome.DELETED)

    def _record(self, entry: Record) -> None:
        if self.writer.journal is not None:
            self.writer.journal.record(entry)


def _item(planned: SyncItem, written: MigrationItem) -> SyncItem:
    outcome = {
        Outcome.CREATED: SyncOutcome.CREATED,
        Outcome.UPDATED: SyncOutcome.UPDATED,
        Outcome.SKIPPED: SyncOutcome.KEPT,
        Outcome.FAILED: SyncOutcome.FAILED,
        Outcome.PLANNED: SyncOutcome.PLANNED,
        Outcome.VANISHED: SyncOutcome.FAILED,  # a migration's word: a sync never reports it
    }[written.outcome]
    return attrs.evolve(
        planned,
        outcome=outcome,
        target_id=written.target_id or planned.target_id,
        target_name=written.target_name or planned.target_name,
        reason=written.reason if written.reason and outcome is not SyncOutcome.KEPT else planned.reason,
        error=written.error,
    )


__all__ = ["DELETE_KEY", "sync"]
