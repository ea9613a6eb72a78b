"""A seeded subset of the chaos suite (scripts/chaos.py runs the full 200 + 20 + 60)."""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate_helpers import emulator, load_script

chaos = load_script("scripts/chaos.py")


@pytest.fixture(autouse=True)
def _plugins() -> None:
    for provider in ("neuroio", "datablist", "instabase"):
        emulator(provider)  # skips unless every plugin is installed


@pytest.mark.parametrize("seed", range(1, 14))
def test_fault_schedule(seed: int, tmp_path: Path) -> None:
    outcome = chaos.run_schedule(seed, str(tmp_path))
    assert outcome.ok, outcome.line()


@pytest.mark.parametrize("seed", [10_001, 10_004])
def test_killed_and_resumed(seed: int, tmp_path: Path) -> None:
    outcome = chaos.run_kill_schedule(seed, str(tmp_path))
    assert outcome.ok, outcome.line()


@pytest.mark.parametrize("seed", range(40_000, 40_012))
def test_adversarial_schedule(seed: int, tmp_path: Path) -> None:
    """Two of each case: a lost create beside a name already there, a name extending
    another, a shifting listing, cycling pages, two runs at once, a dry run."""
    outcome = chaos.run_case(seed, str(tmp_path))
    assert outcome.ok, outcome.line()
