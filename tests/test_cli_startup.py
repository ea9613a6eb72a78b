"""The command line starts fast: each command imports only what it uses.

``spacekit --help`` and ``spacekit spaces list`` on the embedded store import no HTTP
client, no rich, no migration or sync machinery and no package metadata reader; the
speed itself is measured by bench/startup.py, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest

from spacekit import _registry
from spacekit._cli import COMMANDS, main

HEAVY = (
    "httpx",
    "httpcore",
    "rich",
    "spacekit._migrate",
    "spacekit._sync",
    "spacekit._manifest",
    "importlib.metadata",
)


def imported(tmp_path: Path, *args: str) -> list[str]:
    """The modules of ``HEAVY`` loaded by running ``spacekit ARGS`` in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from spacekit._cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        f"loaded = sorted(m for m in sys.modules if m.startswith({HEAVY!r}))\n"
        "print('MODULES', json.dumps(loaded), file=sys.stderr)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACEKIT_", "XDG_"))}
    env |= {"HOME": str(tmp_path), "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    line = next(line for line in run.stderr.splitlines() if line.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES "))
    return modules


@pytest.mark.parametrize(
    "args",
    [("--help",), ("spaces", "list"), ("spaces", "list", "--json"), ("spaces", "--help"), ("nonsense",)],
)
def test_a_command_imports_only_what_it_uses(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert imported(tmp_path, *args) == []


def test_the_heavy_modules_are_seen_when_a_command_uses_them(tmp_path: Path) -> None:
    """The check above can fail: ``migrate --help`` loads the migration machinery."""
    assert "spacekit._migrate" in imported(tmp_path, "migrate", "--help")


def test_importing_the_command_line_registers_no_command_eagerly() -> None:
    """Every command is in ``COMMANDS``, loaded on use (the docs reference relies on it)."""
    code = "from spacekit._cli import main; print(sorted(main.commands))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_top_level_help_shows_each_command_own_short_help() -> None:
    ctx = click.Context(main)
    for name, (_, line) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=1000) == line, name


def test_the_built_in_providers_are_spacekit_own_entry_points() -> None:
    registered = {ep.name: ep.value for ep in entry_points(group=_registry.GROUP)}
    assert {name: registered.get(name) for name in _registry.BUILT_IN} == _registry.BUILT_IN


def test_a_mistyped_command_gets_the_closest_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["sotres"])
    assert result.exit_code == 2
    assert "No such command 'sotres'. Did you mean 'stores'?" in result.stderr
    result = CliRunner().invoke(main, ["spaces", "lst"])
    assert "No such command 'lst'. Did you mean 'list'?" in result.stderr
