"""Carrying out one planned record on the target, with the journal kept in step.

Every write is journaled ``sent`` before it leaves and ``done`` or ``failed`` once
answered. Before a create is first sent, the ids of the target spaces already
bearing its name are written into the record (``preexisting``): none of them can
ever be taken for its result. A create is believed to have failed only once the
target is seen without it: a create whose outcome is unknown (a dropped connection
or a timeout; any 5xx, which a proxy may send after the provider committed; a
``ProtocolError``, an unreadable answer) is journaled ``unknown``, and any other
refusal the provider answered (a 409 or 400 sent after the commit) is checked too.
The target is looked at afresh and a space is taken for the write's result only by
the rule of ``TargetIndex.candidates`` (exactly the intended name or its declared
stored form, absent when the run listed the target and when the write was first
sent, claimed by nobody) and on the evidence the provider gives (``_evidence``: an
owner other than the caller, or a creation time before the write was sent, rules a
space out; an adoption no owner proves is marked "adopted after a lost answer").
Only if no candidate is there is an unknown write sent again, or a refused one
reported failed. A candidate the evidence rules out leaves the write unknown (not
ok, not sent again in this run, the candidate named); the next run looks again
(``Planner._resume``), and where a space not ours holds the name plans it as a new
create would, by the conflict rule, so that no name is made twice. If
even the look fails, the record stays unresolved and the next run looks again.

Writes that could produce the same name are never in flight together (``InFlight``),
so a look-up can never mistake a sibling write's result for its own.

``Stop`` marks a failure that every remaining item would meet (the credentials are
refused, or the target rate-limits beyond what the store waits), so that the run
stops at once instead of failing a thousand items one by one.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

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
from ._evidence import Adoption, judge
from ._journal import Journal
from ._plan import TargetIndex
from ._record import Action, Outcome, Record, State
from ._subspaces import Carrier

ATTEMPTS: Final = 3  # sends of one write whose outcome stays unknown
RECONCILED: Final = "the outcome was unknown ({error}); found on the target, not written again"
REFUSED: Final = "the target answered {error}, yet the space is there; not written again"
#: why a fresh look's candidate may be the write's result at all
_UNSEEN: Final = "was not on the target when the run listed it"


class Stop(Exception):
    """A failure that every remaining item would meet: the run stops."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


class _Unresolved(Exception):
    """Looking for a write of uncertain outcome failed: the record stays unresolved."""


