"""Chaos suite for migrations: seeded fault schedules over pairs of providers.

Each schedule seeds a source with spaces (some selected by ``--select space-*``,
some not), injects faults on the emulators (5xx storms, 429 bursts, dropped
connections, connections dropped after the write was committed, a 5xx, 409 or 400
answered after the write was committed, malformed answers, latency), and
runs the migration with a journal, again and again as a user would, until a run
reports no failure. Kill schedules run the migration in a child process on
emulators served on loopback, SIGKILL it at a random point, and resume. Each
schedule must end with exactly one target space per selected source space
(names equal, no duplicates, nothing missing), the target's other spaces
untouched, and ``verify`` clean.

    .venv/bin/python scripts/chaos.py                 # 200 fault schedules + 20 kill schedules
    .venv/bin/python scripts/chaos.py --schedules 30 --kills 5 --seed 7

The test suite runs a seeded subset (tests/test_migrate_chaos.py).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import attrs

import spacekit
from spacekit.testing import Emulator

PAIRS = [
    ("neuroio", "datablist"),
    ("datablist", "neuroio"),
    ("instabase", "local"),
    ("neuroio", "local"),
    ("local", "neuroio"),
    ("local", "datablist"),
    ("instabase", "datablist"),
    ("datablist", "instabase"),
    ("neuroio", "neuroio"),
]
#: engine settings for every remote store: quick retries, so that storms outlast them
FAST = {"retries": 2, "backoff": 0.001, "deadline": 5.0, "timeout": 5.0}
SELECT = ["space-*"]
MAX_RUNS = 25
#: the create endpoints (Datablist's token exchange, also a POST, is left out)
CREATE_PATHS = r"^/(?!token)"


class Side:
    """One end of a migration: an emulator of a provider, or a local store file."""

    def __init__(self, provider: str, folder: str, role: str) -> None:
        self.provider = provider
        self.emulator: Emulator | None = None
        self.path = os.path.join(folder, f"{role}.db")
        self.base_url: str | None = None  # set while served on loopback
        if provider != "local":
            self.emulator = spacekit_plugin(provider).emulator()

    def settings(self) -> dict[str, Any]:
        """What ``spacekit.connect(self.provider, **settings)`` needs (in-process unless served)."""
        base_url = self.base_url
        if self.emulator is None:
            return {"path": self.path}
        if base_url is None:
            return {
                **self.emulator.connect_settings("http://localhost"),
                "transport": self.emulator.transport,
                **FAST,
            }
        return {**self.emulator.connect_settings(base_url), **FAST}

    def open(self) -> spacekit.SpaceStore:
        return spacekit.connect(self.provider, **self.settings())

    def names(self) -> list[str]:
        """Every name on this side, read without faults."""
        faults = self._suspend_faults()
        try:
            with self.open() as store:
                return [space.name for space in store.list()]
        finally:
            self._restore_faults(faults)

    def _suspend_faults(self) -> Any:
        if self.emulator is None:
            return None
        saved = self.emulator.faults
        self.emulator.faults = type(saved)()
        return saved

    def _restore_faults(self, saved: Any) -> None:
        if self.emulator is not None:
            self.emulator.faults = saved


def spacekit_plugin(provider: str) -> Any:
    from spacekit._registry import load  # the chaos script is part of the project: it may look inside

    return load(provider)


@attrs.define
class Outcome:
    seed: int
    pair: tuple[str, str]
    faults: list[str]
    runs: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "ok" if self.ok else "FAILED: " + "; ".join(self.problems)
        return f"seed {self.seed:4d} {self.pair[0]:>9} -> {self.pair[1]:<9} runs {self.runs:2d} {status}"


def seed_source(side: Side, rng: random.Random, seed: int) -> list[str]:
    """Put selected and unselected spaces on the source; return the selected names."""
    count = rng.randint(4, 24)
    selected = [f"space-{seed}-{i:03d}" for i in range(count)]
    with side.open() as store:
        keeps = "description" in store.writable_fields
        for i, name in enumerate(selected):
            store.create(name, f"about {name}" if keeps and i % 3 else None)
        for i in range(2):
            store.create(f"other-{seed}-{i}")
    return selected


def inject(side: Side, rng: random.Random, *, target: bool) -> list[str]:
    """A random fault schedule on an emulator; returns a description of it."""
    if side.emulator is None:
        return []
    faults, shown = side.emulator.faults, []
    faults.latency = rng.choice([0.0, 0.0, 0.001, 0.003])
    for _ in range(rng.randint(1, 5)):
        kinds = ["storm", "throttle", "drop", "malformed"]
        kind = rng.choice([*kinds, "commit-drop", "commit-error"] if target else kinds)
        method = rng.choice([None, "GET", "POST"] if target else [None, "GET"])
        times = rng.randint(1, 6)
        if kind == "storm":
            faults.fail(rng.choice([500, 502, 503, 504]), times, method=method)
        elif kind == "throttle":
            faults.throttle(times, retry_after="0", method=method)
        elif kind == "drop":
            faults.drop(times, method=method)
        elif kind == "malformed":  # not retried by the engine: a rare glitch, each costs a run
            times = min(times, 2)
            faults.malformed(times, method=method, truncate=rng.random() < 0.5)
        elif kind == "commit-drop":
            faults.drop(times, after_commit=True, method="POST", path=CREATE_PATHS)
        else:
            status = rng.choice([500, 502, 409, 400])
            faults.fail(status, times, method="POST", path=CREATE_PATHS, after_commit=True)
            kind, method = f"commit-{status}", "POST"
        shown.append(f"{side.provider}:{kind}x{times}{'/' + method if method else ''}")
    return shown


def check(source: Side, target: Side, selected: list[str], before: list[str], journal: str) -> list[str]:
    """The invariants every schedule must end with."""
    problems = []
    after = collections.Counter(target.names())
    expected = collections.Counter(before) + collections.Counter(n for n in selected if n not in before)
    if after != expected:
        extra = sorted((after - expected).elements())
        missing = sorted((expected - after).elements())
        problems.append(f"target differs: extra {extra[:5]} missing {missing[:5]}")
    if collections.Counter(source.names()) != collections.Counter(
        [*selected, *(n for n in source.names() if not n.startswith("space-"))]
    ):
        problems.append("the source changed")
    saved = (source._suspend_faults(), target._suspend_faults())
    try:
        with source.open() as src, target.open() as dst:
            report = spacekit_verify(src, dst, journal)
        if not report.ok:
            problems.append(f"verify: {report.summary()}")
    finally:
        source._restore_faults(saved[0])
        target._restore_faults(saved[1])
    return problems


def spacekit_verify(src: spacekit.SpaceStore, dst: spacekit.SpaceStore, journal: str) -> Any:
    from spacekit._migrate import verify

    return verify(src, dst, journal=journal)


def migrate_until_done(source: Side, target: Side, journal: str, rng: random.Random, runs: int = 0) -> int:
    """Run the same migration again until one run reports no failure; return the runs made."""
    from spacekit._migrate import migrate

    policy = rng.choice(["skip", "rename"])
    while runs < MAX_RUNS:
        runs += 1
        try:
            with source.open() as src, target.open() as dst:
                report = migrate(
                    src,
                    dst,
                    journal=journal,
                    select=SELECT,
                    on_conflict=policy,
                    concurrency=rng.randint(1, 8),
                )
        except spacekit.ProviderError:
            continue  # a listing failed for good: the user runs the same command again
        if report.ok:
            return runs
    return runs


def run_schedule(seed: int, folder: str) -> Outcome:
    rng = random.Random(seed)
    pair = PAIRS[seed % len(PAIRS)]
    source, target = Side(pair[0], folder, "source"), Side(pair[1], folder, "target")
    selected = seed_source(source, rng, seed)
    before = target.names()
    faults = inject(source, rng, target=False) + inject(target, rng, target=True)
    journal = os.path.join(folder, "journal.db")
    runs = migrate_until_done(source, target, journal, rng)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    return Outcome(seed, pair, faults, runs, problems + check(source, target, selected, before, journal))


@contextmanager
def served(*sides: Side) -> Iterator[None]:
    """Serve the sides' emulators on loopback; their stores use it meanwhile."""
    with ExitStack() as stack:
        for side in sides:
            if side.emulator is not None:
                side.base_url = stack.enter_context(side.emulator.serve())
        try:
            yield
        finally:
            for side in sides:
                side.base_url = None


