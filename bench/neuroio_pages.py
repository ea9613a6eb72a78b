"""Wall time of a 1,000-space NeuroIO search (``q``, ten pages of 100) at 20 ms latency:
pages read one at a time against pages fetched ahead.

The emulator is served on loopback with 20 ms added to every answer. Pages that tell
their ``count`` (the emulator's envelope) are fetched ahead in batches; the same
pages without it (``next`` links only) are read one at a time. Both listings make
the same ten requests. Prints the median of a few runs of each, and their ratio.

    .venv/bin/python bench/neuroio_pages.py [spaces] [latency_ms]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from spacekit_neuroio import plugin

import spacekit

RUNS = 5


def _emulator(count: int, *, with_count: bool) -> Any:
    emulator: Any = plugin.emulator()
    if not with_count:

        class NextOnly(type(emulator)):  # type: ignore[misc]
            """Pages with ``next`` links and no count: read one at a time."""

            def page_body(self, *args: Any) -> Any:
                body = super().page_body(*args)
                del body["count"]
                return body

        emulator = NextOnly()
    for number in range(count):
        emulator.add_space(f"bench space {number:05d}")
    return emulator


def _time(count: int, latency: float, *, with_count: bool) -> float:
    emulator = _emulator(count, with_count=with_count)
    emulator.faults.latency = latency
    with (
        emulator.serve() as base_url,
        spacekit.connect("neuroio", **emulator.connect_settings(base_url)) as store,
    ):
        assert sum(1 for _ in store.list(query="bench")) == count  # warm up the connection
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            listed = sum(1 for _ in store.list(query="bench"))
            times.append(time.perf_counter() - started)
            assert listed == count
    return statistics.median(times)


def main(count: int = 1000, latency_ms: float = 20.0) -> None:
    latency = latency_ms / 1000
    in_turn = _time(count, latency, with_count=False)
    ahead = _time(count, latency, with_count=True)
    pages = -(-count // 100)
    print(f"spaces listed (q):        {count} in {pages} pages, {latency_ms:g} ms latency each")
    print(f"pages one at a time:      {in_turn * 1000:8.1f} ms (median of {RUNS})")
    print(f"pages fetched ahead:      {ahead * 1000:8.1f} ms (median of {RUNS})")
    print(f"ratio:                    {in_turn / ahead:8.2f}x")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
        float(sys.argv[2]) if len(sys.argv) > 2 else 20.0,
    )
