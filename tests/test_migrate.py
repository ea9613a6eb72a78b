"""spacekit._migrate: plan, apply, conflicts, reconciliation, failures, verify."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import attrs
import pytest
from migrate_helpers import emulator, fast_store, mutating

import spacekit
from spacekit import Capability, Principal, Space, SpaceKind
from spacekit._migrate import Action, Outcome, Problem, migrate, verify


@pytest.fixture
def source() -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    store.create("alpha", "first")
    store.create("beta", None, kind="organization", admins=[Principal("user", "ann")])
    store.create("gamma", "third")
    return store


@pytest.fixture
def target() -> spacekit.SpaceStore:
    return spacekit.connect("memory")


def names(store: spacekit.SpaceStore) -> list[str]:
    return sorted(space.name for space in store.list())


def test_copies_every_space_and_every_field_the_target_keeps(source, target):
    report = migrate(source, target)
    assert report.ok and report.counts["created"] == 3
    assert names(target) == ["alpha", "beta", "gamma"]
    beta = next(s for s in target.list() if s.name == "beta")
    assert beta.kind is SpaceKind.ORGANIZATION and beta.admins == (Principal("user", "ann"),)
    assert [item.lost for item in report.items] == [(), (), ()]
    assert verify(source, target).ok


def test_the_report_lists_fields_the_target_cannot_hold(source):
    neuroio = emulator("neuroio")
    report = migrate(source, fast_store(neuroio))
    lost = {item.source_name: item.lost for item in report.items}
    assert lost == {"alpha": ("description",), "beta": ("kind", "admins"), "gamma": ("description",)}
    data = report.to_dict()
    assert data["items"][0]["lost_fields"] == ["description"] and data["counts"]["created"] == 3


def test_dry_run_reads_only_and_creates_no_journal(source, tmp_path: Path):
    neuroio = emulator("neuroio")
    neuroio.add_space("alpha")
    journal = tmp_path / "j.db"
    report = migrate(source, fast_store(neuroio), dry_run=True, journal=journal)
    assert not journal.exists()
    assert {r.method for r in neuroio.requests} == {"GET"}
    assert [(i.action, i.outcome) for i in report.items] == [
        (Action.SKIP, Outcome.SKIPPED),
        (Action.CREATE, Outcome.PLANNED),
        (Action.CREATE, Outcome.PLANNED),
    ]


def test_conflict_policies(source, target):
    target.create("alpha", "old")
    skip = migrate(source, target)
    assert skip.items[0].action is Action.SKIP and "already exists" in (skip.items[0].reason or "")
    renamed = migrate(source, target, on_conflict="rename", select="alpha")
    assert renamed.items[0].target_name == "alpha (2)"
    failing = migrate(source, target, on_conflict="fail", select="alpha")
    assert not failing.ok and failing.items[0].action is Action.FAIL
    updated = migrate(source, target, on_conflict="update", select=["alpha"])
    assert updated.items[0].outcome is Outcome.UPDATED
    assert next(s for s in target.list() if s.name == "alpha").description == "first"
    assert names(target) == ["alpha", "alpha (2)", "beta", "gamma"]


def test_update_on_a_target_without_update_is_refused_before_any_request(source):
    instabase = emulator("instabase")
    with pytest.raises(spacekit.Unsupported, match="on_conflict='update'"):
        migrate(source, fast_store(instabase), on_conflict="update")
    assert instabase.requests == []


def test_bad_arguments_are_refused(source, target):
    with pytest.raises(spacekit.ValidationError):
        migrate(source, target, on_conflict="merge")
    with pytest.raises(spacekit.ValidationError):
        migrate(source, target, concurrency=0)
    with pytest.raises(spacekit.ValidationError):
        migrate(source, spacekit.connect_async("memory"))  # type: ignore[arg-type]
    with pytest.raises(spacekit.ConfigError):
        migrate(source, "no-such-store")


def test_select_and_transform(source, target):
    def shout(space: Space) -> Space | None:
        return None if space.name == "gamma" else attrs.evolve(space, name=space.name.upper())

    report = migrate(source, target, select=lambda s: s.name != "beta", transform=shout)
    assert names(target) == ["ALPHA"]
    assert [i.reason for i in report.items][1] == "left out by the transform"
    globbed = migrate(source, spacekit.connect("memory"), select=["g*", "beta"])
    assert [i.source_name for i in globbed.items] == ["beta", "gamma"]


def test_a_failing_transform_fails_its_item_only(source, target):
    def broken(space: Space) -> Space:
        if space.name == "beta":
            raise RuntimeError("boom")
        return space

    report = migrate(source, target, transform=broken)
    assert report.counts == {
        "planned": 0,
        "created": 2,
        "updated": 0,
        "skipped": 0,
        "failed": 1,
        "vanished": 0,
    }
    assert "boom" in (report.failed[0].error or "")


def test_a_failed_item_is_recorded_and_the_run_goes_on(source):
    neuroio = emulator("neuroio")
    neuroio.faults.fail(400, 1, method="POST", body='{"message": "Validation error.", "error_codes": [1000]}')
    report = migrate(source, fast_store(neuroio), concurrency=1)
    assert report.counts["failed"] == 1 and report.counts["created"] == 2
    assert isinstance(report.failed[0].error, str)


def test_dropped_after_commit_is_reconciled_not_duplicated(source):
    datablist = emulator("datablist")
    datablist.faults.drop(3, after_commit=True, method="POST", path=r"^/$")
    report = migrate(source, fast_store(datablist))
    assert report.ok
    assert names(fast_store(datablist)) == ["alpha", "beta", "gamma"]
    assert all("found on the target" in (i.reason or "") for i in report.items)


def test_a_5xx_storm_on_create_is_looked_up_before_retrying(source):
    neuroio = emulator("neuroio")
    neuroio.faults.fail(503, 2, method="POST")
    report = migrate(source, fast_store(neuroio), concurrency=1)
    assert report.ok and names(fast_store(neuroio)) == ["alpha", "beta", "default", "gamma"]


def test_authentication_failure_stops_the_run_at_once(source):
    neuroio = emulator("neuroio")
    neuroio.faults.fail(401, 1, method="POST", body='{"message": "Invalid token.", "error_codes": [1001]}')
    with pytest.raises(spacekit.AuthenticationError, match="migration stopped"):
        migrate(source, fast_store(neuroio), concurrency=1)
    assert len([r for r in mutating(neuroio)]) == 1


def test_permission_denied_on_create_stops_the_run(source):
    datablist = emulator("datablist")
    datablist.privileged = False
    with pytest.raises(spacekit.PermissionDenied, match="privilege"):
        migrate(source, fast_store(datablist), concurrency=1)
    assert len(mutating(datablist)) == 1


def test_429_with_retry_after_is_honoured(source):
    neuroio = emulator("neuroio")
    neuroio.faults.throttle(3, retry_after="0", method="POST")
    # enough retries for one item to meet all three, whichever way the threads interleave
    report = migrate(source, fast_store(neuroio, retries=4))
    assert report.ok and len(mutating(neuroio)) == 6


def test_writes_run_concurrently_but_never_beyond_the_bound(source):
    neuroio = emulator("neuroio")
    for i in range(60):
        source.create(f"extra-{i}")
    lock, active, most = threading.Lock(), [0], [0]
    dispatch = neuroio.dispatch

    def slow(request):  # type: ignore[no-untyped-def]
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.01)
        try:
            return dispatch(request)
        finally:
            with lock:
                active[0] -= 1

    neuroio.dispatch = slow  # type: ignore[method-assign]
    report = migrate(source, fast_store(neuroio), concurrency=6)
    assert report.ok and len(report.items) == 63
    assert 3 <= most[0] <= 6


def test_listing_is_streamed_while_writes_go_on(target):
    seen: list[str] = []
    lock = threading.Lock()

    class Source(spacekit.SpaceStore):
        provider, location, capabilities = "gen", "gen", frozenset({Capability.LIST})

        listings = 0

        def _list(self, query, options):
            self.listings += 1
            for i in range(200):
                if self.listings == 1:  # the second listing only looks for what the first missed
                    with lock:
                        seen.append("listed")
                yield Space("gen", str(i), f"s{i}")

        def _get(self, space_id):
            raise NotImplementedError

        def _create(self, name, description, options):
            raise NotImplementedError

        def _update(self, space_id, changes):
            raise NotImplementedError

        def _delete(self, space_id):
            raise NotImplementedError

    class Watch:
        most = 0

        def __call__(self, item):  # progress: how far ahead of the writes is the listing?
            with lock:
                done = seen.count("done") + 1
                seen.append("done")
                self.most = max(self.most, seen.count("listed") - done)

    watch = Watch()
    report = migrate(Source(), target, concurrency=4, progress=watch)
    assert report.ok and len(report.items) == 200
    assert watch.most <= 2 * 4 + 1  # never more than the window of pending steps


def test_verify_finds_missing_differing_and_duplicate(source, target):
    migrate(source, target)
    alpha = next(s for s in target.list() if s.name == "alpha")
    target.update(alpha.id, description="changed")
    gamma = next(s for s in target.list() if s.name == "gamma")
    target.delete(gamma.id)
    target.create("beta")
    report = verify(source, target)
    found = {item.source_name: item.problem for item in report.problems}
    assert found == {"alpha": Problem.DIFFERS, "beta": Problem.DUPLICATE, "gamma": Problem.MISSING}
    assert report.to_dict()["problems"][0]["differences"] == {
        "description": {"source": "first", "target": "changed"}
    }
    assert not report.ok and report.checked == 3


@pytest.mark.parametrize("journaled", [False, True])
def test_verify_finds_a_second_copy_of_a_skipped_space(source, target, tmp_path: Path, journaled: bool):
    """A space already on the target is skipped (paired with it); a second copy of that
    name added later is a duplicate, with or without the journal."""
    existing = target.create("beta")
    journal = tmp_path / "j.db" if journaled else None
    report = migrate(source, target, journal=journal)
    assert report.ok and report.counts["skipped"] == 1
    assert verify(source, target, journal=journal).ok
    extra = target.create("beta")
    check = verify(source, target, journal=journal)
    assert not check.ok
    (problem,) = check.problems
    assert (problem.problem, problem.source_name, problem.target_id) == (Problem.DUPLICATE, "beta", extra.id)
    assert existing.id in (problem.detail or "") and "2 times" in (problem.detail or "")


def test_nothing_is_deleted_on_either_side(source, target):
    target.create("unrelated")
    migrate(source, target, on_conflict="update")
    migrate(source, target, on_conflict="rename")
    assert names(source) == ["alpha", "beta", "gamma"]
    assert "unrelated" in names(target)


def test_a_progress_with_planned_is_told_the_total_once_the_source_is_listed() -> None:
    source, target = spacekit.connect("memory"), spacekit.connect("memory")
    for name in ("a", "b", "c"):
        source.create(name)
    seen: list[object] = []

    class Bar:
        def __call__(self, item: object) -> None:
            seen.append("done")

        def planned(self, count: int) -> None:
            seen.append(count)

    migrate(source, target, select=["a", "b"], progress=Bar())
    assert seen.count("done") == 2
    assert 2 in seen and 3 not in seen  # the selected spaces, not every one listed