class InFlight:
    """Names with a create in flight: a second create of one waits for the first."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self, names: tuple[str, ...]) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._names.isdisjoint(names))
            self._names.update(names)
        try:
            yield
        finally:
            with self._changed:
                self._names.difference_update(names)
                self._changed.notify_all()


class Writer:
    """Applies records to one target; safe to call from many threads at once."""

    def __init__(
        self,
        target: SpaceStore,
        index: TargetIndex,
        journal: Journal | None,
        carrier: Carrier | None = None,
    ) -> None:
        self.target = target
        self.index = index
        self.journal = journal
        self.carrier = carrier
        self.stopped = threading.Event()
        self._in_flight = InFlight()

    def apply(self, record: Record) -> Record | None:
        """The record, advanced; None if the run stopped before it was started."""
        if self.stopped.is_set():
            return None
        if not record.writes:
            self._save(record)
            return self._carry(record)
        try:
            if record.action is Action.UPDATE:
                return self._carry(self._write(record))
            with self._in_flight.hold(self.index.names(record.target_name or "")):
                if record.preexisting is None:  # first sent now: what bears the name already
                    record.preexisting = self.index.holding(record.target_name or "")
                    record.sent_at = datetime.now(UTC)
                written = self._write(record)
            return self._carry(written)
        except Stop:
            self.stopped.set()
            raise

    def _carry(self, record: Record) -> Record:
        """The space's subspaces, once it is on the target (see ``_subspaces``)."""
        if self.carrier is None or self.stopped.is_set():
            return record
        return self.carrier.carry(record)

    def _write(self, record: Record) -> Record:
        for _ in range(ATTEMPTS):
            self._save(record.advance(State.SENT))
            try:
                space = self._send(record)
            except (ProviderUnavailable, ProtocolError) as exc:
                # The write may have been applied: a dropped connection, a 5xx from a
                # proxy after the provider committed, a 2xx whose body was unreadable.
                self._save(record.advance(State.UNKNOWN, error=str(exc)))
                if record.action is Action.UPDATE:
                    continue  # sending the same changes again is harmless
                try:
                    adoption = self._look_up(record, exc)
                except _Unresolved:
                    return record
                if adoption.space is not None:
                    reason = adoption.reason(RECONCILED.format(error=exc), _UNSEEN)
                    return self._done(record, adoption.space, reason=reason)
                if adoption.refused:
                    return self._unadopted(record, adoption, exc)
                continue
            except (AuthenticationError, PermissionDenied) as exc:
                self._save(record.advance(State.FAILED, error=str(exc)))
                record.outcome = Outcome.FAILED
                if isinstance(exc, PermissionDenied) and record.action is Action.UPDATE:
                    return record  # may concern this space only
                raise Stop(exc) from None
            except RateLimited as exc:
                # refused before any work: not applied
                self._save(record.advance(State.FAILED, error=str(exc)))
                record.outcome = Outcome.FAILED
                raise Stop(exc) from None
            except SpacekitError as exc:
                return self._refused(record, exc)
            return self._done(record, space)
        record.outcome = Outcome.FAILED
        record.error = f"the outcome stayed unknown after {ATTEMPTS} attempts; the next run looks again first"
        return record

    def _refused(self, record: Record, error: SpacekitError) -> Record:
        """A failure the target answered; a create is looked for first, in case it lied."""
        sent = getattr(error, "status", None) is not None  # None: refused here, before any request
        message = str(error)
        if sent and record.action is not Action.UPDATE:
            try:
                adoption = self._look_up(record, error)
            except _Unresolved:
                return record  # left unresolved: the next run looks again
            if adoption.space is not None:
                reason = adoption.reason(REFUSED.format(error=error), _UNSEEN)
                return self._done(record, adoption.space, reason=reason)
            if adoption.refused:
                message = f"{message}; not this write's result: {adoption.refusals()}"
        self._save(record.advance(State.FAILED, error=message))
        record.outcome = Outcome.FAILED
        return record

    def _unadopted(self, record: Record, adoption: Adoption, error: SpacekitError) -> Record:
        """Candidates there, none of them this write's result: its outcome stays unknown."""
        message = (
            f"the outcome is unknown ({error}); not this write's result: {adoption.refusals()}; "
            "not sent again in this run, the next run looks again"
        )
        self._save(record.advance(State.UNKNOWN, error=message))
        record.outcome = Outcome.FAILED
        return record

    def _done(self, record: Record, space: Space, *, reason: str | None = None) -> Record:
        self.index.claim(space.id)
        record.target_id, record.stored_name = space.id, space.name
        if reason is None and space.name != record.target_name:
            reason = f"the target stored the name as {space.name!r}"
        self._save(record.advance(State.DONE, reason=reason))
        record.outcome = Outcome.UPDATED if record.action is Action.UPDATE else Outcome.CREATED
        return record

    def _send(self, record: Record) -> Space:
        if record.action is Action.UPDATE:
            assert record.target_id is not None
            if not record.changes:
                return self.target.get(record.target_id)
            return self.target.update(record.target_id, **record.changes)
        assert record.target_name is not None
        return self.target.create(record.target_name, record.target_description, **record.options)

    def _look_up(self, record: Record, error: SpacekitError) -> Adoption:
        """The judgement on what a create of uncertain outcome may have made, from a
        fresh look at the target (``TargetIndex.candidates``, ``_evidence.judge``);
        ``_Unresolved`` if looking failed (the record is then left unresolved, failed
        for this run)."""
        assert record.target_name is not None
        names = self.index.names(record.target_name)
        query = min(names, key=len) if all(min(names, key=len) in n for n in names) else None
        try:
            listed = {s.id: s for s in self.target.list(query=query) if s.name in names}
        except SpacekitError as exc:
            message = (
                f"the outcome is uncertain ({error}) and looking it up failed ({exc}); "
                "the next run looks again before writing"
            )
            self._save(record.advance(State.UNKNOWN, error=message))
            record.outcome = Outcome.FAILED
            raise _Unresolved from None
        found = self.index.candidates(
            record.target_name, record.preexisting or (), ((i, s.name) for i, s in listed.items())
        )
        return judge((listed[i] for i in found), record.sent_at, self.target.caller())

    def _save(self, record: Record) -> None:
        if self.journal is not None and record.journaled:
            self.journal.record(record)
