"""Shared helpers of the migration tests: fast emulator stores and the chaos harness."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import spacekit
from spacekit.testing import Emulator
from spacekit.testing._emulator import Dropped

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


class Interloper:
    """On the first create of ``name``: someone else creates a space of that name
    (``fields`` as the provider's payload), then our create's connection drops before
    it is handled (``commit=False``) or after (``commit=True``)."""

    def __init__(self, emu: Emulator, name: str, *, commit: bool = False, **fields: Any) -> None:
        self.emu, self.name, self.commit, self.fields = emu, name, commit, fields
        self.dispatch = emu.dispatch
        self.done = False
        self.made: str | None = None
        self.sent = 0  # creates of ``name`` sent

    def __call__(self, request: httpx.Request) -> httpx.Response:
        ours = request.method == "POST" and f'"{self.name}"'.encode() in request.content
        self.sent += ours
        if self.done or not ours:
            return self.dispatch(request)
        self.done = True
        if self.emu.provider == "datablist":
            self.made = self.emu.add_workspace(self.name, **self.fields)["@id"]  # type: ignore[attr-defined]
        else:
            self.made = str(self.emu.add_space(self.name)["id"])  # type: ignore[attr-defined]
        if self.commit:
            self.dispatch(request)
        raise Dropped


def plant(emu: Emulator, name: str, **kwargs: Any) -> Interloper:
    interloper = Interloper(emu, name, **kwargs)
    emu.dispatch = interloper  # type: ignore[method-assign]
    return interloper
