"""spacekit._manifest: the read-only ``file`` store, and ``spacekit export --format toml``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from migrate_helpers import configured_work

import spacekit
from spacekit import ConfigError, NotFound, Principal, SpaceKind, Subspace, Unsupported, ValidationError
from spacekit._cli import main
from spacekit._manifest import read, toml_string

TOML = """\
# our spaces
[[spaces]]
name = "Research"
description = "papers and data"

[[spaces]]
name = "Ops"
kind = "organization"
owner = "ops-team"
image_url = "https://example.com/ops.png"
admins = ["alice", { kind = "group", name = "sre" }]
subspaces = ["ops/runbooks", { owner = "ops", name = "alerts", is_admin = true }]
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_toml_manifest_is_a_store_whose_ids_are_the_names(tmp_path: Path) -> None:
    with spacekit.connect("file", path=write(tmp_path, "spaces.toml", TOML)) as store:
        spaces = list(store.list())
        assert [(s.provider, s.id, s.name) for s in spaces] == [
            ("file", "Research", "Research"),
            ("file", "Ops", "Ops"),
        ]
        research, ops = spaces
        assert research.description == "papers and data" and research.kind is SpaceKind.WORKSPACE
        assert ops.kind is SpaceKind.ORGANIZATION and ops.owner == "ops-team"
        assert ops.image_url == "https://example.com/ops.png"
        assert ops.admins == (Principal("user", "alice"), Principal("group", "sre"))
        assert ops.subspaces == (Subspace("ops", "runbooks"), Subspace("ops", "alerts", True))
        assert store.get("Ops") == ops
        assert [s.name for s in store.list(query="res")] == ["Research"]
        with pytest.raises(NotFound, match="Nope"):
            store.get("Nope")
        assert store.location == str(tmp_path / "spaces.toml")


def test_a_manifest_is_read_only_before_any_write(tmp_path: Path) -> None:
    with spacekit.connect("file", path=write(tmp_path, "spaces.toml", TOML)) as store:
        assert store.capabilities == frozenset(
            {spacekit.Capability.LIST, spacekit.Capability.SEARCH, spacekit.Capability.GET}
        )
        with pytest.raises(Unsupported):
            store.create("New")
        with pytest.raises(Unsupported):
            store.update("Ops", name="Other")
        with pytest.raises(Unsupported):
            store.delete("Ops")
    assert (tmp_path / "spaces.toml").read_text() == TOML


async def test_the_async_store_reads_the_same(tmp_path: Path) -> None:
    async with spacekit.connect_async("file", path=write(tmp_path, "spaces.toml", TOML)) as store:
        assert [s.name async for s in store.list()] == ["Research", "Ops"]
        assert (await store.get("Research")).description == "papers and data"
        with pytest.raises(Unsupported):
            await store.delete("Ops")


def test_json_lines_in_the_export_format_need_only_a_name(tmp_path: Path) -> None:
    exported = spacekit.Space("neuroio", "17", "Exported", description="from elsewhere").to_dict()
    text = json.dumps(exported) + "\n\n" + json.dumps({"name": "Bare"}) + "\n"
    with spacekit.connect("file", path=write(tmp_path, "spaces.jsonl", text)) as store:
        spaces = list(store.list())
    assert [(s.id, s.name, s.description) for s in spaces] == [
        ("Exported", "Exported", "from elsewhere"),
        ("Bare", "Bare", None),
    ]
    assert {s.provider for s in spaces} == {"file"}


def test_a_json_file_may_hold_lines_or_one_array(tmp_path: Path) -> None:
    array = '[\n  {"name": "A"},\n  {"name": "B", "description": "b"}\n]\n'
    assert [e.space.name for e in read(write(tmp_path, "a.json", array))] == ["A", "B"]
    assert [e.line for e in read(str(tmp_path / "a.json"))] == [2, 3]
    assert [e.space.name for e in read(write(tmp_path, "b.json", '{"name": "A"}\n'))] == ["A"]


