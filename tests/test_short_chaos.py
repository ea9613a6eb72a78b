"""A seeded subset of the short listing schedules (scripts/chaos.py --short 60): a
NeuroIO side whose listings end early, for sync --delete and migrate, library and CLI."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from migrate_helpers import emulator, load_script

chaos = load_script("scripts/chaos.py")


#: one seed for each mode (sync, migrate), short side (source, target) and kind of
#: shortfall, among them both ways in (library, CLI); chosen by enumerating seeds
SEEDS = [50001, 50002, 50003, 50004, 50005, 50008, 50012, 50014, 50016, 50017]
SEEDS += [50018, 50022, 50024, 50025, 50026, 50032, 50034, 50038, 50040, 50047]


@pytest.mark.memory_ceiling
@pytest.mark.parametrize("seed", SEEDS)
def test_short_listing_schedule(seed: int, tmp_path: Path) -> None:
    emulator("neuroio")  # skips unless the plugin is installed
    outcome = chaos.run_short_schedule(seed, str(tmp_path))
    assert outcome.ok, outcome.line() + "\n  " + ", ".join(outcome.faults)


def test_the_seeds_cover_every_mode_side_kind_and_way_in() -> None:
    seen = set()
    for seed in SEEDS:
        rng = random.Random(seed)  # the schedule's first draws, in its order
        mode, via = rng.choice(["sync", "migrate"]), rng.choice(["library", "cli"])
        side, kind = rng.choice(["source", "target"]), rng.choice(chaos.SHORT_KINDS)
        seen |= {(mode, side, kind), via}
    kinds = {(m, s, k) for m in ("sync", "migrate") for s in ("source", "target") for k in chaos.SHORT_KINDS}
    assert seen == kinds | {"library", "cli"}
