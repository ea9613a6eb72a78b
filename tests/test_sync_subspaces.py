"""Sync carries subspaces as migrate does (spacekit._migrate._subspaces), by exact name,
for created and for existing pairs; a missing subspace is drift."""

from __future__ import annotations

from pathlib import Path

from spacekit_instabase._emulator import InstabaseEmulator
from test_migrate_subspaces import FAST, repos, two_cases

import spacekit
from spacekit._sync import SyncAction, sync


def test_instabase_to_instabase_carries_subspaces_for_new_and_existing_spaces(tmp_path: Path) -> None:
    source, target = InstabaseEmulator(), InstabaseEmulator()
    target.seed([])
    journal = str(tmp_path / "j.db")
    with source.connect(**FAST) as ib, target.connect(**FAST) as ib2:
        plan = sync(ib, ib2)
        assert all("subspaces" not in item.lost for item in plan.items), plan.items
        assert "subspaces" not in plan.lost()
        report = sync(ib, ib2, apply=True, journal=journal)
        assert report.ok, (report.items, report.mismatches)
        assert sorted(repos(target).values()) == [["repo1", "repo2"], ["repo1", "repo2"]]
        assert sync(ib, ib2).in_sync
        # an existing pair whose counterpart lacks a subspace: drift, then added
        handle = next(h for h, s in target.spaces.items() if s["full_name"] == "Alice's Space")
        target.spaces[handle]["repos"] = [
            r for r in target.spaces[handle]["repos"] if r["repo_name"] != "repo2"
        ]
        check = sync(ib, ib2)
        assert not check.in_sync
        (drift,) = [i for i in check.items if i.action is SyncAction.UPDATE]
        assert [c.field for c in drift.changes] == ["subspaces"] and drift.error is None
        again = sync(ib, ib2, apply=True, journal=journal)
        assert again.ok, (again.items, again.mismatches)
        assert repos(target)[handle] == ["repo1", "repo2"]
        assert sync(ib, ib2).in_sync


def test_a_local_target_that_cannot_hold_data_and_Data_fails_the_second(tmp_path: Path) -> None:
    source = two_cases()
    journal = str(tmp_path / "j.db")
    with source.connect(**FAST) as ib, spacekit.connect("local", path=str(tmp_path / "t.db")) as local:
        report = sync(ib, local, apply=True, journal=journal)
        assert not report.ok
        (item,) = report.failed
        assert "'Data'" in (item.error or "") and "'data'" in (item.error or ""), item.error
        (copy,) = local.list()
        assert [s.name for s in copy.subspaces] == ["data"]
        assert report.mismatches and "Data" in report.mismatches[0]
        assert not sync(ib, local).in_sync  # --check: a missing subspace is drift
        again = sync(ib, local, apply=True, journal=journal)  # said again, never dropped
        assert not again.ok and "'Data'" in (again.failed[0].error or "")
