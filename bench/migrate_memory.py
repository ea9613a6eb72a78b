"""Memory of a migration: how much the resident set grows per migrated space.

Each size runs in a fresh interpreter: a ``memory`` store is filled with N spaces,
the resident set size (RSS) is read, then ``spacekit.migrate`` copies them into a
``local`` store (a SQLite file) with a journal, while a thread samples the RSS
every few milliseconds. Printed per size: the peak growth over the baseline and
that growth divided by N. The figure that matters is the slope between the two
sizes, (growth at 50,000 - growth at 10,000) / 40,000: what each further space
costs, the interpreter's fixed costs (threads, caches, imports) set aside. Target:
at most 300 bytes per space.

    .venv/bin/python bench/migrate_memory.py [--small 10000] [--large 50000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import spacekit

GOAL = 300  # bytes per space
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """The resident set size of this process, in bytes (Linux)."""
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * PAGE


class Sampler(threading.Thread):
    """Reads the RSS every 5 ms until stopped; keeps the peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self.done.set()
        self.join()
        return max(self.peak, rss())


def measure(count: int) -> dict[str, float]:
    """In this (fresh) process: migrate ``count`` spaces memory -> local."""
    source = spacekit.connect("memory")
    for i in range(count):
        source.create(f"benchmark space {i:06d}", f"about space {i}")
    with tempfile.TemporaryDirectory() as folder:
        target = spacekit.connect("local", path=os.path.join(folder, "target.db"))
        gc.collect()
        baseline = rss()
        sampler = Sampler()
        sampler.start()
        started = time.perf_counter()
        report = spacekit.migrate(source, target, journal=os.path.join(folder, "journal.db"))
        elapsed = time.perf_counter() - started
        peak = sampler.stop()
        assert report.ok and report.counts["created"] == count, report.summary()
        target.close()
    return {"count": count, "growth": peak - baseline, "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    figures = []
    for count in (args.small, args.large):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(count)], check=True, capture_output=True, text=True
        )
        figures.append(json.loads(out.stdout))
    print("memory -> local, with a journal, in a fresh interpreter per size")
    for fig in figures:
        print(
            f"  {fig['count']:>7,} spaces: RSS peak +{fig['growth'] / 2**20:6.1f} MiB "
            f"({fig['growth'] / fig['count']:5.0f} B per space), {fig['seconds']:.1f} s "
            f"({fig['count'] / fig['seconds']:,.0f} spaces/s)"
        )
    small, large = figures
    slope = (large["growth"] - small["growth"]) / (large["count"] - small["count"])
    verdict = "within" if slope <= GOAL else "OVER"
    print(f"growth per further space: {slope:.0f} B ({verdict} the goal of {GOAL} B)")


if __name__ == "__main__":
    main()
