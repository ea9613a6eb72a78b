"""``migrate``: list, plan and apply, with bounded concurrency, in one pass.

The source is listed lazily, page by page, in this thread; each space is planned
here (in order, so name reservations are deterministic) and handed to a pool of
``concurrency`` worker threads that write to the target. At most twice that many
steps wait at a time, so memory does not grow with the number of spaces: what is
kept per space is its report item (a few short strings).

Why threads: migrations take the sync stores users already hold, and those are
safe to share between threads (httpx.Client pools connections; the engine's rate
limiter and authentication lock are thread-safe; the embedded store serializes
on its own lock). Every worker goes through the same store object, so they all
share its rate limiter, and a 429 ``Retry-After`` pauses every one of them.

When the run stops (a ``Stop`` from a write, the source listing failing for good,
Ctrl-C), it raises; every write sent is journaled, so the same call resumes. A
failed listing first finishes the steps already planned; a ``Stop`` and Ctrl-C
let the writes in flight finish and start no other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import NoReturn

from .._errors import AuthenticationError, PermissionDenied, ProviderError, RateLimited
from .._model import Space
from .._store import SpaceStore
from ._apply import Stop, Writer
from ._journal import Journal
from ._plan import (
    Planner,
    Select,
    Step,
    TargetIndex,
    Transform,
    check_run,
    patterns,
    selector,
    store_warnings,
)
from ._report import Identity, MigrationItem, MigrationReport, Outcome
from ._stores import StoreLike, opened

Progress = Callable[[MigrationItem], None]


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
    with each finished item. A dry run lists both stores, plans, and writes nothing
    (not even the journal). An ``AuthenticationError`` or ``PermissionDenied`` that
    would fail every item stops the run and is raised.
    """
    choose = selector(select)
    with contextlib.ExitStack() as stack:
        src, src_id = stack.enter_context(opened(source, "source"))
        dst, dst_id = stack.enter_context(opened(target, "target"))
        check_run(src, dst, on_conflict, concurrency)
        book = _journal(journal, dry_run)
        if book is not None:
            stack.enter_context(book)
            if dry_run:
                book.check(src_id, dst_id)
            else:
                book.bind(src_id, dst_id, patterns(select))
        try:
            index = TargetIndex.load(dst, book.claimed() if book else ())
        except ProviderError as exc:
            raise _restated(
                exc, f"listing the target ({dst_id}) failed, nothing was written: {exc.args[0]}"
            ) from None
        planner = Planner(dst, index, on_conflict=on_conflict, journal=book, transform=transform)
        listed = _listed(src, src_id)
        steps = (planner.plan(space) for space in listed if choose(space))
        if dry_run:
            items = _planned(steps, progress)
        else:
            items = _apply(steps, Writer(dst, index, book), concurrency, progress)
        return MigrationReport(
            source=src_id,
            target=dst_id,
            items=tuple(items),
            dry_run=dry_run,
            on_conflict=on_conflict,
            journal=book.path if book else None,
            warnings=store_warnings(src, dst),
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _journal(path: str | os.PathLike[str] | None, dry_run: bool) -> Journal | None:
    """The journal to use; a dry run only reads one that already exists."""
    if path is None or (dry_run and not os.path.exists(path)):
        return None
    return Journal.open(path, create=not dry_run)


def _planned(steps: Iterator[Step], progress: Progress | None) -> list[MigrationItem]:
    items = []
    for step in steps:
        outcome = Outcome.PLANNED if step.writes or step.reconciled else _decided(step)
        item = step.item(outcome)
        items.append(item)
        if progress:
            progress(item)
    return items


def _decided(step: Step) -> Outcome:
    return Outcome.FAILED if step.error else Outcome.SKIPPED


class ListingFailed(Exception):
    """The source listing failed for good: the steps already planned are finished first."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


def _listed(source: SpaceStore, who: Identity) -> Iterator[Space]:
    count = 0
    try:
        for space in source.list():
            count += 1
            yield space
    except ProviderError as exc:
        raise ListingFailed(
            _restated(exc, f"listing the source ({who}) failed after {count} space(s): {exc.args[0]}")
        ) from None


def _apply(
    steps: Iterator[Step], writer: Writer, concurrency: int, progress: Progress | None
) -> list[MigrationItem]:
    """Run the steps on ``concurrency`` threads; the items come back in source order."""
    results: dict[int, MigrationItem] = {}
    pending: dict[Future[MigrationItem | None], int] = {}

    def collect(done: set[Future[MigrationItem | None]]) -> None:
        for future in done:
            number = pending.pop(future)
            item = future.result()  # a Stop propagates from here
            if item is not None:
                results[number] = item
                if progress:
                    progress(item)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="spacekit-migrate") as pool:
        try:
            for number, step in enumerate(steps):
                while len(pending) >= 2 * concurrency:
                    collect(wait(pending, return_when=FIRST_COMPLETED).done)
                pending[pool.submit(writer.apply, step)] = number
            while pending:
                collect(wait(pending, return_when=FIRST_COMPLETED).done)
        except ListingFailed as failed:
            while pending:  # what was planned is written, and journaled, before stopping
                collect(wait(pending, return_when=FIRST_COMPLETED).done)
            _stop(failed.error, "The spaces listed before it were migrated")
        except Stop as stop:
            writer.stopped.set()
            wait(pending)
            _stop(stop.error)
        except BaseException:
            writer.stopped.set()  # Ctrl-C: finish what is in flight, start nothing
            wait(pending)
            raise
    return [results[number] for number in sorted(results)]


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
