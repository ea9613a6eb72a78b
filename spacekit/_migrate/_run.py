"""``migrate``: list, plan and apply, with bounded concurrency, until nothing is left.

The source is listed lazily, page by page, in this thread; each selected space is
planned here (in order, so name reservations are deterministic) into a ``Record``
and handed to a pool of ``concurrency`` worker threads that write to the target. At
most twice that many records wait at a time, so memory does not grow with the
number of spaces: what is kept per space is its report item, compactly, and a
hash of its source id.

A listing that shifts while it is read (a space deleted meanwhile moves the pages
past another) can skip a space, and spaces may be created while the run goes on.
So once the first listing is read, the source is listed again, and every space not
yet accounted for is migrated in the same run; this repeats until a listing finds
nothing new (at most ``LISTINGS`` listings). Spaces listed once but absent from the
last listing were deleted from the source meanwhile: the report calls them
``vanished``, not failed. ``report.ok`` then means that every space present in the
source at the end is on the target exactly once.

Why threads: migrations take the sync stores users already hold, and those are
safe to share between threads (httpx.Client pools connections; the engine's rate
limiter and authentication lock are thread-safe; the embedded store serializes
on its own lock). Every worker goes through the same store object, so they all
share its rate limiter.

When the run stops (a ``Stop`` from a write, the source listing failing for good,
Ctrl-C), it raises; every write sent is journaled, so the same call resumes. A
failed listing first finishes the records already planned; a ``Stop`` and Ctrl-C
let the writes in flight finish and start no other. Only one run at a time writes
into a target on this machine (``_lock``); a dry run takes no lock and reads a
copy of the journal.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Final, NoReturn

from .._errors import AuthenticationError, PermissionDenied, ProviderError, RateLimited
from .._listing import SHORT_LISTINGS, IncompleteListing, until_complete
from .._model import Space
from .._store import SpaceStore
from ._apply import Stop, Writer
from ._fingerprints import Fingerprints
from ._journal import Journal
from ._lock import held
from ._plan import (
    Planner,
    Select,
    TargetIndex,
    Transform,
    check_distinct,
    check_run,
    over_held,
    patterns,
    selector,
    store_notes,
)
from ._record import Outcome, Record, State
from ._report import Identity, Items, MigrationItem, MigrationReport
from ._stores import StoreLike, opened
from ._subspaces import Carrier, carried

Progress = Callable[[MigrationItem], None]
#: listings of the source in one run: the first, then again until one finds nothing new
LISTINGS: Final = 4
#: worker threads at most, whatever ``concurrency`` asks (the command line's own cap)
MAX_WORKERS: Final = 64


def migrate(
    source: StoreLike,
    target: StoreLike,
    *,
    dry_run: bool = False,
    on_conflict: str = "skip",
    journal: str | os.PathLike[str] | None = None,
    concurrency: int = 8,
    select: Select = None,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every (selected) space of ``source`` to ``target``; nothing is ever deleted.

    ``source`` and ``target`` are stores or names ``spacekit.connect`` takes.
    ``on_conflict`` says what to do when the target already has a space of that name:
    ``skip``, ``update`` it, ``rename`` (create "Name (2)"), or ``fail`` the item.
    ``journal`` names a SQLite file recording every write, so that running the same
    call again resumes an interrupted run without duplicates. ``select`` takes names
    or globs, or a predicate on ``Space``; ``transform`` may return a changed
    ``Space`` (``attrs.evolve``) or None to leave a space out. ``progress`` is called
    with each finished item; if it also has a ``planned(count)`` method, that is called
    when a listing of the source has ended, with the number of spaces selected so far
    (a progress bar's total). A dry run lists both stores, plans, and writes nothing:
    not to the target, not to the journal (an existing one is read from a copy). An
    ``AuthenticationError`` or ``PermissionDenied`` that would fail every item stops
    the run and is raised. A second run into the same target on this machine is
    refused with a ``ConfigError`` while one is running.
    """
    choose = selector(select)
    with contextlib.ExitStack() as stack:
        src, src_id = stack.enter_context(opened(source, "source"))
        dst, dst_id = stack.enter_context(opened(target, "target"))
        check_run(src, dst, on_conflict, concurrency)
        check_distinct(src, src_id, dst, dst_id)
        book = _journal(journal, dry_run)
        if book is not None:
            stack.enter_context(book)
            if dry_run:
                book.check(src_id, dst_id)
            else:
                book.bind(src_id, dst_id, patterns(select))
        if not dry_run:
            stack.enter_context(held(dst, dst_id, book.path if book else None))
        try:
            index = TargetIndex.load(dst, book.claimed() if book else ())
        except ProviderError as exc:
            raise _restated(
                exc, f"listing the target ({dst_id}) failed, nothing was written: {exc.args[0]}"
            ) from None
        carry = carried(src, dst)
        planner = Planner(
            dst, index, on_conflict=on_conflict, journal=book, transform=transform, carry_subspaces=carry
        )
        items = Items()
        run = _Passes(src, src_id, choose, planner, getattr(progress, "planned", None))
        if dry_run:
            _planned(run.records(), items, progress)
        else:
            carrier = Carrier(src, dst) if carry else None
            _apply(run.records(), Writer(dst, index, book, carrier), concurrency, items, progress)
        items.mark_vanished(run.vanished(items))
        warnings = () if run.complete else (run.incomplete(),)
        mismatches, unreadable = ((), None) if dry_run else _surplus(items, dst)
        return MigrationReport(
            source=src_id,
            target=dst_id,
            items=items,
            dry_run=dry_run,
            on_conflict=on_conflict,
            journal=book.path if book else None,
            warnings=warnings,
            notes=store_notes(src, dst),
            listings=run.listings,
            complete=run.complete,
            mismatches=mismatches,
            unreadable=unreadable,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _surplus(items: Items, target: SpaceStore) -> tuple[tuple[str, ...], str | None]:
    """The closing look at the target: each name the run's items hold there (created,
    updated or found) that the target holds more times than they do, with the ids. A
    create planned against a look at the target that missed a space is found here.
    A target that cannot be listed again (an error, or short of its count every time) is
    unreadable: the second value says why, and the run is not ok (exit 5, as sync)."""
    wanted = Counter(item.target_name for item in items if item.target_name and item.outcome in _ON_TARGET)
    if not wanted:
        return (), None
    try:
        return tuple(until_complete(lambda: over_held(wanted, target.list(), target))), None
    except ProviderError as exc:
        return (), f"{exc.args[0]}"


#: the outcomes of an item whose space the target holds after the run
_ON_TARGET: Final = frozenset({Outcome.CREATED, Outcome.UPDATED, Outcome.SKIPPED})


def _journal(path: str | os.PathLike[str] | None, dry_run: bool) -> Journal | None:
    """The journal to use; a dry run only reads a copy of one that already exists."""
    if path is None or (dry_run and not os.path.exists(path)):
        return None
    return Journal.open(path, create=not dry_run, read_only=dry_run)


class ListingFailed(Exception):
    """The source listing failed for good: the records already planned are finished first."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


class _Passes:
    """The source, listed until a listing finds nothing new; planned into records."""

    def __init__(
        self,
        source: SpaceStore,
        who: Identity,
        choose: Callable[[Space], bool],
        planner: Planner,
        planned: Callable[[int], object] | None = None,
    ) -> None:
        self.source, self.who, self.choose, self.planner = source, who, choose, planner
        self.planned = planned  # told the count once the first listing has ended
        self.seen = Fingerprints()  # every selected source id planned
        self.present = self.seen  # the ids of the last listing
        self.listings = 0
        self.complete = True

    def records(self) -> Iterator[Record]:
        short: IncompleteListing | None = None  # the last listing, when it fell short of its count
        shortfalls = 0  # listings in a row that fell short
        while self.listings < LISTINGS or (short is not None and shortfalls < SHORT_LISTINGS):
            self.listings += 1
            again = self.listings > 1
            self.present = Fingerprints() if again else self.seen
            new = 0
            listing = self._listed()
            for space in listing:
                if not self.choose(space):
                    continue
                if again:
                    self.present.add(space.id)
                    if space.id in self.seen:
                        continue
                self.seen.add(space.id)
                new += 1
                yield self.planner.plan(space)
            short = listing.short
            if self.planned is not None:  # the total so far: later listings may add to it
                self.planned(len(self.seen))
            shortfalls = shortfalls + 1 if short is not None else 0
            if short is not None and shortfalls >= SHORT_LISTINGS:
                tally = f"{shortfalls} listings in a row fell short"
                raise ListingFailed(
                    _restated(short, f"listing the source ({self.who}) fell short: {short.args[0]} ({tally})")
                )
            if again and not new and short is None:
                return
        self.complete = False  # the last listing still found new spaces

    def vanished(self, items: Items) -> frozenset[str]:
        """The source ids planned but absent from the last listing."""
        gone = self.seen.without(self.present)
        if not len(gone):
            return frozenset()
        return gone.matching(item.source_id for item in items)

    def incomplete(self) -> str:
        return (
            f"the source kept changing: each of {self.listings} listings found spaces the previous "
            "one did not show; run the same command again to migrate those created since"
        )

    def _listed(self) -> _Listing:
        return _Listing(self.source, self.who, self.listings > 1)


class _Listing:
    """One listing of the source, its spaces as they come. A listing that ends short of
    the count the provider stated ends quietly and keeps the shortfall in ``short``
    (the spaces it did show exist: they are planned; the source is listed again); any
    other failure is a ``ListingFailed``."""

    def __init__(self, source: SpaceStore, who: Identity, again: bool) -> None:
        self.source, self.who, self.again = source, who, again
        self.short: IncompleteListing | None = None

    def __iter__(self) -> Iterator[Space]:
        count = 0
        try:
            for space in self.source.list():
                count += 1
                yield space
        except IncompleteListing as exc:
            self.short = exc
        except ProviderError as exc:
            again = " again" if self.again else ""
            raise ListingFailed(
                _restated(
                    exc,
                    f"listing the source ({self.who}){again} failed after {count} space(s): {exc.args[0]}",
                )
            ) from None


def _planned(records: Iterator[Record], items: Items, progress: Progress | None) -> None:
    try:
        for record in records:
            if record.writes or (record.state is State.DONE and record.journaled):
                record.outcome = Outcome.PLANNED
            item = items.add(record)
            if progress:
                progress(item)
    except ListingFailed as failed:
        raise failed.error from None


def _apply(
    records: Iterator[Record],
    writer: Writer,
    concurrency: int,
    items: Items,
    progress: Progress | None,
) -> None:
    """Run the records on ``concurrency`` threads; the items are added in source order.

    Each worker takes the next record itself (``_Feed``: planned in source order, under
    a lock) and hands its result back to this thread, which adds the items in order and
    calls ``progress``. Nothing else passes between threads: no future, no waiter set
    per write, so the per-space cost stays that of the write itself. At most twice
    ``concurrency`` records are taken beyond the first not yet reported, so memory
    stays bounded even behind one slow write.
    """
    workers = min(concurrency, MAX_WORKERS)
    feed = _Feed(records, window=2 * workers)
    done: queue.SimpleQueue[_Done] = queue.SimpleQueue()
    crew = _Crew(feed, writer, done, workers)
    crew.hire()
    results: dict[int, MigrationItem | None] = {}
    added = 0
    failure: BaseException | None = None
    try:
        while crew.live:
            number, record, error = done.get()
            if number == _HIRE:
                crew.hire()
                continue
            if number < 0:
                crew.live -= 1
                if error is not None and failure is None:
                    failure = error  # the listing failed: what was planned still finishes
                continue
            if error is not None and (failure is None or isinstance(failure, ListingFailed)):
                failure = error  # a Stop (or a failure of our own) outranks the listing's
            item = None if record is None else MigrationItem.of(record)
            results[number] = item
            if item is not None and progress:
                progress(item)
            while added in results:  # in order, as soon as the ones before are in
                finished = results.pop(added)
                if finished is not None:
                    items.append(finished)
                added += 1
                feed.release()
    except BaseException:
        writer.stopped.set()  # Ctrl-C, or progress raised: finish what is in flight, start nothing
        feed.close()
        crew.join()
        raise
    if isinstance(failure, ListingFailed):
        _stop(failure.error, "The spaces listed before it were migrated")
    if isinstance(failure, Stop):
        _stop(failure.error)
    if failure is not None:
        raise failure


#: what a worker hands back: (number, the record or None if it was not started, a failure);
#: number -1 when the worker ends (with the listing's failure, if that ended it), ``_HIRE``
#: when every worker is busy and another record is waiting
_Done = tuple[int, Record | None, BaseException | None]
_HIRE: Final = -2


class _Crew:
    """The worker threads, started one at a time as the work needs them: the first when
    there is a record, another whenever every worker took one and another is waiting,
    never more than ``most``. So a migration of 50 spaces starts at most 50 threads
    whatever ``concurrency`` says, and none for an empty source."""

    def __init__(self, feed: _Feed, writer: Writer, done: queue.SimpleQueue[_Done], most: int) -> None:
        self.feed, self.writer, self.done, self.most = feed, writer, done, most
        self.threads: list[threading.Thread] = []
        self.live = 0

    def hire(self) -> None:
        """Start one more worker, if there is room for one and a record waits for it."""
        if len(self.threads) >= self.most or not self.feed.waiting():
            return
        number = len(self.threads)
        thread = threading.Thread(
            target=_work,
            args=(self.feed, self.writer, self.done, number < self.most - 1),
            name=f"spacekit-migrate-{number}",
            daemon=True,
        )
        self.threads.append(thread)
        self.live += 1
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()


class _Feed:
    """The planned records, taken one at a time by any worker, in source order."""

    def __init__(self, records: Iterator[Record], window: int) -> None:
        self._records = records
        self._lock = threading.Lock()
        self._room = threading.Semaphore(window)
        self._taken = 0
        self._closed = False
        #: a record planned ahead by ``waiting`` (or the failure met planning it)
        self._next: tuple[Record | None, BaseException | None] | None = None

    def waiting(self) -> bool:
        """Whether a record is there for the next ``take`` (it is planned now, if need be);
        a failure of the listing counts: the worker that takes it reports it."""
        with self._lock:
            if self._closed:
                return False
            if self._next is None:
                try:
                    self._next = (next(self._records), None)
                except StopIteration:
                    return False
                except BaseException as exc:
                    self._next = (None, exc)
            return True

    def take(self) -> tuple[int, Record] | None:
        """The next record and its number; None once there is none (or the run stops).
        A ``ListingFailed`` is raised once, to the worker that met it."""
        self._room.acquire()
        with self._lock:
            if self._closed:
                self._room.release()
                return None
            try:
                record = self._pull()
            except StopIteration:
                self._closed = True
                self._room.release()
                return None
            except BaseException:
                self._closed = True
                self._room.release()
                raise
            number = self._taken
            self._taken += 1
            return number, record

    def _pull(self) -> Record:
        """The record ``waiting`` planned ahead, else the next one (under the lock)."""
        ahead, self._next = self._next, None
        if ahead is None:
            return next(self._records)
        record, error = ahead
        if error is not None:
            raise error
        assert record is not None
        return record

    def release(self) -> None:
        """One more record reported in order: room for one more to be taken."""
        self._room.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._room.release()  # a worker waiting for room sees the feed closed


def _work(feed: _Feed, writer: Writer, done: queue.SimpleQueue[_Done], may_hire: bool) -> None:
    """One worker: take, write, hand back, until the feed is empty or closed. Its first
    record taken, it asks for another worker once (if the crew may grow)."""
    while True:
        try:
            taken = feed.take()
        except BaseException as exc:  # the listing failed, or planning did
            done.put((-1, None, exc))
            return
        if taken is None:
            done.put((-1, None, None))
            return
        number, record = taken
        if may_hire:
            may_hire = False
            done.put((_HIRE, None, None))
        try:
            done.put((number, writer.apply(record), None))
        except BaseException as exc:  # a Stop, or a failure of our own: start nothing more
            writer.stopped.set()
            feed.close()
            done.put((number, None, exc))


def _stop(error: ProviderError, written: str = "Nothing more was written") -> NoReturn:
    if isinstance(error, AuthenticationError | PermissionDenied):
        cause, then = error.args[0] if error.args else error, "fix the credentials or permissions, then"
    elif isinstance(error, RateLimited):
        wait = f" and asks to wait {error.retry_after:g} s" if error.retry_after is not None else ""
        cause, then = f"the target is rate limiting{wait} ({error.args[0]})", "later,"
    else:
        cause, then = error.args[0] if error.args else error, "once the provider answers again,"
    raise _restated(
        error,
        f"migration stopped: {cause}. {written}; {then} run the same command again to resume",
    ) from None


def _restated(error: ProviderError, message: str) -> ProviderError:
    """The same kind of error, with a message saying what it stopped."""
    restated = type(error)(message, provider=error.provider, status=error.status)
    restated.__dict__.update({k: v for k, v in vars(error).items() if k not in ("provider", "status")})
    return restated
