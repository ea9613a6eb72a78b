"""Command-line output (spacekit._output): tables on a terminal, tab-separated lines in
pipes, progress bars only on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import spacekit
from spacekit import _output
from spacekit._cli import main

LONG_NAME = "a name long enough to wrap at eighty columns " * 4
DATABLIST_ID = "ABCDEFGHIJKLMNOPQRS"


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'default = "main"\n[stores.main]\nprovider = "local"\npath = "{tmp_path / "main.db"}"\n')
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    for variable in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(variable, raising=False)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def create(name: str, description: str | None = None) -> str:
    args = ["spaces", "create", name, "--json"] + (["-d", description] if description is not None else [])
    result = run(*args)
    assert result.exit_code == 0, result.output
    space_id: str = json.loads(result.stdout)["id"]
    return space_id


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout and stderr behave as a terminal of 80 columns."""
    monkeypatch.setattr(_output, "stdout_is_terminal", lambda: True)
    monkeypatch.setattr(_output, "stderr_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "80")


# -- off a terminal: one record per line ---------------------------------------------------


def test_a_piped_list_is_one_tab_separated_line_per_space_under_a_header() -> None:
    first = create(LONG_NAME, "a description as long as the name: " + "x" * 150)
    second = create("short")
    result = run("spaces", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "ID\tNAME\tKIND\tDESCRIPTION\tUPDATED"
    assert len(lines) == 3  # nothing wrapped, whatever the lengths
    rows = [line.split("\t") for line in lines[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (first, LONG_NAME, "workspace"),
        (second, "short", "workspace"),
    ]
    assert rows[0][3].endswith("x" * 150)
    assert rows[1][3] == ""  # no description: an empty field
    assert all(len(row) == 5 for row in rows)
    assert rows[0][4].endswith("Z") and " " in rows[0][4]  # the date whole, in one field
    assert "\x1b[" not in result.stdout


def test_a_listing_that_fails_before_its_first_row_prints_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refused() -> Iterator[tuple[str]]:
        raise spacekit.AuthenticationError("the token was refused")
        yield ("never",)

    with pytest.raises(spacekit.AuthenticationError):
        _output.table(("ID",), refused(), title="spaces")
    assert capsys.readouterr() == ("", "")
    _output.table(("ID",), iter([]), title="spaces")  # an empty listing that succeeded
    assert capsys.readouterr() == ("ID\n", "spaces:\n")


def test_separators_inside_values_are_escaped_so_a_record_stays_on_one_line() -> None:
    create("notes", "line one\nline two\tcolumn \\ backslash\r")
    lines = run("spaces", "list").stdout.splitlines()
    assert len(lines) == 2
    assert lines[1].split("\t")[3] == "line one\\nline two\\tcolumn \\\\ backslash\\r"


def test_a_piped_space_is_one_field_per_line() -> None:
    space_id = create("shown", "described")
    lines = run("spaces", "get", space_id).stdout.splitlines()
    assert lines[0] == "FIELD\tVALUE"
    fields = dict(line.split("\t", 1) for line in lines[1:])
    assert (fields["id"], fields["name"], fields["description"]) == (space_id, "shown", "described")
    assert fields["owner"] == ""


def test_piped_stores_keep_titles_off_stdout() -> None:
    result = run("stores")
    assert result.exit_code == 0
    assert "configured stores:" in result.stderr and "installed providers:" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "STORE\tPROVIDER\tCAPABILITIES"
    assert lines[1].startswith("main\tlocal\t")
    assert "PROVIDER\tSUMMARY\tCAPABILITIES" in lines
    assert all("\t" in line for line in lines)


def test_through_a_real_pipe_cut_and_grep_see_whole_records(tmp_path: Path) -> None:
    create(LONG_NAME)
    create("other")
    spacekit = Path(sys.executable).with_name("spacekit")
    command = f"'{spacekit}' spaces list | grep -F 'eighty columns' | cut -f2"
    out = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=os.environ, timeout=60, check=True
    ).stdout
    assert out == LONG_NAME + "\n"


def test_json_is_the_same_piped_or_not(terminal: None) -> None:
    space_id = create("json")
    on_terminal = run("spaces", "get", space_id, "--json").stdout
    assert "\x1b[" not in on_terminal
    assert json.loads(on_terminal)["name"] == "json"


# -- on a terminal: a table ------------------------------------------------------------------


def test_on_a_terminal_a_list_is_a_table_in_colour_unless_no_color(
    terminal: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    create("coloured")
    shown = run("spaces", "list").stdout
    assert "┃" in shown or "│" in shown
    assert "coloured" in shown and "\t" not in shown
    assert "\x1b[" in shown
    monkeypatch.setenv("NO_COLOR", "1")
    plain = run("spaces", "list").stdout
    assert "\x1b[" not in plain and "coloured" in plain


def test_on_a_terminal_markup_in_a_name_is_shown_as_is(terminal: None) -> None:
    space_id = create("[bold]x[/bold]")
    assert "[bold]x[/bold]" in run("spaces", "get", space_id).stdout


# -- progress --------------------------------------------------------------------------------


def test_import_shows_a_progress_bar_with_an_eta_on_a_terminal(terminal: None) -> None:
    lines = "".join(json.dumps({"name": f"s{i}"}) + "\n" for i in range(3))
    result = run("import", "-", input=lines)
    assert result.exit_code == 0, result.output
    assert "importing" in result.stderr and "3/3" in result.stderr and "ETA" in result.stderr


def test_export_shows_a_running_count_on_a_terminal_and_nothing_on_stdout_but_lines(terminal: None) -> None:
    for name in ("a", "b"):
        create(name)
    result = run("export")
    assert result.exit_code == 0
    assert "exporting" in result.stderr and "2 so far" in result.stderr
    assert [json.loads(line)["name"] for line in result.stdout.splitlines()] == ["a", "b"]


def test_no_progress_bar_off_a_terminal() -> None:
    result = run("import", "-", input=json.dumps({"name": "quiet"}) + "\n")
    assert result.exit_code == 0
    assert result.stderr == "imported 1 space(s) into the local store\n"


def test_a_reader_that_leaves_early_stops_the_output_quietly() -> None:
    lines = "".join(json.dumps({"name": f"space {i}", "description": "x" * 5000}) + "\n" for i in range(400))
    assert run("import", "-", input=lines).exit_code == 0
    spacekit = Path(sys.executable).with_name("spacekit")
    reader = f"'{sys.executable}' -c 'import sys; sys.stdin.buffer.read(10)'"  # reads 10 bytes, leaves
    codes = []
    for command in ("spaces list", "export", "spaces list --json"):
        script = f"'{spacekit}' {command} 2>err.txt | {reader}; echo ${{PIPESTATUS[0]}}; cat err.txt"
        out = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            env=os.environ,
            timeout=60,
            cwd=Path(os.environ["SPACEKIT_CONFIG"]).parent,
        ).stdout
        # 128 + SIGPIPE, like any Unix tool, or 0 when the pipe took everything before
        # the reader left; never an error message
        assert out in ("141\n", "0\n"), (command, out)
        codes.append(out)
    assert "141\n" in codes  # streamed output met the closed pipe


def test_a_broken_pipe_exits_141_without_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from spacekit._commands import _spaces

    def gone(*args: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(_spaces, "_show_spaces", gone)
    result = run("spaces", "list")
    assert (result.exit_code, result.stderr) == (141, "")
