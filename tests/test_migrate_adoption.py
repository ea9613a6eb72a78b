"""Adoption needs evidence: after a lost create answer, a space bearing the name is
taken for the write's result only if nothing shows it is someone else's.

The attack: someone else creates a space with our name after the run listed the
target, while our own create's answer is lost before it committed. Where the
provider gives an owner or a creation time (Datablist's ``user_id`` and
``createdAt``) that space is never adopted: the item stays unknown, not ok, not sent
again in that run, naming the candidate. Where the provider gives neither
(NeuroIO), the promise is only that spaces present in the run's listing are
excluded, and the report marks such an item "adopted after a lost answer".
"""

from __future__ import annotations

import collections
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from migrate_helpers import FAST, emulator, fast_store, mutating, plant
from spacekit_datablist._emulator import USER_ID

import spacekit
from spacekit._migrate import Outcome, Problem, migrate
from spacekit._migrate._journal import Journal
from spacekit._migrate._record import ADOPTED, UNRESOLVED
from spacekit._sync._report import SyncOutcome
from spacekit.testing import Emulator

SOMEONE_ELSE = "auth0|0123456789abcdef01234567"


class LoseTheLook:
    """Once a create is sent, the look at the target that follows fails (503 on every
    attempt): the write stays unresolved for the next run. ``path``: where the
    provider creates and lists its spaces (Datablist's ``/``)."""

    def __init__(self, emu: Emulator, path: str = "/") -> None:
        self.emu, self.dispatch, self.path = emu, emu.dispatch, path
        emu.dispatch = self  # type: ignore[method-assign]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.dispatch(request)
        finally:
            if request.method == "POST" and request.url.path == self.path:
                self.emu.faults.fail(503, 1 + FAST["retries"], method="GET", path=f"^{self.path}$")


def ids(store: spacekit.SpaceStore, name: str) -> list[str]:
    return [space.id for space in store.list() if space.name == name]


@pytest.fixture
def source() -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    for name in ("alpha", "beta"):
        store.create(name)
    return store


