"""Sync benchmark: prints figures and ratios, asserts nothing about time.

A local source of N spaces is synced into a NeuroIO emulator served on loopback with
20 ms latency on every request (concurrency 16), and compared with two baselines
measured in the same process:

1. applying: ``sync(apply=True)`` into an empty target against ``migrate`` (both
   journaled) of the
   same spaces into another empty target, after a warm-up run of each (sync also
   lists the target a second time to check the result);
2. a sync with nothing to do (journal present) against listing the two stores alone;
3. a sync that renames a tenth of the spaces and deletes another tenth, against the
   same writes sent by a hand-written loop over the store (sequential).

    .venv/bin/python bench/sync.py [--spaces 500]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import spacekit

LATENCY = 0.020
CONCURRENCY = 16


def emulator() -> Any:
    from spacekit._registry import load  # the bench is part of the project: it may look inside

    return load("neuroio").emulator()


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=500)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    source = spacekit.connect("local", path=os.path.join(folder, "source.db"))
    for i in range(args.spaces):
        source.create(f"space-{i:05d}")
    fast = {"retries": 2, "backoff": 0.001}
    warm = emulator()  # the first run in a process pays for imports and connections: not measured
    with warm.serve() as url, spacekit.connect("memory") as few:
        for i in range(20):
            few.create(f"warm-{i}")
        store = spacekit.connect("neuroio", **warm.connect_settings(url), **fast)
        spacekit.sync(few, store, apply=True, concurrency=CONCURRENCY)
        spacekit.migrate(few, store, concurrency=CONCURRENCY)
    synced, migrated = emulator(), emulator()
    with synced.serve() as sync_url, migrated.serve() as migrate_url:
        synced.faults.latency = migrated.faults.latency = LATENCY
        target = spacekit.connect("neuroio", **synced.connect_settings(sync_url), **fast)
        other = spacekit.connect("neuroio", **migrated.connect_settings(migrate_url), **fast)
        journal = os.path.join(folder, "sync.db")

        def apply() -> Any:
            return spacekit.sync(source, target, apply=True, journal=journal, concurrency=CONCURRENCY)

        sync_time, report = timed(apply)
        migrated_journal = os.path.join(folder, "migrate.db")
        migrate_time, _ = timed(
            lambda: spacekit.migrate(source, other, concurrency=CONCURRENCY, journal=migrated_journal)
        )
        assert report.ok
        print(
            f"1. apply {args.spaces} creates: sync {sync_time:.2f} s, migrate {migrate_time:.2f} s, "
            f"ratio {sync_time / migrate_time:.2f}"
        )

        noop_time, report = timed(lambda: spacekit.sync(source, target, journal=journal, delete=True))
        list_time, _ = timed(lambda: (list(source.list()), list(target.list())))
        assert report.in_sync
        print(
            f"2. nothing to do: sync {noop_time:.2f} s, two listings {list_time:.2f} s, "
            f"ratio {noop_time / list_time:.2f}"
        )

        spaces = list(source.list())
        tenth = max(1, args.spaces // 10)
        for space in spaces[:tenth]:
            source.update(space.id, name=space.name + "-renamed")
        for space in spaces[tenth : 2 * tenth]:
            source.delete(space.id)
        changes_time, report = timed(
            lambda: spacekit.sync(
                source, target, apply=True, delete=True, force=True, journal=journal, concurrency=CONCURRENCY
            )
        )
        assert report.ok and report.counts["updated"] == tenth and report.counts["deleted"] == tenth
        by_name = {s.name: s.id for s in other.list()}

        def by_hand() -> None:  # the same writes, sent one after another
            for space in spaces[:tenth]:
                other.update(by_name[space.name], name=space.name + "-renamed")
            for space in spaces[tenth : 2 * tenth]:
                other.delete(by_name[space.name])

        hand_time, _ = timed(by_hand)
        print(
            f"3. {tenth} renames + {tenth} deletes: sync {changes_time:.2f} s, sequential writes "
            f"{hand_time:.2f} s, ratio {changes_time / hand_time:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
