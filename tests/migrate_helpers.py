"""Shared helpers of the migration tests: fast emulator stores and the chaos harness."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import spacekit
from spacekit.testing import Emulator

ROOT = Path(__file__).resolve().parents[1]
FAST = {"retries": 2, "backoff": 0.001, "deadline": 5.0}


def emulator(provider: str) -> Emulator:
    """A fresh emulator of an installed provider plugin (skips the test otherwise)."""
    from spacekit._registry import load

    try:
        made = load(provider).emulator()
    except spacekit.ConfigError as exc:
        pytest.skip(str(exc))
    assert made is not None
    return made


def fast_store(emu: Emulator, **overrides: Any) -> spacekit.SpaceStore:
    return emu.connect(**{**FAST, **overrides})


def mutating(emu: Emulator) -> list[str]:
    """The requests that could change something (token exchanges aside)."""
    return [f"{r.method} {r.path}" for r in emu.requests if r.method != "GET" and r.path != "/token"]


def configured_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> spacekit.SpaceStore:
    """A config file in use whose one store, ``work``, is a local store in ``tmp_path``; opened."""
    config = tmp_path / "config.toml"
    config.write_text(f'[stores.work]\nprovider = "local"\npath = "{tmp_path / "work.db"}"\n')
    config.chmod(0o600)
    monkeypatch.setenv("SPACEKIT_CONFIG", str(config))
    return spacekit.connect("local", path=str(tmp_path / "work.db"))


@contextlib.contextmanager
def configured(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``emu`` served on loopback as the one store of a config file in use; yields its name."""
    with emu.serve() as url:
        block = emu.config_block(url)
        (tmp_path / "emulator.toml").write_text(block.toml)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(tmp_path / "emulator.toml"))
        for variable, value in block.environment.items():
            monkeypatch.setenv(variable, value)
        yield block.store


def load_script(relative: str) -> ModuleType:
    """Import a script of the repository (scripts/chaos.py, bench/migrate.py) as a module."""
    path = ROOT / relative
    name = "_script_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
