"""Shell completion, through click's bash protocol (``_SPACEKIT_COMPLETE=bash_complete``):
store names, providers and manifest files wherever a store goes, providers to emulate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SPACEKIT = Path(sys.executable).parent / "spacekit"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding a config file with the store ``work``, two manifests and a note."""
    (tmp_path / "config.toml").write_text('[stores.work]\nprovider = "memory"\n')
    for name in ("spaces.toml", "team.jsonl", "notes.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "manifests").mkdir()
    return tmp_path


def complete(folder: Path, words: str) -> list[tuple[str, str]]:
    """What bash is offered for the last word of ``words``: (type, value) pairs."""
    env = {
        **os.environ,
        "_SPACEKIT_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        "SPACEKIT_CONFIG": str(folder / "config.toml"),
    }
    out = subprocess.run(
        [str(SPACEKIT)], env=env, cwd=folder, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return [(kind, value) for kind, _, value in (line.partition(",") for line in out.splitlines())]


def values(pairs: list[tuple[str, str]]) -> list[str]:
    return [value for kind, value in pairs if kind == "plain"]


@pytest.mark.parametrize("command", ["migrate", "verify", "sync"])
def test_a_store_position_offers_stores_providers_and_manifests(folder: Path, command: str) -> None:
    offered = values(complete(folder, f"spacekit {command} "))
    assert offered[0] == "work"
    assert {"memory", "local", "neuroio"} <= set(offered)
    assert {"spaces.toml", "team.jsonl"} <= set(offered) and "notes.txt" not in offered
    second = values(complete(folder, f"spacekit {command} spaces.toml w"))
    assert second == ["work"]


def test_a_path_is_left_to_the_shell_and_a_store_option_completes_alike(folder: Path) -> None:
    assert complete(folder, "spacekit sync manifests/") == [("file", "manifests/")]
    assert values(complete(folder, "spacekit spaces list --store sp")) == ["spaces.toml"]


def test_emulate_offers_the_providers_that_ship_an_emulator(folder: Path) -> None:
    offered = values(complete(folder, "spacekit emulate "))
    assert {"neuroio", "instabase", "datablist"} <= set(offered)
    assert not {"local", "memory", "file"} & set(offered)