def stamp(moment: datetime) -> str:
    """A workspace timestamp as Datablist writes it: no offset (UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


@pytest.mark.parametrize(
    "why, fields",
    [
        ("owned by another user", {"user_id": SOMEONE_ELSE}),
        ("created before", {"createdAt": stamp(datetime.now(UTC) - timedelta(hours=2))}),
    ],
)
def test_a_space_someone_else_made_meanwhile_is_never_adopted(
    source, tmp_path: Path, why: str, fields: dict[str, Any]
):
    datablist = emulator("datablist")
    interloper = plant(datablist, "alpha", **fields)
    journal = tmp_path / "j.db"
    report = migrate(source, fast_store(datablist), journal=journal, concurrency=1)
    assert not report.ok
    (item,) = report.failed
    assert item.source_name == "alpha" and item.target_id is None
    assert interloper.made is not None and interloper.made in (item.error or "")
    assert why in (item.error or ""), item.error
    assert interloper.sent == 1  # not sent again
    with Journal.open(journal, create=False) as book:
        assert [r.source_name for r in book.records() if r.state in UNRESOLVED] == ["alpha"]
    check = spacekit.verify(source, fast_store(datablist), journal=journal)
    assert not check.ok and {p.source_name for p in check.problems} == {"alpha"}


def test_the_next_run_does_not_adopt_nor_make_the_name_twice(source, tmp_path: Path):
    """Ours is not there, and someone else's space holds the name: the next run plans
    the space as a new create would (the conflict rule, skip by default), instead of
    sending the write again beside it."""
    datablist = emulator("datablist")
    interloper = plant(datablist, "alpha", user_id=SOMEONE_ELSE)
    journal = tmp_path / "j.db"
    assert not migrate(source, fast_store(datablist), journal=journal, concurrency=1).ok
    again = migrate(source, fast_store(datablist), journal=journal, concurrency=1)
    assert again.ok, [i.error for i in again.failed]
    (alpha,) = [i for i in again.items if i.source_name == "alpha"]
    assert alpha.outcome is Outcome.SKIPPED and not alpha.adopted
    assert "already exists" in (alpha.reason or "") and "owned by another user" in (alpha.reason or "")
    assert ids(fast_store(datablist), "alpha") == [interloper.made]  # not made twice


@pytest.mark.parametrize("on_conflict", ["fail", "rename"])
def test_the_next_run_follows_the_conflict_rule_where_the_name_is_taken(
    source, tmp_path: Path, on_conflict: str
):
    datablist = emulator("datablist")
    interloper = plant(datablist, "alpha", user_id=SOMEONE_ELSE)
    journal = tmp_path / "j.db"
    assert not migrate(source, fast_store(datablist), journal=journal, concurrency=1, select=["alpha"]).ok
    again = migrate(source, fast_store(datablist), journal=journal, select=["alpha"], on_conflict=on_conflict)
    (alpha,) = again.items
    assert "owned by another user" in (alpha.reason or "") and "written again" not in (alpha.reason or "")
    assert ids(fast_store(datablist), "alpha") == [interloper.made]  # never a second 'alpha'
    if on_conflict == "fail":
        assert not again.ok and "already exists" in (alpha.error or "")
    else:
        assert again.ok and alpha.target_name != "alpha"
        assert fast_store(datablist).get(alpha.target_id).owner == USER_ID


@pytest.mark.parametrize("skew", [0, -300, 300])
def test_our_own_lost_create_is_adopted_whatever_a_small_clock_skew(source, skew: float):
    """The create committed, its answer was lost: the space is ours (our user, created
    after the write was sent, give or take a target clock minutes off)."""
    datablist = emulator("datablist")
    datablist.clock.advance(skew)
    datablist.faults.drop(after_commit=True, method="POST", path=r"^/$")
    report = migrate(source, fast_store(datablist), concurrency=1)
    assert report.ok, [i.error for i in report.failed]
    assert all(not i.reason or ADOPTED not in i.reason for i in report.items)
    assert collections.Counter(s.name for s in fast_store(datablist).list()) == {"alpha": 1, "beta": 1}


def test_our_own_lost_create_is_adopted_by_the_next_run(source, tmp_path: Path):
    """The answer is lost and so is the look that follows: the next run finds the
    space, made by us after the journaled send time, and adopts it."""
    datablist = emulator("datablist")
    datablist.faults.drop(after_commit=True, method="POST", path=r"^/$")
    LoseTheLook(datablist)
    store = fast_store(datablist)
    journal = tmp_path / "j.db"
    first = migrate(source, store, journal=journal, concurrency=1, select=["alpha"])
    assert not first.ok
    datablist.faults.clear()
    datablist.clock.advance(3600)  # the next run, an hour later
    again = migrate(source, fast_store(datablist), journal=journal, select=["alpha"])
    assert again.ok, [i.error for i in again.failed]
    assert ids(fast_store(datablist), "alpha") == [again.items[0].target_id]


def test_the_next_run_does_not_adopt_a_space_made_before_the_first_send(source, tmp_path: Path):
    """A run is interrupted with the create's outcome unknown; a space of that name
    created before that send (not seen by the first run) is not the write's result."""
    datablist = emulator("datablist")
    datablist.faults.drop(method="POST", path=r"^/$")  # lost before the commit
    LoseTheLook(datablist)
    journal = tmp_path / "j.db"
    store = fast_store(datablist)
    first = migrate(source, store, journal=journal, concurrency=1, select=["alpha"])
    assert not first.ok
    datablist.faults.clear()
    old = datablist.add_workspace("alpha", createdAt=stamp(datetime.now(UTC) - timedelta(days=1)))  # type: ignore[attr-defined]
    again = migrate(source, fast_store(datablist), journal=journal, select=["alpha"])
    (alpha,) = again.items
    assert not alpha.adopted and alpha.outcome is Outcome.SKIPPED  # the name is taken: not made twice
    assert "created before the write was sent" in (alpha.reason or ""), alpha.reason
    assert ids(fast_store(datablist), "alpha") == [old["@id"]]


