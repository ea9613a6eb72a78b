"""The sync examples run against emulators served on loopback, from a config file."""

from __future__ import annotations

import runpy
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from migrate_helpers import ROOT, emulator

import spacekit


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """NeuroIO and Datablist emulators on loopback, as stores of those names."""
    emulators = {name: emulator(name) for name in ("neuroio", "datablist")}
    config = tmp_path / "config.toml"
    with ExitStack() as stack:
        lines = []
        for name, emu in emulators.items():
            url = stack.enter_context(emu.serve())
            lines.append(f'[stores.{name}]\nprovider = "{name}"\nbackoff = 0.001')
            lines += [f'{key} = "{value}"' for key, value in emu.connect_settings(url).items()]
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o600)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(config))
        monkeypatch.chdir(tmp_path)
        yield emulators


def example(name: str) -> Any:
    return runpy.run_path(str(ROOT / "examples" / f"{name}.py"), run_name="example")["main"]


def mirrored(path: Path) -> dict[str, str]:
    with spacekit.connect("local", path=str(path)) as mirror:
        return {space.name: space.id for space in mirror.list()}


def test_nightly_mirror_follows_additions_renames_and_removals(
    served: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    neuroio = served["neuroio"]
    research, ops = neuroio.add_space("Research"), neuroio.add_space("Ops")
    main = example("neuroio_nightly_mirror")
    assert main(["x"]) == 0
    first = mirrored(tmp_path / "neuroio-mirror.db")
    assert sorted(first) == ["Ops", "Research", "default"]
    neuroio.spaces[research["id"]]["name"] = "Research Lab"  # renamed on NeuroIO
    del neuroio.spaces[ops["id"]]  # removed on NeuroIO
    neuroio.add_space("Sales")
    assert main(["x"]) == 0
    second = mirrored(tmp_path / "neuroio-mirror.db")
    assert sorted(second) == ["Research Lab", "Sales", "default"]
    assert second["Research Lab"] == first["Research"]  # renamed, not created again
    assert "name: 'Research' -> 'Research Lab'" in capsys.readouterr().out


def test_nightly_mirror_refuses_a_mass_deletion(served: dict[str, Any], tmp_path: Path) -> None:
    neuroio = served["neuroio"]
    made = [neuroio.add_space(f"s{i}") for i in range(11)]
    main = example("neuroio_nightly_mirror")
    assert main(["x"]) == 0
    for space in made[:5]:
        del neuroio.spaces[space["id"]]
    assert main(["x"]) == 2  # 5 of 12 is over 30 %: nothing written
    assert len(mirrored(tmp_path / "neuroio-mirror.db")) == 12
    assert main(["x", "--force"]) == 0
    assert len(mirrored(tmp_path / "neuroio-mirror.db")) == 7


def test_manifest_applied_to_datablist(served: dict[str, Any], tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "spaces.toml", tmp_path / "spaces.toml")
    datablist = served["datablist"]
    datablist.add_workspace("Operations")
    datablist.add_workspace("Undeclared")
    main = example("manifest_to_datablist")
    before = len(datablist.requests)
    assert main(["x"]) == 1  # drifted; the plan wrote nothing
    assert not any(
        r.method in ("POST", "PATCH", "DELETE") for r in datablist.requests[before:] if r.path != "/token"
    )
    assert main(["x", "--apply"]) == 0
    assert sorted(w["name"] for w in datablist.workspaces.values()) == ["Customers", "Operations", "Research"]
    assert main(["x"]) == 0  # in step with the file now
