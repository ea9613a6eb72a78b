"""Migrations between stores: plan, journal, apply with bounded concurrency, verify.

``migrate`` and ``verify`` are exported as ``spacekit.migrate`` and
``spacekit.verify``; ``_cli`` holds the ``spacekit migrate`` and ``spacekit verify``
commands. The modules: ``_record`` (the one record per source space, whose state
advances), ``_plan`` (what will happen, decided before any write), ``_journal``
(the SQLite file persisting the records, which makes runs resumable), ``_apply``
(one write, reconciled when its outcome is unknown), ``_lock`` (one run into a
target at a time), ``_run`` (the pipeline), ``_verify`` and ``_report``.
"""

from ._record import Action, Outcome, Record, State
from ._report import (
    Identity,
    MigrationItem,
    MigrationReport,
    Problem,
    VerifyItem,
    VerifyReport,
)
from ._run import migrate
from ._verify import verify

__all__ = [
    "Action",
    "Identity",
    "MigrationItem",
    "MigrationReport",
    "Outcome",
    "Problem",
    "Record",
    "State",
    "VerifyItem",
    "VerifyReport",
    "migrate",
    "verify",
]
