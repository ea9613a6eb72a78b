"""Group commit: writes from several threads share one transaction, each still
returning only once its own write has committed.

``GroupCommit.submit`` queues a write. With no batch running, the calling thread
leads at once and runs the queue (most often its own write alone): a lone write
costs what it always did, with no other thread involved. Otherwise it waits until
a leader has run its write, or until the running batch ends and it is the first
waiter to lead. The owner's ``run`` executes a batch in one transaction, setting
each write's result or error, and may take the writes queued meanwhile
(``more``) before it commits, so that one commit serves every writer that arrived
while the last one was being made.

No write is reported done before ``run`` returns: an owner sets a result only for
a write its transaction committed. A leader interrupted (Ctrl-C) leaves every
write of its batch failed with the owner's ``interrupted`` error; a write
interrupted while it waits is taken out of the queue, so it is never made later
without its caller knowing. Used by the embedded store (``_sqlite``) and by the
migration journal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Write:
    """One write: its work, then what came of it."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Any) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False  # set, under the queue's condition, once result or error is final


class GroupCommit:
    """The queue of one database's writes; ``run`` executes a batch of them."""

    def __init__(self, run: Callable[[list[Write]], None], interrupted: Callable[[], BaseException]) -> None:
        self._run = run
        self._interrupted = interrupted
        self._turn = threading.Condition()  # guards the two below; notified when a batch ends
        self._queue: list[Write] = []  # writes not yet taken by a leader
        self._leading = False  # whether a thread is running a batch

    def submit(self, work: Any) -> Any:
        """What ``run`` made of ``work``: its result once committed, or its error raised."""
        entry = Write(work)
        with self._turn:
            self._queue.append(entry)
            try:
                while self._leading and not entry.done:
                    self._turn.wait()
            except BaseException:  # interrupted while waiting: not written later unseen
                if entry in self._queue:
                    self._queue.remove(entry)
                raise
            if not entry.done:
                self._leading = True
                batch, self._queue = self._queue, []
        if not entry.done:
            self._lead(batch)
        if entry.error is not None:
            raise entry.error
        return entry.result

    def more(self, batch: list[Write]) -> list[Write]:
        """The writes queued since ``batch`` was taken, now added to it (for ``run``:
        a thread has at most one write queued, so taking more until none comes ends)."""
        with self._turn:
            taken, self._queue = self._queue, []
        batch += taken
        return taken

    def _lead(self, batch: list[Write]) -> None:
        """Run ``batch``, then mark its writes done and let the next leader go."""
        finished = False
        try:
            self._run(batch)
            finished = True
        finally:
            with self._turn:
                for entry in batch:
                    if not finished:  # interrupted: nothing is known committed
                        entry.error = entry.error or self._interrupted()
                    entry.done = True
                self._leading = False
                self._turn.notify_all()
