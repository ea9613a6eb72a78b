"""The one record a migration keeps per source space, whose state advances.

A ``Record`` is born in the plan (``planned``, or decided at once: ``skipped``,
``excluded``, ``failed``), is journaled ``sent`` just before its write leaves, and
ends ``done`` or ``failed``, or ``unknown`` when the answer was lost (a later run
looks before writing again). The journal persists it as one row (``_journal``); the
report shows it as a ``MigrationItem`` (``_report``). The action says what the
write is, so that other engines (a sync) can carry updates, renames and deletes in
the same record.

Three fields make identity safe: ``preexisting`` holds the ids of the target spaces
that already bore the intended name (or the form the target stores it in) when the
write was first sent, so that none of them is ever taken for this write's result;
``sent_at`` is when that was (the local clock, UTC), so that a space the target
says was created before it is not taken either (``_evidence``); ``stored_name`` is
the name the target actually holds once the write is done.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from .._model import Subspace


class Action(enum.StrEnum):
    """What the plan does with one source space."""

    CREATE = "create"
    RENAME = "rename"  # create under a free name, the wanted one being taken
    UPDATE = "update"  # overwrite the target space of the same name
    SKIP = "skip"
    FAIL = "fail"  # a conflict under on_conflict="fail"
    DELETE = "delete"  # a sync's: delete the target space


class State(enum.StrEnum):
    """Where a record stands."""

    PLANNED = "planned"
    SENT = "sent"  # journaled just before the write left: its outcome is not known yet
    UNKNOWN = "unknown"  # the answer was lost (a dropped connection, a 5xx, an unreadable body)
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXCLUDED = "excluded"  # left out by the transform


class Outcome(enum.StrEnum):
    """What the report says happened: ``planned`` only in a dry run."""

    PLANNED = "planned"
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"
    VANISHED = "vanished"  # deleted from the source while the run went on


#: states whose write may or may not have reached the target
UNRESOLVED: Final = frozenset({State.SENT, State.UNKNOWN})
#: actions that create a target space
CREATES: Final = frozenset({Action.CREATE, Action.RENAME})
#: actions that write to the target
WRITES: Final = CREATES | {Action.UPDATE}
#: how a reason begins when a space was taken for a lost write's result on no evidence
#: (the target gives no owner to prove it is the caller's): for a person to check
ADOPTED: Final = "adopted after a lost answer"


@attrs.define(eq=False)
class Record:
    """One source space in a migration: the journal's row and the report's item."""

    source_id: str
    source_name: str
    source_description: str | None = None
    action: Action = Action.SKIP
    state: State = State.PLANNED
    #: the name the write asks for; the target may store another form (``stored_name``)
    target_name: str | None = None
    target_description: str | None = None
    target_id: str | None = None
    stored_name: str | None = None
    #: target ids bearing the intended name when the write was first sent (None: never sent)
    preexisting: tuple[str, ...] | None = None
    #: when the write was first sent (the local clock, aware UTC; None: never sent)
    sent_at: datetime | None = None
    lost: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    outcome: Outcome = Outcome.PLANNED
    #: what the write carries (not journaled): create options, or an update's changes
    options: Mapping[str, Any] = attrs.field(factory=dict)
    changes: Mapping[str, Any] = attrs.field(factory=dict)
    #: the source space's subspaces, created one by one where both stores have them
    #: (``_subspaces``; not journaled: read from the source at every run)
    subspaces: tuple[Subspace, ...] = ()
    #: False for a record this run only looked at (already migrated): nothing to journal
    journaled: bool = True

    @property
    def writes(self) -> bool:
        """Whether carrying out this record sends a write to the target."""
        return self.action in WRITES and self.state is State.PLANNED

    @property
    def unsettled(self) -> bool:
        """A write that may have landed: its answer was lost, or it was refused after
        being sent (a proxy's 5xx after the commit, a lying 409)."""
        sent = self.state in UNRESOLVED or (self.state is State.FAILED and self.preexisting is not None)
        return sent and self.action in WRITES

    @property
    def shown_name(self) -> str | None:
        """The target's name for it: as stored, once known, else as intended."""
        return self.stored_name or self.target_name

    def advance(self, state: State, *, error: str | None = None, reason: str | None = None) -> Record:
        self.state = state
        self.error = error
        if reason is not None:
            self.reason = reason
        return self
