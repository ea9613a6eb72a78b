"""Migrations carry subspaces where source and target both have them
(spacekit._migrate._subspaces): each exactly once, resumed after a fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacekit_instabase._emulator import InstabaseEmulator
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit import Subspace
from spacekit._migrate import Problem

FAST = {"backoff": 0.01, "retries": 2, "deadline": 5.0}


def repos(emulator: InstabaseEmulator) -> dict[str, list[str]]:
    return {
        handle: [r["repo_name"] for r in space.get("repos", [])] for handle, space in emulator.spaces.items()
    }


def test_instabase_to_local_to_instabase_keeps_every_subspace_once(tmp_path: Path) -> None:
    source, target = InstabaseEmulator(), InstabaseEmulator()
    target.seed([])
    source.spaces["alice"]["repos"][0].update(description="Alice's notebooks", visibility="public")
    local_path = str(tmp_path / "copy.db")
    with source.connect(**FAST) as ib, spacekit.connect("local", path=local_path) as local:
        report = spacekit.migrate(ib, local, journal=str(tmp_path / "in.db"))
        assert report.ok, report
        copies = {space.name: space for space in local.list()}
        alice = copies["Alice's Space"]
        assert [s.name for s in alice.subspaces] == ["repo1", "repo2"]
        assert local.get_subspace(alice.id, "repo1") == Subspace(
            alice.id, "repo1", True, "Alice's notebooks", False
        )
        # ib_eng/repo2 cannot be read in full by the caller: carried as listed, private
        eng = copies["Engineering Organization"]
        assert local.get_subspace(eng.id, "repo2").private is True
    with spacekit.connect("local", path=local_path) as local, target.connect(**FAST) as ib2:
        report = spacekit.migrate(local, ib2, journal=str(tmp_path / "out.db"))
        assert report.ok, report
        assert all("subspaces" not in item.lost for item in report.items)
        assert sorted(repos(target).values()) == [["repo1", "repo2"], ["repo1", "repo2"]]
        handle = next(h for h, s in target.spaces.items() if s["full_name"] == "Alice's Space")
        assert ib2.get_subspace(handle, "repo1").private is False
        again = spacekit.migrate(local, ib2, journal=str(tmp_path / "out.db"))
        assert again.ok
        assert sorted(repos(target).values()) == [["repo1", "repo2"], ["repo1", "repo2"]]
        posts = [r for r in target.requests if r.method == "POST" and r.path.startswith("/api/v1/repos/")]
        assert len(posts) == 4


def test_a_subspace_whose_answer_was_lost_is_resumed_not_duplicated(tmp_path: Path) -> None:
    target = InstabaseEmulator()
    target.seed([])
    journal = str(tmp_path / "j.db")
    with spacekit.connect("local", path=str(tmp_path / "s.db")) as local, target.connect(**FAST) as ib:
        space = local.create("Data Team")
        for name in ("a1", "b2", "c3"):
            local.create_subspace(space.id, name)
        target.faults.drop(after_commit=True, method="POST", path=r"/api/v1/repos/.*/b2")
        first = spacekit.migrate(local, ib, journal=journal)
        assert not first.ok
        (item,) = first.items
        assert "b2" in (item.error or "")
        assert repos(target) == {"data_team": ["a1", "b2"]}  # b2 was made; its answer lost
        second = spacekit.migrate(local, ib, journal=journal)
        assert second.ok, second
    assert repos(target) == {"data_team": ["a1", "b2", "c3"]}


def test_subspaces_are_lost_where_the_target_has_none(tmp_path: Path) -> None:
    source, target = InstabaseEmulator(), NeuroIOEmulator()
    with source.connect(**FAST) as ib, target.connect(**FAST) as nio:
        plan = spacekit.migrate(ib, nio, dry_run=True)
    assert all("subspaces" in item.lost for item in plan.items)


def test_a_dry_run_creates_no_subspace(tmp_path: Path) -> None:
    source = InstabaseEmulator()
    with source.connect(**FAST) as ib, spacekit.connect("local", path=str(tmp_path / "s.db")) as local:
        plan = spacekit.migrate(ib, local, dry_run=True)
        assert all("subspaces" not in item.lost for item in plan.items)
        assert list(local.list()) == []
    assert [r.method for r in source.requests] == ["GET"] * len(source.requests)
    assert not any(r.path.startswith("/api/v1/repos/") for r in source.requests)


@pytest.mark.parametrize("on_conflict", ["skip"])
def test_a_skipped_conflict_is_left_alone(tmp_path: Path, on_conflict: str) -> None:
    source = InstabaseEmulator()
    with source.connect(**FAST) as ib, spacekit.connect("local", path=str(tmp_path / "s.db")) as local:
        mine = local.create("Alice's Space")
        report = spacekit.migrate(ib, local, on_conflict=on_conflict)
        assert local.get(mine.id).subspaces == ()
    assert report.ok


# -- names that differ only in case ----------------------------------------------------


def two_cases() -> InstabaseEmulator:
    """An Instabase source whose one space holds ``data`` and ``Data``."""
    source = InstabaseEmulator()
    source.seed(
        [
            {
                "account_type": "ORGANIZATION",
                "repo_owner": "lab",
                "is_admin": True,
                "full_name": "Lab",
                "repos": [
                    {"repo_owner": "lab", "repo_name": "data", "is_admin": True},
                    {"repo_owner": "lab", "repo_name": "Data", "is_admin": True},
                ],
            }
        ]
    )
    return source


def test_subspaces_differing_only_in_case_are_both_carried(tmp_path: Path) -> None:
    source, target = two_cases(), InstabaseEmulator()
    target.seed([])
    journal = str(tmp_path / "j.db")
    with source.connect(**FAST) as ib, target.connect(**FAST) as ib2:
        report = spacekit.migrate(ib, ib2, journal=journal)
        assert report.ok, report
        assert repos(target) == {"lab": ["data", "Data"]}
        assert spacekit.verify(ib, ib2).ok
        assert spacekit.verify(ib, ib2, journal=journal).ok


@pytest.mark.parametrize("into", ["local", "folding instabase"])
def test_a_target_that_cannot_hold_both_cases_fails_the_second(tmp_path: Path, into: str) -> None:
    source = two_cases()
    journal = str(tmp_path / "j.db")
    if into == "local":
        target: spacekit.SpaceStore = spacekit.connect("local", path=str(tmp_path / "t.db"))
    else:
        folding = InstabaseEmulator()
        folding.seed([])
        folding.fold_subspace_case = True
        target = folding.connect(**FAST)
    with source.connect(**FAST) as ib, target:
        report = spacekit.migrate(ib, target, journal=journal)
        assert not report.ok
        (item,) = report.failed
        assert "'Data'" in (item.error or "") and "'data'" in (item.error or ""), item.error
        (copy,) = target.list()
        assert [s.name for s in copy.subspaces] == ["data"]
        for check in (spacekit.verify(ib, target), spacekit.verify(ib, target, journal=journal)):
            assert not check.ok
            (problem,) = check.problems
            assert problem.problem is Problem.DIFFERS and "Data" in str(problem.differences)
        again = spacekit.migrate(ib, target, journal=journal)  # still not: said again, not dropped
        assert not again.ok and "'Data'" in (again.failed[0].error or "")


def test_verify_finds_a_subspace_left_out_by_an_interrupted_run(tmp_path: Path) -> None:
    target = InstabaseEmulator()
    target.seed([])
    journal = str(tmp_path / "j.db")
    with spacekit.connect("local", path=str(tmp_path / "s.db")) as local, target.connect(**FAST) as ib:
        space = local.create("Data Team")
        for name in ("a1", "b2"):
            local.create_subspace(space.id, name)
        target.faults.fail(503, 10, method="POST", path=r"/api/v1/repos/.*/b2")
        assert not spacekit.migrate(local, ib, journal=journal).ok
        for check in (spacekit.verify(local, ib), spacekit.verify(local, ib, journal=journal)):
            assert not check.ok, check.summary()
            (problem,) = check.problems
            assert problem.problem is Problem.DIFFERS
            assert problem.differences[0][0] == "subspaces" and "b2" in str(problem.differences)
            assert "subspaces" in check.fields