def test_without_evidence_an_adoption_is_marked_for_a_person_to_see(source, tmp_path: Path):
    """NeuroIO gives no owner and no creation time: a space made by someone else in
    the window is adopted, as the docs say, and the report marks it."""
    neuroio = emulator("neuroio")
    interloper = plant(neuroio, "alpha")
    report = migrate(source, fast_store(neuroio), concurrency=1)
    (alpha,) = [i for i in report.items if i.source_name == "alpha"]
    assert alpha.target_id == interloper.made
    assert alpha.adopted and ADOPTED in (alpha.reason or "")
    assert alpha.to_dict()["adopted"] is True and report.to_dict()["items"][1]["adopted"] is False
    assert ADOPTED in report.summary()
    (beta,) = [i for i in report.items if i.source_name == "beta"]
    assert not beta.adopted


@pytest.mark.parametrize(
    "problem, fields",
    [
        (Problem.FOREIGN, {"user_id": SOMEONE_ELSE}),
        (Problem.PREEXISTING, {"createdAt": stamp(datetime.now(UTC) - timedelta(days=2))}),
    ],
)
def test_verify_does_not_trust_a_journaled_adoption_the_evidence_refutes(
    source, tmp_path: Path, problem: Problem, fields: dict[str, Any]
):
    """A journal says alpha's copy is a workspace that another user owns, or that was
    created before the write was sent (an adoption made by an older version): verify
    says it is not this migration's copy."""
    datablist = emulator("datablist")
    journal = tmp_path / "j.db"
    assert migrate(source, fast_store(datablist), journal=journal).ok
    (ours,) = ids(fast_store(datablist), "alpha")
    theirs = datablist.add_workspace("alpha", **fields)["@id"]  # type: ignore[attr-defined]
    del datablist.workspaces[ours]  # type: ignore[attr-defined]
    with Journal.open(journal, create=False) as book:
        (record,) = [r for r in book.records() if r.source_name == "alpha"]
        record.target_id = theirs
        book.record(record)
    check = spacekit.verify(source, fast_store(datablist), journal=journal)
    assert [(p.source_name, p.problem, p.target_id) for p in check.problems] == [("alpha", problem, theirs)]
    assert "not this migration's copy" in (check.problems[0].detail or "")


def test_a_sync_does_not_adopt_a_space_someone_else_made_meanwhile(source):
    """``sync --apply`` writes through the same engine: the same attack, the same answer."""
    datablist = emulator("datablist")
    interloper = plant(datablist, "alpha", user_id=SOMEONE_ELSE)
    report = spacekit.sync(source, fast_store(datablist), apply=True, concurrency=1)
    assert not report.ok
    (alpha,) = [i for i in report.items if i.source_name == "alpha"]
    assert alpha.target_id != interloper.made and interloper.made in (alpha.error or "")
    assert interloper.sent == 1


def unresolved(journal: Path) -> list[str]:
    with Journal.open(journal, create=False) as book:
        return [r.source_name for r in book.records() if r.state in UNRESOLVED]


@pytest.mark.parametrize("delete", [False, True])
@pytest.mark.parametrize(
    "why, fields",
    [
        ("owned by another user", {"user_id": SOMEONE_ELSE}),
        ("created before", {"createdAt": stamp(datetime.now(UTC) - timedelta(hours=2))}),
    ],
)
def test_the_next_sync_does_not_take_a_refused_candidate_for_the_counterpart(
    source, tmp_path: Path, why: str, fields: dict[str, Any], delete: bool
):
    """The first sync refused the candidate and left alpha's create unresolved; the
    next one plans alpha by name: the same evidence holds, the space someone else made
    is not alpha's counterpart (not kept as it, not updated, not deleted), the item
    stays unknown naming it, and nothing is written for it."""
    datablist = emulator("datablist")
    interloper = plant(datablist, "alpha", **fields)
    journal = tmp_path / "j.db"
    assert not spacekit.sync(source, fast_store(datablist), apply=True, journal=journal, concurrency=1).ok
    assert unresolved(journal) == ["alpha"]
    before = len(mutating(datablist))
    again = spacekit.sync(
        source, fast_store(datablist), apply=True, delete=delete, journal=journal, concurrency=1
    )
    assert not again.ok
    (alpha,) = [i for i in again.items if i.source_name == "alpha"]
    assert alpha.outcome is SyncOutcome.FAILED and alpha.target_id is None
    assert interloper.made is not None and interloper.made in (alpha.error or "")
    assert why in (alpha.error or ""), alpha.error
    assert mutating(datablist)[before:] == []  # nothing written, nothing deleted
    assert ids(fast_store(datablist), "alpha") == [interloper.made]
    assert unresolved(journal) == ["alpha"]  # still unknown: not recorded as alpha's counterpart
    (kept,) = [i for i in again.items if i.target_id == interloper.made]
    assert kept.source_id is None and kept.outcome is SyncOutcome.KEPT
    assert "failed" in again.summary()


