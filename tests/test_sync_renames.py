"""Manifests as a team keeps them: renamed_from, the manifest's own identity, plans that read well."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from migrate_helpers import configured, emulator, fast_store

import spacekit
from spacekit import ValidationError
from spacekit._cli import main
from spacekit._manifest import read_manifest
from spacekit._migrate._journal import Journal
from spacekit._migrate._report import Identity
from spacekit._migrate._stores import identity
from spacekit._sync import SyncAction, sync

RENAMED = """\
[manifest]
name = "platform-spaces"

[[spaces]]
name = "Project Four"
description = "four"
renamed_from = ["Project 4", "Project 04"]

[[spaces]]
name = "Ops"
"""


def local(tmp_path: Path, *names: str) -> spacekit.SpaceStore:
    store = spacekit.connect("local", path=str(tmp_path / "work.db"))
    for name in names:
        store.create(name, "four" if name.startswith("Project") else None)
    return store


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_rename_in_a_manifest_updates_the_space_and_keeps_it(tmp_path: Path) -> None:
    manifest = write(tmp_path / "spaces.toml", RENAMED)
    target = local(tmp_path, "Project 04", "Ops")
    before = {s.name: s.id for s in target.list()}
    plan = sync(manifest, target, delete=True)
    update = next(i for i in plan.items if i.action is SyncAction.UPDATE)
    assert (update.source_name, update.target_name, update.target_id) == (
        "Project Four",
        "Project 04",
        before["Project 04"],
    )
    assert "renamed from 'Project 04'" in (update.reason or "")
    assert plan.planned["delete"] == plan.planned["create"] == 0 and not plan.warnings
    report = sync(manifest, target, delete=True, apply=True, journal=tmp_path / "j.db")
    assert report.ok, report.mismatches
    assert {s.name: s.id for s in target.list()} == {
        "Project Four": before["Project 04"],
        "Ops": before["Ops"],
    }


def test_the_first_listed_old_name_wins_and_the_new_name_matches_first(tmp_path: Path) -> None:
    manifest = write(tmp_path / "spaces.toml", RENAMED)
    target = local(tmp_path, "Project 04", "Project 4", "Ops")
    first = {s.name: s.id for s in target.list()}["Project 4"]
    plan = sync(manifest, target, delete=True)
    update = next(i for i in plan.items if i.action is SyncAction.UPDATE)
    assert update.target_id == first  # "Project 4" is listed first
    deleted = [i.target_name for i in plan.items if i.action is SyncAction.DELETE]
    assert deleted == ["Project 04"]
    target.create("Project Four", "four")  # the new name exists: it is the match
    plan = sync(manifest, target, delete=True)
    assert plan.planned["update"] == 0
    assert sorted(i.target_name or "" for i in plan.items if i.action is SyncAction.DELETE) == [
        "Project 04",
        "Project 4",
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("spaces.jsonl", '{"name": "Project Four", "renamed_from": "Project 04"}\n{"name": "Ops"}\n'),
        ("spaces.json", '[{"name": "Project Four", "renamed_from": ["Project 04"]},\n {"name": "Ops"}]'),
    ],
)
def test_json_manifests_take_renamed_from(tmp_path: Path, name: str, text: str) -> None:
    target = local(tmp_path, "Project 04", "Ops")
    plan = sync(write(tmp_path / name, text), target, delete=True)
    assert [i.action.value for i in plan.items] == ["update", "keep"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[spaces]]\nname = "A"\nrenamed_from = "Old"\n\n[[spaces]]\nname = "B"\nrenamed_from = ["Old"]\n',
            "line 2 and line 6 both say renamed_from 'Old'",
        ),
        (
            '[[spaces]]\nname = "A"\nrenamed_from = "B"\n\n[[spaces]]\nname = "B"\n',
            "line 2: renamed_from 'B', but line 6 declares a space named 'B'",
        ),
        ('[[spaces]]\nname = "A"\nrenamed_from = 3\n', "renamed_from must be a name or a list of names"),
        ('[manifest]\nname = ""\n[[spaces]]\nname = "A"\n', "[manifest] name must be"),
        ('[manifest]\nowner = "x"\n', "[manifest]: unknown key(s) owner"),
    ],
)
def test_conflicting_renames_are_refused_naming_both_lines(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_manifest(write(tmp_path / "spaces.toml", text))
    assert message in str(caught.value)


def test_an_unlinked_delete_and_create_suggest_renamed_from(tmp_path: Path) -> None:
    manifest = write(
        tmp_path / "spaces.toml", '[[spaces]]\nname = "Project Four"\n\n[[spaces]]\nname = "Ops"\n'
    )
    report = sync(manifest, local(tmp_path, "Project 04", "Ops"), delete=True)
    assert report.warnings == (
        "if 'Project 04' was renamed to 'Project Four', add renamed_from = \"Project 04\" to its entry",
    )
    assert not sync(manifest, spacekit.connect("memory"), delete=True).warnings  # nothing to link


def test_a_manifest_is_known_by_its_identity_from_any_folder(tmp_path: Path) -> None:
    journal = tmp_path / "sync.db"
    target = local(tmp_path, "Project 04", "Ops")
    first = write(tmp_path / "a" / "spaces.toml", RENAMED)
    assert sync(first, target, apply=True, journal=journal).ok
    moved = write(tmp_path / "ci" / "checkout" / "spaces.toml", RENAMED)
    again = sync(moved, target, apply=True, journal=journal)
    assert again.ok and str(again.source) == "file at platform-spaces"
    other = write(tmp_path / "b" / "spaces.toml", RENAMED.replace("platform-spaces", "other"))
    with pytest.raises(spacekit.ConfigError, match="belongs to a sync from file at platform-spaces"):
        sync(other, target, journal=journal)
    unnamed = write(tmp_path / "c" / "team.toml", RENAMED.split("\n", 3)[3])
    assert str(sync(unnamed, target).source) == "file at team.toml"  # else: its file name


def test_the_plan_reads_like_octodns(tmp_path: Path) -> None:
    """Grouped by action and sorted, a summary whose counts add up, lost fields said once."""
    neuroio = emulator("neuroio")  # holds "default", protected; NeuroIO keeps no description
    for name in ("zeta", "alpha", "gone-b", "gone-a", "kept"):
        neuroio.add_space(name)
    manifest = tmp_path / "spaces.toml"
    entries = ["zeta", "alpha", "new-b", "new-a"]
    manifest.write_text("".join(f'[[spaces]]\nname = "{n}"\ndescription = "d"\n\n' for n in entries))
    report = sync(str(manifest), fast_store(neuroio), delete=True, select=lambda s: s.name != "kept")
    sides = report.sides
    assert sides["source"] == sides["to_create"] + sides["to_update"] + sides["unchanged"] == 4
    assert (
        sides["target"] == sides["to_update"] + sides["unchanged"] + sides["to_delete"] + sides["target_only"]
    )
    assert report.summary().endswith(
        ": source 4, target 5: 2 to create, 2 unchanged, 2 to delete; 1 on the target only, kept"
    )
    config = tmp_path / "config.toml"
    config.write_text("")
    shown = CliRunner(env={"SPACEKIT_CONFIG": str(config)}).invoke(main, ["sync", str(manifest), "memory"])
    lines = shown.stdout.splitlines()
    assert lines[1:] == ["  create   alpha", "  create   new-a", "  create   new-b", "  create   zeta"]


def test_protected_spaces_read_the_same_with_and_without_delete() -> None:
    neuroio = emulator("neuroio")
    target = fast_store(neuroio)
    lines = [next(i for i in sync(spacekit.connect("memory"), target, delete=d).items) for d in (False, True)]
    assert lines[0] == lines[1] and "protected, never deleted" in (lines[0].reason or "")
    assert sync(spacekit.connect("memory"), target).in_sync  # a protected space is no drift


def test_fields_the_target_cannot_hold_are_said_once_in_a_footer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "".join(f'[[spaces]]\nname = "s{i}"\ndescription = "d"\n' for i in range(3))
    manifest = write(tmp_path / "spaces.toml", text)
    neuroio = emulator("neuroio")
    with configured(neuroio, tmp_path, monkeypatch) as store:
        result = CliRunner().invoke(main, ["sync", manifest, store])
        data = json.loads(CliRunner().invoke(main, ["sync", manifest, store, "--json"]).stdout)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("description") == 1
    assert "not held by the target (neuroio): description, for 3 space(s)" in result.stdout
    assert data["sides"]["source"] == 3 and data["lost_fields"] == {"description": 3}


def test_a_journal_from_before_manifest_identities_still_knows_the_manifest(tmp_path: Path) -> None:
    target = local(tmp_path, "Ops")
    with Journal.open(tmp_path / "j.db", create=True) as book:  # as an older spacekit recorded it
        book.bind(Identity("file", "/old/checkout/spaces.toml"), identity(target), None)
    unnamed = RENAMED.split("\n", 3)[3]
    assert sync(write(tmp_path / "new" / "spaces.toml", unnamed), target, journal=tmp_path / "j.db").source
    with pytest.raises(spacekit.ConfigError, match="belongs to a sync"):
        sync(write(tmp_path / "new" / "other.toml", unnamed), target, journal=tmp_path / "j.db")