@pytest.mark.parametrize(
    ("name", "text", "lines"),
    [
        (
            "dup.toml",
            '[[spaces]]\nname = "A"\n\n[[spaces]]\nname = "B"\n\n[[spaces]]\n# again\nname = "A"\n',
            (2, 9),
        ),
        ("dup.jsonl", '{"name": "A"}\n{"name": "B"}\n\n{"name": "A", "description": "x"}\n', (1, 4)),
        ("dup.json", '[{"name": "A"},\n {"name": "A"}]', (1, 2)),
    ],
)
def test_a_name_declared_twice_is_refused_naming_both_lines(
    tmp_path: Path, name: str, text: str, lines: tuple[int, int]
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(
        ValidationError, match=f"'A' is declared twice, on line {lines[0]} and on line {lines[1]}"
    ):
        spacekit.connect("file", path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[spaces]]\ndescription = "no name"\n', "line 1: name is required"),
        ('[[spaces]]\nname = "A"\ncolour = "red"\n', "line 2: unknown key.s. colour"),
        ('[[spaces]]\nname = "A"\nkind = "team"\n', "line 2: .*kind"),
        ('[[spaces]]\nname = "   "\n', "line 2: name must not be empty"),
        ('[[spaces]]\nname = "A"\nadmins = [{ kind = "robot", name = "x" }]\n', "line 2: an admin is"),
        ('[[spaces]]\nname = "A"\nsubspaces = ["no-owner"]\n', "line 2: a subspace is"),
        ('spaces = "A"\n', "must be an array of tables"),
        ('[stores.x]\nprovider = "local"\n', "unknown top-level key.s. stores"),
        ('[[spaces]\nname = "A"\n', "not valid TOML"),
    ],
)
def test_bad_toml_entries_are_named_by_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spacekit.connect("file", path=write(tmp_path, "bad.toml", text))


def test_bad_json_lines_are_all_listed(tmp_path: Path) -> None:
    text = '{"name": "A"}\nnot json\n{"description": "x"}\n["A"]\n{"name": "B", "extra": 1}\n'
    with pytest.raises(ValidationError) as caught:
        spacekit.connect("file", path=write(tmp_path, "bad.jsonl", text))
    message = str(caught.value)
    assert "4 bad entries" in message
    for line in (
        "line 2: not valid JSON",
        "line 3: name is required",
        "line 4: a space must be a JSON object",
        "line 5: unknown space field",
    ):
        assert line in message


