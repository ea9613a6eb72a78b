"""Carrying out one planned step on the target, with the journal kept in step.

Every write is journaled ``sent`` before it leaves and ``done`` or ``failed`` once
answered. A create is believed to have failed only once the target is seen without
it: a create whose outcome is unknown (a dropped connection or a timeout,
``maybe_applied``; any 5xx, which a proxy may send after the provider committed; a
``ProtocolError``, an unreadable answer) is journaled ``unknown``, and any other
refusal the provider answered (a 409 or 400 sent after the commit, a read-back that
found nothing yet) is checked too: the target is searched for the intended name
(free when the step was planned, so a space found there is this write's, even as
the target rewrote it: see ``resembles``). Only if it is absent is an unknown write
sent again, or a refused one reported failed. If even the search fails, the row
stays unresolved and the next run looks again.

``Stop`` marks a failure that every remaining item would meet (the credentials are
refused, or the target rate-limits beyond what the store waits), so that the run
stops at once instead of failing a thousand items one by one.
"""

from __future__ import annotations

import threading
from typing import Final

import attrs

from .._errors import (
    AuthenticationError,
    PermissionDenied,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SpacekitError,
)
from .._model import Space
from .._store import SpaceStore
from ._journal import Journal, State
from ._plan import Known, Step, TargetIndex, resembles, stem
from ._report import Action, MigrationItem, Outcome

ATTEMPTS: Final = 3  # sends of one write whose outcome stays unknown
RECONCILED: Final = "the outcome was unknown ({error}); found on the target, not written again"
REFUSED: Final = "the target answered {error}, yet the space is there; not written again"


class Stop(Exception):
    """A failure that every remaining item would meet: the run stops."""

    def __init__(self, error: ProviderError) -> None:
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
        except Stop:
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
                    return self._done(step, found, reason=RECONCILED.format(error=exc))
                continue
            except (AuthenticationError, PermissionDenied) as exc:
                self._record(step, State.FAILED, error=str(exc))
                if isinstance(exc, PermissionDenied) and step.action is Action.UPDATE:
                    return step.item(Outcome.FAILED, error=str(exc))  # may concern this space only
                raise Stop(exc) from None
            except RateLimited as exc:
                self._record(step, State.FAILED, error=str(exc))  # refused before any work: not applied
                raise Stop(exc) from None
            except SpacekitError as exc:
                return self._refused(step, exc)
            return self._done(step, space)
        message = f"the outcome stayed unknown after {ATTEMPTS} attempts; the next run looks again first"
        return step.item(Outcome.FAILED, error=message)

    def _refused(self, step: Step, error: SpacekitError) -> MigrationItem:
        """A failure the target answered; a create is looked for first, in case it lied."""
        sent = getattr(error, "status", None) is not None  # None: refused here, before any request
        if sent and step.action is not Action.UPDATE:
            found = self._look_up(step, error)
            if isinstance(found, MigrationItem):
                return found  # left unresolved: the next run looks again
            if found is not None:
                return self._done(step, found, reason=REFUSED.format(error=error))
        self._record(step, State.FAILED, error=str(error))
        return step.item(Outcome.FAILED, error=str(error))

    def _done(self, step: Step, space: Space, *, reason: str | None = None) -> MigrationItem:
        self.index.claim(space.id)
        self.index.add(Known(space.id, space.name, space.description))
        self._record(step, State.DONE, target_id=space.id, target_name=space.name)
        outcome = Outcome.UPDATED if step.action is Action.UPDATE else Outcome.CREATED
        if reason is None and space.name != step.target_name:
            reason = f"the target stored the name as {space.name!r}"
        return step.item(outcome, target_id=space.id, target_name=space.name, reason=reason)

    def _send(self, step: Step) -> Space:
        if step.action is Action.UPDATE:
            assert step.target_id is not None
            if not step.changes:
                return self.target.get(step.target_id)
            return self.target.update(step.target_id, **step.changes)
        assert step.target_name is not None
        return self.target.create(step.target_name, step.description, **step.options)

    def _look_up(self, step: Step, error: SpacekitError) -> Space | MigrationItem | None:
        """The space a create of uncertain outcome made, if it is on the target.

        The name was free when the step was planned, so a space of that name (or of
        one like it: the target may strip or cut names) that the index does not know
        and that no other step of this run is creating is this write's.
        """
        assert step.target_name is not None
        wanted = step.target_name
        try:
            fresh = [s for s in self.target.list(query=stem(wanted)) if not self.index.has_id(s.id)]
        except SpacekitError as exc:
            message = (
                f"the outcome is uncertain ({error}) and looking it up failed ({exc}); "
                "the next run looks again before writing"
            )
            self._record(step, State.UNKNOWN, error=message)
            return step.item(Outcome.FAILED, error=message)
        exact = [space for space in fresh if space.name == wanted]
        alike = [s for s in fresh if resembles(wanted, s.name) and not self.index.reserved(s.name)]
        return next(iter(exact + alike), None)

    def _record(
        self,
        step: Step,
        state: State,
        *,
        target_id: str | None = None,
        target_name: str | None = None,
        error: str | None = None,
    ) -> None:
        if self.journal is not None:
            entry = step.entry(state, target_id=target_id, error=error)
            if target_name is not None:
                entry = attrs.evolve(entry, target_name=target_name)
            self.journal.record(entry)
