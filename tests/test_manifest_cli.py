"""Manifests wherever a store is read, ``spacekit manifest check`` and ``spacekit manifest schema``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator
from migrate_helpers import configured_work

import spacekit
from spacekit._cli import main
from spacekit._manifest import TOML_KEYS
from spacekit._manifestcli import schema

MANIFEST = '[manifest]\nname = "team"\n\n[[spaces]]\nname = "Research"\ndescription = "papers"\n\n[[spaces]]\nname = "Ops"\n'


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured_work(tmp_path, monkeypatch).close()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spaces.toml").write_text(MANIFEST)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_spaces_list_get_and_export_read_a_manifest() -> None:
    listed = run("spaces", "list", "--store", "spaces.toml", "--json")
    assert listed.exit_code == 0, listed.output
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Research", "Ops"]
    got = run("spaces", "get", "Research", "--store", "spaces.toml", "--json")
    assert got.exit_code == 0 and json.loads(got.stdout)["description"] == "papers"
    exported = run("export", "--store", "spaces.toml")
    assert exported.exit_code == 0 and [
        json.loads(line)["name"] for line in exported.stdout.splitlines()
    ] == [
        "Research",
        "Ops",
    ]


def test_migrate_and_verify_take_a_manifest_as_source(tmp_path: Path) -> None:
    dry = run("migrate", "spaces.toml", "work", "--dry-run")
    assert dry.exit_code == 0, dry.output
    done = run("migrate", "spaces.toml", "work", "--journal", "j.db")
    assert done.exit_code == 0, done.output
    with spacekit.connect("work") as work:
        assert sorted(s.name for s in work.list()) == ["Ops", "Research"]
    verified = run("verify", "spaces.toml", "work")
    assert verified.exit_code == 0, verified.output


def test_a_write_into_a_manifest_is_unsupported_with_the_reason(tmp_path: Path) -> None:
    created = run("spaces", "create", "New", "--store", "spaces.toml")
    assert created.exit_code != 0 and "file" in created.stderr and "create" in created.stderr
    with spacekit.connect("work") as work:
        work.create("New")
    migrated = run("migrate", "work", "spaces.toml")
    assert migrated.exit_code != 0 and "cannot create" in migrated.output
    assert (tmp_path / "spaces.toml").read_text() == MANIFEST


def test_another_suffix_naming_a_file_is_refused_naming_the_suffixes(tmp_path: Path) -> None:
    (tmp_path / "spaces.yaml").write_text("spaces: []\n")
    result = run("sync", "spaces.yaml", "work")
    assert result.exit_code == 2
    assert (
        "spaces.yaml is a file, not a store: a manifest's name ends in .toml, .jsonl, .json" in result.stderr
    )
    assert "unknown store 'nothing.yaml'" in run("spaces", "list", "--store", "nothing.yaml").stderr


def test_manifest_check_exits_0_or_2_naming_each_problem(tmp_path: Path) -> None:
    good = run("manifest", "check", "spaces.toml")
    assert good.exit_code == 0 and "2 space(s), manifest 'team': ok" in good.stdout
    (tmp_path / "bad.toml").write_text(
        '[[spaces]]\nname = "A"\ncolour = "red"\n[[spaces]]\nname = "B"\nrenamed_from = "Z"\n'
        '[[spaces]]\nname = "C"\nrenamed_from = "Z"\n'
    )
    bad = run("manifest", "check", "bad.toml")
    assert bad.exit_code == 2 and "line 2: unknown key(s) colour" in bad.stderr
    (tmp_path / "bad.toml").write_text(
        '[[spaces]]\nname = "B"\nrenamed_from = "Z"\n[[spaces]]\nname = "C"\nrenamed_from = "Z"\n'
    )
    conflict = run("manifest", "check", "bad.toml")
    assert conflict.exit_code == 2 and "line 2 and line 5 both say renamed_from 'Z'" in conflict.stderr
    (tmp_path / "twice.jsonl").write_text('{"name": "A"}\n{"name": "A"}\n')
    assert "declared twice, on line 1 and on line 2" in run("manifest", "check", "twice.jsonl").stderr


def test_manifest_check_for_a_provider_finds_what_it_would_refuse(tmp_path: Path) -> None:
    pytest.importorskip("spacekit_instabase")
    (tmp_path / "orgs.toml").write_text(
        '[[spaces]]\nname = "Data Team"\nkind = "organization"\n\n'
        '[[spaces]]\nname = "data team"\nkind = "organization"\n\n'
        '[[spaces]]\nname = "!!"\nkind = "organization"\n'
    )
    assert run("manifest", "check", "orgs.toml").exit_code == 0  # fine for spacekit itself
    result = run("manifest", "check", "orgs.toml", "--for", "instabase")
    assert result.exit_code == 2, result.output
    assert "2 problem(s) for instabase" in result.stderr
    assert "line 6:" in result.stderr and "line 10: instabase refuses '!!'" in result.stderr
    assert run("manifest", "check", "spaces.toml", "--for", "neuroio").exit_code == 0


def test_the_schema_validates_good_manifests_and_refuses_bad_ones(tmp_path: Path) -> None:
    printed = run("manifest", "schema")
    assert printed.exit_code == 0
    document = json.loads(printed.stdout)
    assert document == schema()
    Draft202012Validator.check_schema(document)
    validator = Draft202012Validator(document)
    assert set(document["properties"]["spaces"]["items"]["properties"]) == set(TOML_KEYS)
    good = [
        MANIFEST,
        '#:schema ./spaces.schema.json\n[[spaces]]\nname = "A"\nkind = "organization"\nowner = "o"\n'
        'admins = ["alice", { kind = "group", name = "sre" }]\nsubspaces = ["o/p", { owner = "o", name = "q", is_admin = true }]\n'
        'renamed_from = "Old"\nimage_url = "https://example.com/a.png"\n',
        '[[spaces]]\nname = "B"\nrenamed_from = ["x", "y"]\n',
        "",
    ]
    for text in good:
        assert not list(validator.iter_errors(tomllib.loads(text))), text
        (tmp_path / "good.toml").write_text(text)
        assert run("manifest", "check", "good.toml").exit_code == 0
    bad = [
        '[[spaces]]\ndescription = "no name"\n',
        '[[spaces]]\nname = "A"\ncolour = "red"\n',
        '[[spaces]]\nname = "A"\nkind = "team"\n',
        '[[spaces]]\nname = ""\n',
        '[[spaces]]\nname = "A"\nrenamed_from = 3\n',
        '[[spaces]]\nname = "A"\nsubspaces = ["no-slash"]\n',
        '[[spaces]]\nname = "A"\nadmins = [{ kind = "robot", name = "r" }]\n',
        '[manifest]\nname = "x"\nowner = "y"\n',
        'spaces = "A"\n',
        "other = 1\n",
    ]
    for text in bad:
        assert list(validator.iter_errors(tomllib.loads(text))), text
        (tmp_path / "bad.toml").write_text(text)
        assert run("manifest", "check", "bad.toml").exit_code == 2, text


def test_the_python_runs_take_a_manifest_path_or_name(tmp_path: Path) -> None:
    with spacekit.connect("memory") as target:
        report = spacekit.migrate(tmp_path / "spaces.toml", target)  # a pathlib.Path
        assert report.ok and sorted(s.name for s in target.list()) == ["Ops", "Research"]
        assert spacekit.verify("spaces.toml", target).ok  # a name ending in .toml
        assert str(report.source) == "file at team"
    with spacekit.connect("spaces.toml") as manifest:
        assert [s.name for s in manifest.list()] == ["Research", "Ops"]