def run_kill_schedule(seed: int, folder: str) -> Outcome:
    """Migrate in a child process, SIGKILL it at a random point, then resume here."""
    rng = random.Random(seed)
    pair = PAIRS[seed % len(PAIRS)]
    source, target = Side(pair[0], folder, "source"), Side(pair[1], folder, "target")
    selected = seed_source(source, rng, seed)
    before = target.names()
    journal = os.path.join(folder, "journal.db")
    with served(source, target):
        for side in (source, target):
            if side.emulator is not None:
                side.emulator.faults.latency = 0.01
        spec = {
            "source": [source.provider, source.settings()],
            "target": [target.provider, target.settings()],
            "journal": journal,
        }
        spec_path = os.path.join(folder, "child.json")
        with open(spec_path, "w") as file:
            json.dump(spec, file)
        child = subprocess.Popen([sys.executable, __file__, "--child", spec_path])
        time.sleep(rng.uniform(0.3, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        landed = len(set(target.names()) & set(selected))
        in_flight = _unresolved(journal)
        faults = inject(target, rng, target=True)
        runs = migrate_until_done(source, target, journal, rng, runs=1)
        checked = check(source, target, selected, before, journal)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    label = [f"SIGKILL: {landed}/{len(selected)} created, {in_flight} write(s) in flight", *faults]
    return Outcome(seed, pair, label, runs, problems + checked)


def _unresolved(journal: str) -> int:
    """Journal rows whose write was sent but not answered when the child was killed."""
    if not os.path.exists(journal):
        return 0
    with contextlib.closing(sqlite3.connect(journal)) as db:
        return int(db.execute("SELECT count(*) FROM items WHERE state IN ('sent', 'unknown')").fetchone()[0])


def child(spec_path: str) -> None:
    from spacekit._migrate import migrate

    with open(spec_path) as file:
        spec = json.load(file)
    with (
        spacekit.connect(spec["source"][0], **spec["source"][1]) as src,
        spacekit.connect(spec["target"][0], **spec["target"][1]) as dst,
    ):
        migrate(src, dst, journal=spec["journal"], select=SELECT, concurrency=2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="the first seed")
    parser.add_argument("--verbose", "-v", action="store_true", help="print each schedule's faults")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    started, outcomes = time.monotonic(), []
    jobs = [(run_schedule, args.seed + i) for i in range(args.schedules)]
    jobs += [(run_kill_schedule, args.seed + 10_000 + i) for i in range(args.kills)]
    for job, seed in jobs:
        with tempfile.TemporaryDirectory() as folder:
            outcome = job(seed, folder)
        outcomes.append(outcome)
        print(outcome.line(), *(["  " + ", ".join(outcome.faults)] if args.verbose else []), flush=True)
    bad = [o for o in outcomes if not o.ok]
    runs = collections.Counter(o.runs for o in outcomes)
    print(
        f"\n{len(outcomes)} schedules in {time.monotonic() - started:.1f} s; runs needed: {dict(sorted(runs.items()))}"
    )
    print(f"{len(bad)} schedule(s) broke an invariant" if bad else "every invariant held")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
