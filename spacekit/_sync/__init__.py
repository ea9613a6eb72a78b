"""Sync: keep a target equal to a source, or to a manifest file, safely.

``sync`` is exported as ``spacekit.sync``; ``_cli`` holds the ``spacekit sync``
command. The modules: ``_plan`` (matching, actions, the safety rule; no request),
``_run`` (listing, applying through the migration engine and its journal, the final
comparison) and ``_report``.
"""

from ._report import Change, SyncAction, SyncItem, SyncOutcome, SyncReport, TooManyChanges
from ._run import sync

__all__ = ["Change", "SyncAction", "SyncItem", "SyncOutcome", "SyncReport", "TooManyChanges", "sync"]