def test_the_file_must_exist_and_have_a_known_form(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no manifest at"):
        spacekit.connect("file", path=str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"must end in \.toml"):
        spacekit.connect("file", path=write(tmp_path, "spaces.yaml", "x"))
    path = write(tmp_path, "spaces.txt", '[[spaces]]\nname = "A"\n')
    assert [s.name for s in spacekit.connect("file", path=path, format="toml").list()] == ["A"]
    with pytest.raises(ConfigError, match="needs the setting 'path'"):
        spacekit.connect("file")
    (tmp_path / "latin1.toml").write_bytes(b'[[spaces]]\nname = "caf\xe9"\n')
    with pytest.raises(ValidationError, match="not UTF-8"):
        spacekit.connect("file", path=str(tmp_path / "latin1.toml"))


# -- export --format toml --------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> spacekit.SpaceStore:
    return configured_work(tmp_path, monkeypatch)


def test_export_toml_writes_a_manifest_that_reads_back_equal(
    work: spacekit.SpaceStore, tmp_path: Path
) -> None:
    work.create("Plain")
    work.create('Quote " and \\ back', 'lines\nand\ttabs, "quotes", ünïcödé')
    work.create(
        "Org",
        kind="organization",
        owner="o",
        image_url="https://x/y.png",
        admins=[Principal("group", "g")],
        subspaces=[Subspace("o", "r", False)],
    )
    result = CliRunner().invoke(main, ["export", "--format", "toml", "--store", "work"])
    assert result.exit_code == 0, result.output
    assert "exported 3 space(s)" in result.stderr
    manifest = tmp_path / "exported.toml"
    manifest.write_text(result.stdout, encoding="utf-8")
    with spacekit.connect("file", path=str(manifest)) as declared:
        fields = ("name", "description", "kind", "owner", "image_url", "admins", "subspaces")
        got = [tuple(getattr(s, f) for f in fields) for s in declared.list()]
    assert got == [tuple(getattr(s, f) for f in fields) for s in work.list()]


def test_export_toml_warns_of_repeated_names(work: spacekit.SpaceStore) -> None:
    work.create("Twice")
    work.create("Twice")
    result = CliRunner().invoke(main, ["export", "--format", "toml", "--store", "work"])
    assert result.exit_code == 0
    assert "1 name(s) appear more than once ('Twice')" in result.stderr


def test_export_defaults_to_json_lines(work: spacekit.SpaceStore) -> None:
    work.create("A")
    result = CliRunner().invoke(main, ["export", "--store", "work"])
    assert json.loads(result.stdout)["name"] == "A"


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
def test_toml_strings_read_back_as_written(value: str) -> None:
    import tomllib

    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


# -- hostile manifests: a typed error (exit 2), never a raw exception ------------------

DEEP = 100_000
HOSTILE_MANIFESTS = {
    "toml-deep": (
        "spaces.toml",
        '[[spaces]]\nname = "a"\nowner = ' + "[" * DEEP + "]" * DEEP + "\n",
        "too deep",
    ),
    "toml-long-int": ("spaces.toml", '[[spaces]]\nname = "a"\nowner = ' + "9" * 5000 + "\n", "not readable"),
    "toml-kind-list": ("spaces.toml", '[[spaces]]\nname = "a"\nkind = ["x"]\n', "kind must be one of"),
    "jsonl-deep": ("spaces.jsonl", '{"name": "a", "owner": ' + "[" * DEEP + "]" * DEEP + "}\n", "nested"),
    "jsonl-long-int": ("spaces.jsonl", '{"name": "a", "owner": ' + "9" * 5000 + "}\n", "line 1"),
    "jsonl-kind-list": ("spaces.jsonl", '{"name": "a", "kind": ["x"]}\n', "kind must be one of"),
    "jsonl-kind-object": ("spaces.jsonl", '{"name": "a", "kind": {"x": 1}}\n', "kind must be one of"),
    "json-deep": ("spaces.json", '[{"name": "a", "owner": ' + "[" * DEEP + "]" * DEEP + "}]\n", "too deep"),
    "json-long-int": ("spaces.json", '[{"name": "a", "owner": ' + "9" * 5000 + "}]\n", "not readable"),
}


@pytest.mark.memory_ceiling
@pytest.mark.parametrize(
    ("name", "text", "expected"), HOSTILE_MANIFESTS.values(), ids=list(HOSTILE_MANIFESTS)
)
def test_a_hostile_manifest_is_a_validation_error(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ValidationError, match=expected):
        spacekit.connect("file", path=path)
    result = CliRunner().invoke(main, ["sync", path, "memory"])
    assert result.exit_code == 2, result.output
    assert "unexpected" not in result.output and expected in result.output


@pytest.mark.memory_ceiling
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "dev-null"])
def test_a_manifest_must_be_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "spaces.toml"
    if kind == "fifo":
        os.mkfifo(path)  # opening it must not wait for a writer
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero" if kind == "dev-zero" else "/dev/null")
    with pytest.raises(ConfigError, match=r"is not a regular file|is a folder"):
        spacekit.connect("file", path=str(path))


def test_a_manifest_larger_than_the_limit_is_refused_from_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "spaces.toml", TOML)
    monkeypatch.setenv("SPACEKIT_MAX_FILE_BYTES", str(len(TOML) - 1))
    with pytest.raises(ConfigError, match=r"larger than \d+ bytes \(\$SPACEKIT_MAX_FILE_BYTES"):
        spacekit.connect("file", path=path)
    monkeypatch.setenv("SPACEKIT_MAX_FILE_BYTES", str(len(TOML)))
    assert len(list(spacekit.connect("file", path=path).list())) == 2
