"""Sync: keep a target equal to a source, or to a manifest file, safely.

``sync`` is exported as ``spacekit.sync``; ``_cli`` holds the ``spacekit sync``
command. The modules: ``_plan`` (matching, actions, the safety rule; no request),
``_run`` (listing, applying through the migration engine and its journal, the final
comparison), ``_report`` and ``_saved`` (plans saved to a file and applied exactly).
"""

from ._report import Change, SyncAction, SyncItem, SyncOutcome, SyncReport, TooManyChanges
from ._run import sync
from ._saved import StalePlan

__all__ = [
    "Change",
    "StalePlan",
    "SyncAction",
    "SyncItem",
    "SyncOutcome",
    "SyncReport",
    "TooManyChanges",
    "sync",
]
