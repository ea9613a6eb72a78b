"""A seeded subset of the sync chaos schedules (scripts/chaos.py --sync 100 --sync-kills 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate_helpers import emulator, load_script

chaos = load_script("scripts/chaos.py")


@pytest.fixture(autouse=True)
def _plugins() -> None:
    for provider in ("neuroio", "datablist"):
        emulator(provider)  # skips unless the plugins are installed


@pytest.mark.parametrize("seed", range(20_001, 20_011))
def test_sync_fault_schedule(seed: int, tmp_path: Path) -> None:
    outcome = chaos.run_sync_schedule(seed, str(tmp_path))
    assert outcome.ok, outcome.line()


@pytest.mark.parametrize("seed", [30_003, 30_007])
def test_sync_killed_and_resumed(seed: int, tmp_path: Path) -> None:
    outcome = chaos.run_sync_kill_schedule(seed, str(tmp_path))
    assert outcome.ok, outcome.line()