def test_the_next_sync_takes_our_own_lost_create_for_the_counterpart(source, tmp_path: Path):
    """Our create committed, its answer and the look that followed were lost: the next
    sync pairs alpha with it (ours by its owner), unmarked, and writes nothing again."""
    datablist = emulator("datablist")
    datablist.faults.drop(after_commit=True, method="POST", path=r"^/$")
    LoseTheLook(datablist)
    journal = tmp_path / "j.db"
    first = spacekit.sync(source, fast_store(datablist), apply=True, journal=journal, select=["alpha"])
    assert not first.ok and unresolved(journal) == ["alpha"]
    datablist.faults.clear()
    datablist.clock.advance(3600)
    again = spacekit.sync(source, fast_store(datablist), apply=True, journal=journal, select=["alpha"])
    assert again.ok, [i.error for i in again.failed]
    (alpha,) = [i for i in again.items if i.source_name == "alpha"]
    assert alpha.target_id in ids(fast_store(datablist), "alpha") and not alpha.adopted
    assert collections.Counter(s.name for s in fast_store(datablist).list()) == {"alpha": 1}
    assert unresolved(journal) == []


def test_the_next_sync_marks_an_adoption_without_evidence(source, tmp_path: Path, monkeypatch):
    """NeuroIO gives no owner and no creation time: the next sync pairs alpha with the
    space found after its lost create, as the docs promise, and marks it, in the
    summary, the CLI's lines and --json."""
    neuroio = emulator("neuroio")
    neuroio.faults.drop(after_commit=True, method="POST", path=r"^/v1/spaces/$")
    LoseTheLook(neuroio, "/v1/spaces/")
    journal = tmp_path / "j.db"
    first = spacekit.sync(source, fast_store(neuroio), apply=True, journal=journal, select=["alpha"])
    assert not first.ok and unresolved(journal) == ["alpha"]
    neuroio.faults.clear()
    plan = spacekit.sync(source, fast_store(neuroio), journal=journal, select=["alpha"])
    assert [i.adopted for i in plan.items] == [True] and f"1 {ADOPTED}" in plan.summary()
    again = spacekit.sync(source, fast_store(neuroio), apply=True, journal=journal, select=["alpha"])
    assert again.ok, [i.error for i in again.failed]
    (alpha,) = [i for i in again.items if i.source_name == "alpha"]
    assert alpha.adopted and ADOPTED in (alpha.reason or "")
    assert alpha.to_dict()["adopted"] is True
    assert f"1 {ADOPTED}" in again.summary()
    assert unresolved(journal) == []

    from click.testing import CliRunner

    from spacekit._cli import main

    monkeypatch.setattr("spacekit._sync._cli.run_sync", lambda *args, **kwargs: again)
    shown = CliRunner().invoke(main, ["sync", "a", "b", "--apply"])
    assert shown.exit_code == 0, shown.output
    (line,) = [line for line in shown.stdout.splitlines()[1:] if ADOPTED in line]
    assert "alpha" in line and str(alpha.target_id) in line
    as_json = CliRunner().invoke(main, ["sync", "a", "b", "--apply", "--json"])
    (item,) = [i for i in json.loads(as_json.stdout)["items"] if i["source"]["name"] == "alpha"]
    assert item["adopted"] is True


def test_a_sync_marks_an_adoption_without_evidence_within_the_run(source):
    """The lost answer's look in the same run adopts on no evidence (NeuroIO): marked."""
    neuroio = emulator("neuroio")
    interloper = plant(neuroio, "alpha")
    report = spacekit.sync(source, fast_store(neuroio), apply=True, concurrency=1)
    (alpha,) = [i for i in report.items if i.source_name == "alpha"]
    assert alpha.target_id == interloper.made and alpha.adopted
    assert f"1 {ADOPTED}" in report.summary()
