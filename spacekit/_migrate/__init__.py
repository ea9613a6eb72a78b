"""Migrations between stores: plan, journal, apply with bounded concurrency, verify.

``migrate`` and ``verify`` are exported as ``spacekit.migrate`` and
``spacekit.verify``; ``_cli`` holds the ``spacekit migrate`` and ``spacekit verify``
commands. The modules: ``_plan`` (what will happen, decided before any write),
``_journal`` (the SQLite record that makes runs resumable), ``_apply`` (one write,
reconciled when its outcome is unknown), ``_run`` (the pipeline), ``_verify`` and
``_report``.
"""

from ._report import (
    Action,
    Identity,
    MigrationItem,
    MigrationReport,
    Outcome,
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
    "VerifyItem",
    "VerifyReport",
    "migrate",
    "verify",
]
