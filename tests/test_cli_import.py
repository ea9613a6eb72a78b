"""``spacekit import``: what a line may hold, every problem reported, hostile files refused
whole (exit 2, nothing imported)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_process import run_cli
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migrate_helpers import configured

import spacekit
from spacekit._cli import main


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'default = "main"\n[stores.main]\nprovider = "local"\npath = "{tmp_path / "main.db"}"\n')
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))


def run_import(data: bytes | str) -> Result:
    return CliRunner().invoke(main, ["import", "-"], input=data)


def names() -> list[str]:
    with spacekit.connect() as store:
        return sorted(space.name for space in store.list())


def bad_lines(result: Result) -> dict[int, str]:
    """The bad lines an import listed, by number."""
    listed = {}
    for line in result.stderr.splitlines():
        head, _, problem = line.strip().partition(": ")
        if head.startswith("line ") and head[5:].isdigit():
            listed[int(head[5:])] = problem
    return listed


def test_a_line_needs_only_a_name() -> None:
    result = run_import(
        '{"name": "a"}\n{"name": "b", "description": "with one"}\n{"name": "c", "description": null}\n'
    )
    assert result.exit_code == 0, result.output
    with spacekit.connect() as store:
        assert sorted((s.name, s.description) for s in store.list()) == [
            ("a", None),
            ("b", "with one"),
            ("c", None),
        ]


def test_an_exported_line_is_accepted_and_only_name_and_description_kept(tmp_path: Path) -> None:
    exported = spacekit.Space("neuroio", "77", "from elsewhere", description="kept").to_dict()
    result = run_import(json.dumps(exported) + "\n")
    assert result.exit_code == 0, result.output
    with spacekit.connect() as store:
        (space,) = store.list()
    assert (space.provider, space.name, space.description) == ("local", "from elsewhere", "kept")
    assert space.id != "77"


def test_every_problem_of_every_bad_line_is_reported() -> None:
    lines = [
        '{"name": "good"}',
        '{"nmae": "typo", "description": 5}',
        '{"name": "  ", "descripton": "x"}',
        '{"name": 3}',
        "[1, 2]",
        '{"name": "a\\u0000b"}',
    ]
    result = run_import("\n".join(lines) + "\n")
    assert result.exit_code == 2
    assert "nothing imported, 5 bad line(s)" in result.stderr
    listed = bad_lines(result)
    assert sorted(listed) == [2, 3, 4, 5, 6]
    assert "unknown field(s) 'nmae'" in listed[2]
    assert 'no "name"' in listed[2]
    assert "description must be a string" in listed[2]
    assert "blank" in listed[3] and "'descripton'" in listed[3]
    assert "name must be a string" in listed[4]
    assert "not a JSON object but an array" in listed[5]
    assert "control character" in listed[6]
    assert names() == []


HOSTILE = {
    "not UTF-8": '{"name": "caf\xe9"}\n'.encode("latin-1"),
    "nested too deep": b'{"name": "deep", "raw": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "a 5,000-digit integer": b'{"name": "big", "raw": {"n": ' + b"9" * 5000 + b"}}\n",
    "a float out of range": b'{"name": "inf", "raw": {"n": 1e999}}\n',
    "NaN": b'{"name": "nan", "raw": {"n": NaN}}\n',
    "a line over 1 MiB": b'{"name": "' + b"x" * (2**20 + 10) + b'"}\n',
    "binary": bytes(range(256)) * 64,
    "NUL bytes": b"\x00" * 100 + b"\n",
    "UTF-16": '{"name": "wide"}\n'.encode("utf-16"),
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_exits_2_lists_its_bad_lines_and_imports_nothing(content: bytes) -> None:
    good = b'{"name": "good before"}\n'
    result = run_import(good + content + b"\n" + good)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: -: nothing imported")
    listed = bad_lines(result)
    assert listed and 1 not in listed  # the good first line is not blamed
    assert "Traceback" not in result.output
    assert names() == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (HOSTILE["not UTF-8"], "not UTF-8 text (byte 14 is 0xe9)"),
        (HOSTILE["nested too deep"], "nested too deep"),
        (HOSTILE["a 5,000-digit integer"], "(5000 digits) is out of range"),
        (HOSTILE["a float out of range"], "1e999 is out of range"),
        (HOSTILE["NaN"], "NaN is not a JSON number"),
        (HOSTILE["a line over 1 MiB"], "longer than 1 MiB"),
    ],
    ids=["utf8", "deep", "digits", "float", "nan", "long"],
)
def test_each_hostile_line_says_what_is_wrong(content: bytes, words: str) -> None:
    assert words in bad_lines(run_import(content))[1]


def test_a_long_line_is_skipped_and_the_lines_after_it_still_read() -> None:
    result = run_import(HOSTILE["a line over 1 MiB"] + b"{not json\n")
    assert sorted(bad_lines(result)) == [1, 2]


def test_a_byte_order_mark_is_accepted() -> None:
    result = run_import('\ufeff{"name": "bom"}\n'.encode())
    assert result.exit_code == 0, result.output
    assert names() == ["bom"]


def test_many_bad_lines_list_twenty_and_count_the_rest() -> None:
    result = run_import("{\n" * 50)
    assert result.exit_code == 2
    assert "50 bad line(s)" in result.stderr
    assert sorted(bad_lines(result)) == list(range(1, 21))
    assert "and 30 more" in result.stderr


def test_a_file_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_bytes_either_import_or_exit_2_with_nothing_imported(content: bytes) -> None:
    before = names()
    result = run_import(content)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert names() == before


def test_a_description_the_store_cannot_keep_is_reported_once_not_per_space(
    spacekit_emulator: Callable[[str], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = spacekit_emulator("neuroio")
    with configured(emulator, tmp_path, monkeypatch) as store:
        lines = "".join(json.dumps({"name": f"n{i}", "description": "kept?"}) + "\n" for i in range(3))
        result = CliRunner().invoke(main, ["import", "-", "--store", store], input=lines)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "Warning" in line]
    assert warned == ["Warning: the neuroio store keeps no description: it was left out (3 space(s))"]


# -- what the file may be: a regular file or standard input, read with a bound ----------


@pytest.fixture
def process_env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(f'default = "main"\n[stores.main]\nprovider = "local"\npath = "{tmp_path / "main.db"}"\n')
    return {"SPACEKIT_CONFIG": str(path)}


@pytest.mark.parametrize("kind", ["dev-zero", "link-to-dev-zero", "fifo", "folder"])
def test_import_refuses_anything_but_a_regular_file_before_reading(
    tmp_path: Path, process_env: dict[str, str], kind: str
) -> None:
    path = {"dev-zero": Path("/dev/zero"), "folder": tmp_path}.get(kind, tmp_path / "input.jsonl")
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it must not wait for one
    elif kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    result = run_cli("import", str(path), env=process_env)
    assert result.returncode == 2, result.stderr
    assert re.search(rb"is not a regular file|is a folder", result.stderr)
    assert names() == []


def test_import_of_an_endless_stdin_ends_at_the_file_limit(process_env: dict[str, str]) -> None:
    with open("/dev/zero", "rb") as zero:
        result = run_cli("import", "-", stdin=zero, env={**process_env, "SPACEKIT_MAX_FILE_BYTES": "4000000"})
    assert result.returncode == 2, result.stderr
    assert b"standard input is larger than 4000000 bytes" in result.stderr
    assert names() == []


def test_a_file_over_the_limit_is_refused_from_its_size(tmp_path: Path, process_env: dict[str, str]) -> None:
    path = tmp_path / "sparse.jsonl"
    with open(path, "wb") as file:
        file.truncate(2**31)  # 2 GiB of nothing: reading it would break the ceiling
    result = run_cli("import", str(path), env=process_env)
    assert result.returncode == 2, result.stderr
    assert b"is larger than 67108864 bytes ($SPACEKIT_MAX_FILE_BYTES" in result.stderr


def test_an_export_of_2000_spaces_and_1_mb_imports(tmp_path: Path) -> None:
    lines = [
        json.dumps(spacekit.Space("local", str(n), f"space {n}", description="d" * 480).to_dict())
        for n in range(2000)
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 10**6
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert len(names()) == 2000
