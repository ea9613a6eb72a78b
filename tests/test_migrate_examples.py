"""Each script in examples/ runs against emulators served on loopback, from a config file."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from migrate_helpers import ROOT, emulator

import spacekit
from spacekit import _migrate


@pytest.fixture(autouse=True)
def _exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples call spacekit.migrate/verify (exported by the core package)."""
    for name in ("migrate", "verify"):
        if not hasattr(spacekit, name):
            monkeypatch.setattr(spacekit, name, getattr(_migrate, name), raising=False)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """NeuroIO, Datablist and Instabase emulators on loopback, as stores of those names."""
    emulators = {name: emulator(name) for name in ("neuroio", "datablist", "instabase")}
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


def test_neuroio_to_datablist(served: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Research", "Ops"):
        served["neuroio"].add_space(name)
    served["datablist"].add_workspace("Ops")
    served["datablist"].faults.drop(1, after_commit=True, method="POST", path=r"^/$")
    main = example("neuroio_to_datablist")
    assert main(["x"]) == 0
    assert main(["x"]) == 0  # re-run: nothing written twice
    names = sorted(w["name"] for w in served["datablist"].workspaces.values())
    assert names == ["Ops", "Ops (2)", "Research", "default"]
    assert "'Ops' is called 'Ops (2)'" in capsys.readouterr().out


def test_instabase_backup_to_local(served: dict[str, Any], tmp_path: Path) -> None:
    main = example("instabase_backup_to_local")
    assert main(["x", "instabase", str(tmp_path / "backup.db")]) == 0
    assert main(["x", "instabase", str(tmp_path / "backup.db")]) == 0
    with spacekit.connect("local", path=str(tmp_path / "backup.db")) as backup:
        spaces = {s.name: s for s in backup.list()}
    assert sorted(spaces) == ["Alice's Space", "Engineering Organization"]
    alice = spaces["Alice's Space"]
    assert alice.kind is spacekit.SpaceKind.USER and alice.description == "Alice's private user space"
    assert [s.name for s in alice.subspaces] == ["repo1", "repo2"]


@pytest.mark.parametrize("store", ["neuroio", "datablist", "instabase"])
def test_switch_by_config(
    served: dict[str, Any],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SPACEKIT_STORE", store)
    assert example("switch_by_config")(["x", str(tmp_path / "backup.db")]) == 0
    assert f"backing up {store}" in capsys.readouterr().out


def test_switch_by_config_writes_nothing_into_the_current_directory(
    served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPACEKIT_STORE", "neuroio")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert example("switch_by_config")(["x"]) == 0
    assert list(work.iterdir()) == []
    assert (tmp_path / "data" / "spacekit" / "backup.db").is_file()
    assert (tmp_path / "data" / "spacekit" / "backup.db.journal").is_file()
