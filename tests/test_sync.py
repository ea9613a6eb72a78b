"""spacekit._sync: plans, the max-changes rule, apply through the journal, renames, protection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from migrate_helpers import emulator, fast_store, mutating

import spacekit
from spacekit import Principal, Space, SpaceKind, ValidationError
from spacekit._local import SQLiteStore
from spacekit._migrate._journal import Journal
from spacekit._migrate._lock import held
from spacekit._migrate._record import Action, Record, State
from spacekit._migrate._stores import identity
from spacekit._sync import SyncAction, SyncOutcome, TooManyChanges, sync
from spacekit._sync._run import DELETE_KEY


def memory(*names: str, **described: str) -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    for name in names:
        store.create(name)
    for name, description in described.items():
        store.create(name, description)
    return store


def plan_of(report: spacekit._sync.SyncReport) -> list[tuple[str, str | None, str | None]]:
    return [(i.action.value, i.source_name, i.target_name) for i in report.items]


def names(store: spacekit.SpaceStore) -> list[str]:
    return sorted(space.name for space in store.list())


def test_the_plan_creates_updates_keeps_and_deletes_only_when_asked() -> None:
    source = memory("same", "new", described="wanted")
    target = memory("same", "extra", described="old text")
    report = sync(source, target)
    assert plan_of(report) == [
        ("keep", "same", "same"),
        ("create", "new", "new"),
        ("update", "described", "described"),
        ("keep", None, "extra"),
    ]
    update = report.items[2]
    assert [(c.field, c.before, c.after) for c in update.changes] == [("description", "old text", "wanted")]
    assert report.items[3].reason and "not in the source" in report.items[3].reason
    assert not report.applied and not report.in_sync and report.ok
    deleting = sync(source, target, delete=True)
    assert plan_of(deleting)[3] == ("delete", None, "extra")
    assert deleting.planned == {"create": 1, "update": 1, "delete": 1, "keep": 1}
    assert names(target) == ["described", "extra", "same"]  # a plan writes nothing


def test_apply_makes_the_target_equal_and_a_second_plan_is_empty(tmp_path: Path) -> None:
    source = memory("same", "new", described="wanted")
    target = memory("same", "extra", described="old text")
    report = sync(source, target, apply=True, delete=True, journal=tmp_path / "j.db")
    assert report.ok and report.applied and not report.mismatches
    assert report.counts["created"] == 1 and report.counts["updated"] == 1 and report.counts["deleted"] == 1
    assert sorted((s.name, s.description) for s in target.list()) == [
        ("described", "wanted"),
        ("new", None),
        ("same", None),
    ]
    again = sync(source, target, delete=True, journal=tmp_path / "j.db")
    assert again.in_sync and again.planned["keep"] == 3


def test_only_writable_fields_are_compared_and_lost_fields_listed() -> None:
    neuroio = emulator("neuroio")
    neuroio.add_space("Research")
    source = memory(Research="papers")
    source.create("Org", kind="organization", admins=[Principal("user", "ann")])
    report = sync(source, fast_store(neuroio))
    items = {i.source_name: i for i in report.items if i.source_name}
    assert items["Research"].action is SyncAction.KEEP and items["Research"].lost == ("description",)
    assert items["Org"].action is SyncAction.CREATE and items["Org"].lost == ("kind", "admins")


def test_a_plan_makes_no_mutating_request_and_writes_no_journal(tmp_path: Path) -> None:
    neuroio = emulator("neuroio")
    for name in ("keep", "rename-me", "stale"):
        neuroio.add_space(name)
    source = memory("keep", "brand-new", "renamed")
    report = sync(source, fast_store(neuroio), delete=True, journal=tmp_path / "j.db")
    assert report.planned == {"create": 2, "update": 0, "delete": 2, "keep": 2}
    assert mutating(neuroio) == []
    assert not (tmp_path / "j.db").exists()
    assert list(tmp_path.iterdir()) == []


def test_renames_are_followed_through_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    source, target = memory("Alpha", "Beta"), memory()
    assert sync(source, target, apply=True, journal=journal).ok
    ids = {s.name: s.id for s in target.list()}
    alpha = next(s for s in source.list() if s.name == "Alpha")
    source.update(alpha.id, name="Alpha Prime")
    report = sync(source, target, delete=True, journal=journal)
    assert plan_of(report) == [("update", "Alpha Prime", "Alpha"), ("keep", "Beta", "Beta")]
    applied = sync(source, target, apply=True, delete=True, journal=journal)
    assert applied.ok and applied.counts["updated"] == 1 and applied.counts["deleted"] == 0
    assert {s.name: s.id for s in target.list()} == {"Alpha Prime": ids["Alpha"], "Beta": ids["Beta"]}
    # without the journal, the same rename is a create and a delete
    source.update(alpha.id, name="Alpha Again")
    blind = sync(source, target, delete=True)
    assert sorted(i.action.value for i in blind.items) == ["create", "delete", "keep"]


def test_a_journaled_counterpart_wins_over_a_same_named_space(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    source, target = memory("A"), memory()
    sync(source, target, apply=True, journal=journal)
    original = next(iter(target.list()))
    space = next(iter(source.list()))
    source.update(space.id, name="B")
    target.create("B")  # a stranger with the new name
    report = sync(source, target, delete=True, journal=journal, apply=True)
    assert report.ok
    by_name = {s.name: s.id for s in target.list()}
    assert by_name == {"B": original.id}  # the stranger was the one deleted


@pytest.mark.parametrize(("deletes", "refused"), [(3, False), (4, True)])
def test_the_max_changes_rule_at_ten_spaces(deletes: int, refused: bool, tmp_path: Path) -> None:
    neuroio = emulator("neuroio")  # holds "default", which is protected: 9 more make 10
    for i in range(9):
        neuroio.add_space(f"s{i}")
    source = memory(*[f"s{i}" for i in range(9 - deletes)], "default")
    target = fast_store(neuroio)
    if refused:
        with pytest.raises(TooManyChanges) as caught:
            sync(source, target, apply=True, delete=True, journal=tmp_path / "j.db")
        message = str(caught.value)
        assert (
            "4 change(s) (4 delete(s)) to the 10 spaces" in message
            and "40 %" in message
            and "30 %" in message
            and "use force=True or a higher max_changes" in message  # Python's arguments
        )
        assert caught.value.report.planned["delete"] == 4
        assert mutating(neuroio) == [] and not (tmp_path / "j.db").exists()
        with pytest.raises(TooManyChanges):
            sync(source, target, delete=True)  # the plan alone is refused too
        forced = sync(source, target, apply=True, delete=True, force=True)
        assert forced.ok and forced.counts["deleted"] == 4
    else:
        report = sync(source, target, apply=True, delete=True, journal=tmp_path / "j.db")
        assert report.ok and report.counts["deleted"] == 3
    assert sorted(neuroio.spaces[k]["name"] for k in neuroio.spaces) == sorted(
        ["default", *[f"s{i}" for i in range(9 - deletes)]]
    )


def test_the_rule_counts_updates_spares_small_targets_and_takes_a_limit() -> None:
    target = memory(*[f"s{i}" for i in range(9)])
    source = memory()
    assert sync(source, target, delete=True).planned["delete"] == 9  # 9 spaces: no rule
    target.create("s9")
    source = memory(*[f"s{i}" for i in range(6)], **{f"s{i}": "changed" for i in range(6, 10)})
    with pytest.raises(TooManyChanges, match="4 update"):
        sync(source, target)
    assert sync(source, target, max_changes=0.4).planned["update"] == 4
    for bad in (1.5, -0.1, "30", True):
        with pytest.raises(ValidationError, match="max_changes"):
            sync(source, target, max_changes=bad)  # type: ignore[arg-type]


def test_creates_do_not_count_against_the_rule() -> None:
    target = memory(*[f"s{i}" for i in range(10)])
    source = memory(*[f"s{i}" for i in range(10)], *[f"n{i}" for i in range(20)])
    assert sync(source, target).planned["create"] == 20


def test_protected_spaces_are_never_deleted() -> None:
    neuroio = emulator("neuroio")
    neuroio.add_space("mine")
    report = sync(memory(), fast_store(neuroio), delete=True, apply=True)
    kept = next(i for i in report.items if i.target_name == "default")
    assert kept.action is SyncAction.KEEP and "default space always exists" in (kept.reason or "")
    assert report.ok and [s["name"] for s in neuroio.spaces.values()] == ["default"]
    user = Space("x", "1", "me", kind=SpaceKind.USER)
    assert memory().protected(user) == "a user's own space"


def test_delete_needs_a_target_that_can_delete_and_writes_need_capabilities(tmp_path: Path) -> None:
    manifest = tmp_path / "spaces.toml"
    manifest.write_text('[[spaces]]\nname = "A"\n')
    plan = sync(memory(), str(manifest), delete=True)  # the check is per item: only a delete needs it
    assert plan.items[0].action is SyncAction.DELETE and "cannot delete" in (plan.items[0].error or "")
    assert not plan.in_sync and sync(memory("A"), str(manifest), delete=True).in_sync
    report = sync(memory("B"), str(manifest), apply=True)
    create = report.items[0]
    assert create.outcome is SyncOutcome.FAILED and "cannot create" in (create.error or "")
    assert not report.ok


def test_select_limits_both_sides_and_transform_shapes_the_wanted_spaces() -> None:
    source = memory("proj-a", "proj-b", "other")
    target = memory("proj-old", "unrelated")
    report = sync(source, target, delete=True, select="proj-*")
    assert plan_of(report) == [
        ("create", "proj-a", "proj-a"),
        ("create", "proj-b", "proj-b"),
        ("delete", None, "proj-old"),
    ]

    def upper(space: Space) -> Space | None:
        if space.name == "other":
            return None
        if space.name == "proj-b":
            raise RuntimeError("boom")
        return attrs.evolve(space, name=space.name.upper())

    shaped = sync(source, target, transform=upper, apply=True)
    outcome = {i.source_name: (i.action.value, i.outcome.value) for i in shaped.items if i.source_name}
    assert outcome == {
        "proj-a": ("create", "created"),
        "proj-b": ("keep", "failed"),
        "other": ("keep", "kept"),
    }
    assert "PROJ-A" in names(target) and not shaped.ok


def test_source_and_target_may_be_names_or_manifest_paths(tmp_path: Path) -> None:
    manifest = tmp_path / "spaces.jsonl"
    manifest.write_text('{"name": "A", "description": "a"}\n')
    report = sync(str(manifest), spacekit.connect("local", path=str(tmp_path / "t.db")), apply=True)
    assert report.ok and report.source.provider == "file"
    with pytest.raises(ValidationError, match="AsyncSpaceStore"):
        sync(spacekit.connect_async("memory"), memory())  # type: ignore[arg-type]


def test_deletes_are_journaled_before_they_are_sent(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    neuroio = emulator("neuroio")
    gone = neuroio.add_space("gone")
    neuroio.faults.drop(1, method="DELETE")
    neuroio.faults.drop(1, method="DELETE")
    neuroio.faults.drop(1, method="DELETE")  # more than the engine retries: the outcome stays unknown
    report = sync(memory(), fast_store(neuroio, retries=1), delete=True, apply=True, journal=journal)
    failed = [i for i in report.items if i.action is SyncAction.DELETE]
    assert failed[0].outcome is SyncOutcome.FAILED and "unknown" in (failed[0].error or "")
    with Journal.open(journal, create=False) as book:
        entry = book.get(DELETE_KEY + str(gone["id"]))
    assert entry is not None and entry.state is State.UNKNOWN and entry.target_id == str(gone["id"])
    again = sync(memory(), fast_store(neuroio), delete=True, apply=True, journal=journal)
    assert again.ok and [s["name"] for s in neuroio.spaces.values()] == ["default"]


def test_a_resumed_run_deletes_only_what_its_own_plan_calls_for(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    target = memory("Back")
    back = next(iter(target.list()))
    source = memory()
    assert sync(source, target, delete=True).planned["delete"] == 1
    with Journal.open(journal, create=True) as book:  # a run killed right after journaling the delete
        book.bind(identity(source), identity(target), None)
        book.record(
            Record(DELETE_KEY + back.id, "Back", None, Action.DELETE, State.SENT, "Back", None, back.id)
        )
    source.create("Back")  # meanwhile, the source has it again
    report = sync(source, target, delete=True, apply=True, journal=journal)
    assert report.ok and names(target) == ["Back"] and report.counts["deleted"] == 0


def test_a_create_dropped_after_commit_is_not_made_twice(tmp_path: Path) -> None:
    neuroio = emulator("neuroio")
    neuroio.faults.drop(1, after_commit=True, method="POST")
    report = sync(memory("A", "B"), fast_store(neuroio), apply=True, journal=tmp_path / "j.db")
    assert report.ok
    assert sorted(s["name"] for s in neuroio.spaces.values()) == ["A", "B", "default"]


def test_the_credentials_refused_stop_the_run(tmp_path: Path) -> None:
    neuroio = emulator("neuroio")
    neuroio.faults.fail(401, 50, method="POST")
    with pytest.raises(spacekit.AuthenticationError, match="sync stopped"):
        sync(memory(*[f"s{i}" for i in range(20)]), fast_store(neuroio), apply=True, concurrency=2)
    assert len([r for r in neuroio.requests if r.method == "POST"]) <= 3


def test_the_final_listing_is_compared_with_the_source(tmp_path: Path) -> None:
    neuroio = emulator("neuroio")
    neuroio.faults.fail(400, 1, method="POST", body='{"message": "no"}')
    report = sync(memory("A"), fast_store(neuroio), apply=True)
    assert not report.ok and report.failed
    assert report.mismatches == ("'A' (1) has no counterpart on the target",)
    data = report.to_dict()
    assert data["ok"] is False and data["items"][0]["outcome"] == "failed" and data["mismatches"]


class _Watched(SQLiteStore):
    """An embedded store that tells a callback about every delete before doing it."""

    before_delete: list[str]

    def _delete(self, space_id: str) -> None:
        self.before_delete.append(space_id)
        super()._delete(space_id)


def test_a_delete_is_journaled_sent_before_it_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    recorded = Journal.record

    def record(self: Journal, record: Record) -> None:
        events.append(f"journal {record.action.value} {record.state.value} {record.target_id}")
        recorded(self, record)

    monkeypatch.setattr(Journal, "record", record)
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    target.__class__ = _Watched
    watched: Any = target
    watched.before_delete = events
    stale = target.create("stale")
    sync(memory(), target, delete=True, apply=True, journal=tmp_path / "j.db")
    deleting = [e for e in events if stale.id in e]
    assert deleting == [f"journal delete sent {stale.id}", stale.id, f"journal delete done {stale.id}"]


def test_a_plan_leaves_an_existing_journal_byte_for_byte(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    source, target = memory("A"), spacekit.connect("local", path=str(tmp_path / "t.db"))
    sync(source, target, apply=True, journal=journal)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    source.create("B")
    assert sync(source, target, journal=journal).planned["create"] == 1
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_unchanged_run_journals_nothing_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "j.db"
    source, target = memory("A", "B"), memory()
    sync(source, target, apply=True, journal=journal)
    writes: list[Record] = []
    recorded = Journal.record
    monkeypatch.setattr(Journal, "record", lambda self, r: (writes.append(r), recorded(self, r))[1])
    assert sync(source, target, apply=True, journal=journal).ok
    assert writes == []


def test_a_store_is_not_synced_onto_itself_and_two_runs_never_write_at_once(tmp_path: Path) -> None:
    store = spacekit.connect("local", path=str(tmp_path / "t.db"))
    with pytest.raises(ValidationError, match="same store"):
        sync(store, store)
    with (
        held(store, identity(store), None),
        pytest.raises(spacekit.ConfigError, match=r"another run \(a migrate or a sync\)"),
    ):
        sync(memory("A"), store, apply=True)
    assert names(store) == []


def test_a_source_space_left_out_by_the_selection_keeps_its_counterpart(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    source, target = memory("apple", "avocado"), memory()
    sync(source, target, apply=True, journal=journal)
    apple = next(s for s in source.list() if s.name == "apple")
    source.update(apple.id, name="banana")  # now outside the selection "a*"
    report = sync(source, target, apply=True, delete=True, select="a*", journal=journal)
    assert report.ok and names(target) == ["apple", "avocado"]
    kept = next(i for i in report.items if i.target_name == "apple")
    assert kept.action is SyncAction.KEEP and "leaves out" in (kept.reason or "")


class _Lagging(SQLiteStore):
    """A store whose listing shows a new space only from its second listing on."""

    hidden: set[str]

    def _create(self, name: str, description: str | None, options: Any) -> Space:
        space = super()._create(name, description, options)
        self.hidden.add(space.id)
        return space

    def _list(self, query: str | None, options: Any) -> Any:
        hidden, self.hidden = set(self.hidden), set()
        return (space for space in super()._list(query, options) if space.id not in hidden)


def test_the_final_comparison_gives_a_slow_listing_a_second_look(tmp_path: Path) -> None:
    target: Any = spacekit.connect("local", path=str(tmp_path / "t.db"))
    target.__class__, target.hidden = _Lagging, set()
    report = sync(memory("A"), target, apply=True)
    assert report.ok and not report.mismatches


def test_an_instabase_user_space_is_protected_and_other_deletes_need_the_capability() -> None:
    instabase = emulator("instabase")
    report = sync(memory(), fast_store(instabase), delete=True)
    by_kind = {(i.action.value, i.error is not None, "own space" in (i.reason or "")) for i in report.items}
    assert ("keep", False, True) in by_kind  # Alice's user space: never deleted
    assert ("delete", True, False) in by_kind  # the organization: Instabase cannot delete it
    assert mutating(instabase) == []
