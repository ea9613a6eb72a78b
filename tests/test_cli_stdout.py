"""The command line when stdout cannot take its output: closed, full, or a reader that left.

Never "done": a closed stdout is refused before anything is done (exit 74), a write
error is a clean error (exit 74), and a reader that left is exit 141, the SIGPIPE
convention. Each case runs the command line in a child process under a memory ceiling.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import run_cli

import spacekit
from spacekit import _output

BROKEN_PIPE, OUTPUT = 141, 74


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(f'default = "main"\n[stores.main]\nprovider = "local"\npath = "{tmp_path / "main.db"}"\n')
    os.environ["SPACEKIT_CONFIG"] = str(path)  # for the test's own look at the store
    with spacekit.connect() as store:
        for n in range(50):
            store.create(f"space {n}")
    return {"SPACEKIT_CONFIG": str(path)}


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACEKIT_CONFIG", raising=False)


COMMANDS = [
    ["export"],
    ["spaces", "list"],
    ["spaces", "list", "--json"],
    ["spaces", "get", "1", "--json"],
    ["spaces", "create", "new one"],
    ["stores"],
    ["--help"],
    ["--version"],
]


def count() -> int:
    with spacekit.connect() as store:
        return len(list(store.list()))


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_with_stdout_closed_every_command_fails_and_does_nothing(
    env: dict[str, str], args: list[str]
) -> None:
    result = run_cli(*args, env=env, shell_prefix="exec >&-;")
    assert result.returncode == OUTPUT, result.stderr
    assert b"standard output is closed; nothing was done" in result.stderr
    assert b"exported" not in result.stderr and b"Traceback" not in result.stderr
    assert count() == 50


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_full_stdout_is_a_clean_error_not_a_success(env: dict[str, str], args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        result = run_cli(*args, env=env, stdout=full)
    assert result.returncode == OUTPUT, result.stderr
    assert b"Error: the output could not be written (No space left on device)" in result.stderr
    assert b"exported" not in result.stderr and b"unexpected" not in result.stderr
    assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr


@pytest.mark.parametrize("args", COMMANDS[:4] + COMMANDS[-2:], ids=" ".join)
def test_a_reader_gone_before_the_output_is_exit_141(env: dict[str, str], args: list[str]) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # the reader left at once: the first write fails
    try:
        result = run_cli(*args, env=env, stdout=writer)
    finally:
        os.close(writer)
    assert result.returncode == BROKEN_PIPE, result.stderr
    assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr
    assert b"exported" not in result.stderr


def test_json_into_head_c1_is_exit_141(env: dict[str, str]) -> None:
    command = f"{sys.executable} -m spacekit spaces list --json | head -c1; exit ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", command], env={**os.environ, **env}, capture_output=True, timeout=120, check=False
    )
    assert result.returncode in (BROKEN_PIPE, 0), result.stderr  # 0: the writer was done before head left
    assert b"Traceback" not in result.stderr


# -- _output.finish: a reader that left with output unread ------------------------------


@contextlib.contextmanager
def piped_stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """stdout on a pipe, in the test's body (pytest's capture resets it between phases);
    yields the pipe's read end."""
    reader, writer = os.pipe()
    with open(writer, "w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        try:
            yield reader
        finally:
            monkeypatch.undo()
            with contextlib.suppress(OSError):
                os.close(reader)


def test_finish_is_quiet_while_the_reader_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    with piped_stdout(monkeypatch):
        sys.stdout.write("spaces\n")
        _output.finish()


def test_finish_is_quiet_when_the_reader_read_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    with piped_stdout(monkeypatch) as reader:
        sys.stdout.write("spaces\n")
        sys.stdout.flush()
        assert os.read(reader, 100) == b"spaces\n"
        os.close(reader)
        _output.finish()


def test_finish_is_a_broken_pipe_when_the_reader_left_output_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    with piped_stdout(monkeypatch) as reader:
        sys.stdout.write("spaces\n")
        sys.stdout.flush()
        assert os.read(reader, 1) == b"s"
        os.close(reader)
        with pytest.raises(BrokenPipeError):
            _output.finish()
