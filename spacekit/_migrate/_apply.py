"""Carrying out one planned step on the target, with the journal kept in step.

Every write is journaled ``sent`` before it leaves and ``done`` or ``failed`` once
answered. A write whose outcome is unknown (a dropped connection, ``maybe_applied``;
but also any 5xx, which a proxy may send after the provider committed, and a
``ProtocolError``, an unreadable answer to a write that may have succeeded) is
journaled ``unknown`` and reconciled at once: the target is searched for the
intended name (free when the step was planned, so a space found there is this
write's), and only if it is absent is the write sent again. If even the search
fails, the row stays ``unknown`` and the next run reconciles it.

``Fatal`` marks a failure that will fail every item (the credentials are refused),
so that the run stops at once instead of failing a thousand items one by one.
"""

from __future__ import annotations

import threading
from typing import Final

from .._errors import AuthenticationError, PermissionDenied, ProtocolError, ProviderUnavailable, SpacekitError
from .._model import Space
from .._store import SpaceStore
from ._journal import Journal, State
from ._plan import Known, Step, TargetIndex
from ._report import Action, MigrationItem, Outcome

ATTEMPTS: Final = 3  # sends of one write whose outcome stays unknown
RECONCILED: Final = "the connection dropped after the write was sent; found on the target, not written again"


class Fatal(Exception):
    """A failure that every remaining item would meet: the run stops."""

    def __init__(self, error: AuthenticationError | PermissionDenied) -> None:
        super().__init__(str(error))
        self.error = error


class Writer:
    """Applies steps to one target; safe to call from many threads at once."""

    def __init__(self, target: SpaceStore, index: TargetIndex, journal: Journal | None) -> None:
        self.target = target
        self.index = index
        self.journal = journal
        self.stopped = threading.Event()

    def apply(self, step: Step) -> MigrationItem | None:
        """The item's outcome; None if the run stopped before this step was started."""
        if self.stopped.is_set():
            return None
        if step.reconciled:
            self._record(step, State.DONE)
            return step.item(Outcome.CREATED)
        if not step.writes:
            if step.record is not None:
                self._record(step, step.record)
            outcome = Outcome.FAILED if step.action is Action.FAIL else Outcome.SKIPPED
            return step.item(outcome)
        try:
            return self._write(step)
        except Fatal:
            self.stopped.set()
            raise

    def _write(self, step: Step) -> MigrationItem:
        for _ in range(ATTEMPTS):
            self._record(step, State.SENT)
            try:
                space = self._send(step)
            except (ProviderUnavailable, ProtocolError) as exc:
                # The write may have been applied: a dropped connection, a 5xx from a
                # proxy after the provider committed, a 2xx whose body was unreadable.
                self._record(step, State.UNKNOWN, error=str(exc))
                if step.action is Action.UPDATE:
                    continue  # sending the same changes again is harmless
                found = self._look_up(step, exc)
                if isinstance(found, MigrationItem):
                    return found
                if found is not None:
                    return self._done(step, found, reason=RECONCILED)
                continue
            except (AuthenticationError, PermissionDenied) as exc:
                self._record(step, State.FAILED, error=str(exc))
                if isinstance(exc, PermissionDenied) and step.action is Action.UPDATE:
                    return step.item(Outcome.FAILED, error=str(exc))  # may concern this space only
                raise Fatal(exc) from None
            except SpacekitError as exc:
                return self._failed(step, exc)
            return self._done(step, space)
        message = f"the outcome stayed unknown after {ATTEMPTS} attempts; the next run looks again first"
        return step.item(Outcome.FAILED, error=message)

    def _done(self, step: Step, space: Space, *, reason: str | None = None) -> MigrationItem:
        self.index.claim(space.id)
        self.index.add(Known(space.id, space.name, space.description))
        self._record(step, State.DONE, target_id=space.id)
        outcome = Outcome.UPDATED if step.action is Action.UPDATE else Outcome.CREATED
        return step.item(outcome, target_id=space.id, reason=reason)

    def _send(self, step: Step) -> Space:
        if step.action is Action.UPDATE:
            assert step.target_id is not None
            if not step.changes:
                return self.target.get(step.target_id)
            return self.target.update(step.target_id, **step.changes)
        assert step.target_name is not None
        return self.target.create(step.target_name, step.description, **step.options)

    def _look_up(self, step: Step, error: SpacekitError) -> Space | MigrationItem | None:
        """The space a create of unknown outcome made, if it is on the target.

        The name was free when the step was planned, so a space of that name the
        index does not know is this write's.
        """
        try:
            for space in self.target.list(query=step.target_name):
                if space.name == step.target_name and not self.index.has_id(space.id):
                    return space
        except SpacekitError as exc:
            message = (
                f"the outcome is unknown ({error}) and looking it up failed ({exc}); "
                "the next run looks again before writing"
            )
            return step.item(Outcome.FAILED, error=message)
        return None

    def _failed(self, step: Step, error: SpacekitError) -> MigrationItem:
        self._record(step, State.FAILED, error=str(error))
        return step.item(Outcome.FAILED, error=str(error))

    def _record(
        self, step: Step, state: State, *, target_id: str | None = None, error: str | None = None
    ) -> None:
        if self.journal is not None:
            self.journal.record(step.entry(state, target_id=target_id, error=error))
