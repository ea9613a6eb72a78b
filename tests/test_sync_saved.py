"""Saved plans: ``--plan-out`` writes the plan and nothing else, ``--apply-plan`` applies
exactly it, or nothing (exit 2) when what it touches changed, and resumes after an
interruption."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from migrate_helpers import configured_work, emulator, fast_store, mutating
from short_servers import Short, ShortServer

import spacekit
from spacekit._cli import main
from spacekit._sync import StalePlan, SyncAction, sync

MANIFEST = (
    '[manifest]\nname = "team"\n\n'
    '[[spaces]]\nname = "Keep"\n\n'
    '[[spaces]]\nname = "Renamed"\nrenamed_from = "Old"\n\n'
    '[[spaces]]\nname = "New"\n'
)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> spacekit.SpaceStore:
    """A configured local store ``work`` holding Keep, Old and Stale; the cwd holds spaces.toml."""
    store = configured_work(tmp_path, monkeypatch)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "spaces.toml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path / "repo")
    for name in ("Keep", "Old", "Stale"):
        store.create(name)
    return store


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["sync", *args])


def state(store: spacekit.SpaceStore) -> dict[str, str]:
    return {space.name: space.id for space in store.list()}


def test_plan_out_writes_the_plan_and_nothing_else(work: spacekit.SpaceStore, tmp_path: Path) -> None:
    before = state(work)
    result = run("spaces.toml", "work", "--delete", "--plan-out", "plan.json", "--journal", "j.db")
    assert result.exit_code == 0, result.output
    assert "source 3, target 3: 1 to create, 1 to update, 1 unchanged, 1 to delete" in result.stdout
    assert "apply it with: spacekit sync --apply-plan plan.json" in result.stderr
    assert sorted(os.listdir(tmp_path / "repo")) == ["plan.json", "spaces.toml"]  # no journal
    assert state(work) == before
    saved = json.loads((tmp_path / "repo" / "plan.json").read_text())
    assert saved["source"]["store"] == "spaces.toml" and saved["source"]["location"] == "team"
    assert saved["target"]["store"] == "work" and saved["options"]["delete"] is True
    steps = {step["action"]: step for step in saved["steps"]}
    assert steps["update"]["target_fingerprint"] and steps["delete"]["target_name"] == "Stale"
    assert run("spaces.toml", "work", "--plan-out", "p.json", "--apply").exit_code == 2


def test_apply_plan_applies_exactly_the_plan_from_any_folder(
    work: spacekit.SpaceStore, tmp_path: Path
) -> None:
    before = state(work)
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    os.chdir(tmp_path)  # the manifest is found beside the plan, not in the working folder
    applied = run("--apply-plan", "repo/plan.json", "--journal", "j.db")
    assert applied.exit_code == 0, applied.output
    assert "the target matches the source" in applied.stdout
    after = state(work)
    assert sorted(after) == ["Keep", "New", "Renamed"]
    assert after["Renamed"] == before["Old"] and after["Keep"] == before["Keep"]
    assert run("repo/spaces.toml", "work", "--check", "--delete").exit_code == 0


def test_a_target_changed_behind_the_plan_refuses_it_writing_nothing(
    work: spacekit.SpaceStore, tmp_path: Path
) -> None:
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    ids = state(work)
    work.update(ids["Old"], description="someone else's edit")
    work.update(ids["Stale"], name="Stale but renamed")
    work.create("New")  # a planned create's name is now on the target
    before = {s.id: s for s in work.list()}
    result = run("--apply-plan", "plan.json", "--journal", "j.db")
    assert result.exit_code == 2, result.output
    assert "the saved plan is stale: 3 change(s)" in result.stderr
    assert f"the target space 'Old' ({ids['Old']}) changed" in result.stderr
    assert f"the target space 'Stale' ({ids['Stale']}) changed" in result.stderr
    assert "a space named 'New' is now on the target" in result.stderr
    assert {s.id: s for s in work.list()} == before and not (tmp_path / "repo" / "j.db").exists()
    # plan again, and the new plan applies
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    assert run("--apply-plan", "plan.json", "--journal", "j.db").exit_code == 0


def test_a_changed_or_gone_source_space_and_a_gone_delete_refuse_the_plan(work: spacekit.SpaceStore) -> None:
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    Path("spaces.toml").write_text(MANIFEST.replace('name = "New"', 'name = "New"\ndescription = "changed"'))
    work.delete(state(work)["Stale"])
    result = run("--apply-plan", "plan.json")
    assert result.exit_code == 2
    assert "the source space 'New' (New) changed" in result.stderr
    assert "the target space 'Stale'" in result.stderr and "is gone" in result.stderr


def test_spaces_new_since_the_plan_are_left_alone(work: spacekit.SpaceStore) -> None:
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    work.create("Arrived later")  # not in the plan: not deleted by it
    Path("spaces.toml").write_text(MANIFEST + '\n[[spaces]]\nname = "Added later"\n')
    result = run("--apply-plan", "plan.json")
    assert result.exit_code == 0, result.output
    assert sorted(state(work)) == ["Arrived later", "Keep", "New", "Renamed"]


def test_source_and_target_may_be_given_and_must_match(work: spacekit.SpaceStore, tmp_path: Path) -> None:
    assert run("spaces.toml", "work", "--plan-out", "plan.json").exit_code == 0
    other = tmp_path / "other.toml"
    other.write_text('[[spaces]]\nname = "Keep"\n')
    wrong = run(str(other), "work", "--apply-plan", "plan.json")
    assert wrong.exit_code == 2 and "the plan was made for the source file at team" in wrong.stderr
    assert run("spaces.toml", "--apply-plan", "plan.json").exit_code == 2  # both or neither
    for flag in (["--delete"], ["--force"], ["--max-changes", "50"], ["--select", "K*"], ["--apply"]):
        refused = run("--apply-plan", "plan.json", *flag)
        assert refused.exit_code == 2 and "saved plan" in refused.stderr, flag
    assert run("spaces.toml", "work", "--apply-plan", "plan.json").exit_code == 0


def test_an_edited_or_foreign_plan_file_is_refused(work: spacekit.SpaceStore) -> None:
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    data = json.loads(Path("plan.json").read_text())
    data["options"]["delete"] = False
    Path("plan.json").write_text(json.dumps(data))
    edited = run("--apply-plan", "plan.json")
    assert edited.exit_code == 2 and "edited after it was saved" in edited.stderr
    Path("plan.json").write_text("[1, 2]")
    assert "not a saved sync plan" in run("--apply-plan", "plan.json").stderr
    assert "no plan at missing.json" in run("--apply-plan", "missing.json").stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_plan_must_be_a_regular_file(work: spacekit.SpaceStore, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo("plan.json")  # no writer: opening it must not wait for one
    elif kind == "folder":
        os.mkdir("plan.json")
    else:
        os.symlink("/dev/zero", "plan.json")
    result = run("--apply-plan", "plan.json")
    assert result.exit_code == 2, result.output
    assert "the plan plan.json is" in result.stderr or "is a directory" in result.stderr


def test_an_interrupted_application_resumes_and_the_plan_never_writes_secrets(tmp_path: Path) -> None:
    neuroio = emulator("neuroio")
    old = neuroio.add_space("Old")
    neuroio.add_space("Stale")
    manifest = tmp_path / "spaces.toml"
    manifest.write_text(MANIFEST)
    target = fast_store(neuroio)
    plan = sync(str(manifest), target, delete=True)
    plan.save(tmp_path / "plan.json")
    text = (tmp_path / "plan.json").read_text()
    token = next(v for k, v in neuroio.connect_settings("http://x").items() if k in ("token", "api_key"))
    assert token not in text and "Authorization" not in text
    neuroio.faults.fail(401, 50, method="POST")  # creates refused: deletes and updates went through
    with pytest.raises(spacekit.AuthenticationError, match="sync stopped"):
        sync(str(manifest), target, plan=tmp_path / "plan.json", journal=tmp_path / "j.db")
    assert sorted(s["name"] for s in neuroio.spaces.values()) == ["Renamed", "default"]
    neuroio.faults.clear()
    writes = len(mutating(neuroio))
    resumed = sync(
        plan=tmp_path / "plan.json", source=str(manifest), target=target, journal=tmp_path / "j.db"
    )
    assert resumed.ok, resumed.mismatches
    assert sorted(s["name"] for s in neuroio.spaces.values()) == ["Keep", "New", "Renamed", "default"]
    assert neuroio.spaces[old["id"]]["name"] == "Renamed"
    assert len(mutating(neuroio)) - writes == 2  # the two creates, nothing again
    # without the journal of that application, the same changes are a stale plan
    neuroio.spaces[old["id"]]["name"] = "Old"
    with pytest.raises(StalePlan):
        sync(str(manifest), target, plan=tmp_path / "plan.json")


def test_a_plan_made_with_open_stores_needs_them_again(tmp_path: Path) -> None:
    source, target = spacekit.connect("memory"), spacekit.connect("memory")
    source.create("A")
    report = sync(source, target)
    report.save(tmp_path / "plan.json")
    with pytest.raises(spacekit.ValidationError, match="made with an open source store"):
        sync(plan=tmp_path / "plan.json")
    applied = sync(source, target, plan=tmp_path / "plan.json")
    assert applied.applied and applied.ok and [s.name for s in target.list()] == ["A"]
    assert applied.items[0].action is SyncAction.CREATE
    with pytest.raises(spacekit.ValidationError, match="only a plan"):
        applied.save(tmp_path / "again.json")


def test_a_plan_copied_with_its_manifest_to_another_checkout_applies(
    work: spacekit.SpaceStore, tmp_path: Path
) -> None:
    assert run("spaces.toml", "work", "--delete", "--plan-out", "plan.json").exit_code == 0
    shutil.copytree(tmp_path / "repo", tmp_path / "elsewhere" / "checkout")
    os.chdir(tmp_path / "elsewhere" / "checkout")
    applied = run("--apply-plan", "plan.json", "--journal", "j.db")
    assert applied.exit_code == 0, applied.output
    assert sorted(state(work)) == ["Keep", "New", "Renamed"]


def case_a_short_target_listing_refuses_the_whole_plan(tmp_path: Path) -> None:
    target = ShortServer(["a", "b", "stale"])
    source = spacekit.connect("memory")
    for name in ("a", "b", "c"):
        source.create(name)
    with target.store() as dst:
        sync(source, dst, delete=True).save(tmp_path / "plan.json")
        target.short = Short("count", n=1, times=99)  # from now on, every listing falls short
        with pytest.raises(spacekit.ProtocolError, match="said 4 space"):
            sync(source, dst, plan=tmp_path / "plan.json", journal=tmp_path / "j.db")
    assert [line for line in target.log if not line.startswith("GET")] == []  # nothing written
    assert target.names() == ["a", "b", "stale"]


def case_a_short_source_listing_refuses_the_whole_plan(tmp_path: Path) -> None:
    source = ShortServer(["a", "b", "c"], page=2)
    target = spacekit.connect("memory")
    target.create("stale")
    with source.store() as src:
        sync(src, target, delete=True).save(tmp_path / "plan.json")
        source.short = Short("next", at=2, n=0, times=99)  # "c" is never listed again
        with pytest.raises(spacekit.ProtocolError, match="said 3 space"):
            sync(src, target, plan=tmp_path / "plan.json")
    assert [s.name for s in target.list()] == ["stale"]  # no create, no delete


@pytest.mark.parametrize(
    "case",
    [case_a_short_target_listing_refuses_the_whole_plan, case_a_short_source_listing_refuses_the_whole_plan],
)
@pytest.mark.memory_ceiling
def test_a_listing_that_falls_short_refuses_the_whole_plan(case: Any, tmp_path: Path) -> None:
    case(tmp_path)
