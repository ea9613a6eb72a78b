"""Peak memory of listing 100,000 NeuroIO spaces against listing 1,000.

The emulator runs in a child process, served on loopback and seeded directly
(``add_space``, no POSTs), so only the client's memory is measured here, with
tracemalloc around the listing. The listing is one request (``/v1/lists/spaces/``)
whose answer is parsed one space at a time: the peak must stay within 30 MB of the
1,000-space peak.

    .venv/bin/python bench/neuroio_list_memory.py
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from typing import Any

import spacekit

LIMIT_MB = 30.0


def _serve(count: int) -> None:
    """Child process: seed an emulator with ``count`` spaces and serve it until stdin closes."""
    from spacekit_neuroio import plugin

    emulator: Any = plugin.emulator()  # the NeuroIO emulator: add_space, token
    for i in range(count - 1):
        emulator.add_space(f"benchmark space {i:06d}")
    with emulator.serve() as base_url:
        print(base_url, emulator.token, flush=True)
        sys.stdin.read()


def _measure(count: int) -> tuple[float, int, float]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(count)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    base_url, token = child.stdout.readline().split()
    try:
        with spacekit.connect("neuroio", token=token, base_url=base_url) as store:
            tracemalloc.start()
            started = time.perf_counter()
            seen = sum(1 for _ in store.list())
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    assert seen == count, (seen, count)
    return peak / 2**20, seen, elapsed


def main() -> None:
    small_mb, small_n, small_s = _measure(1_000)
    large_mb, large_n, large_s = _measure(100_000)
    print(f"listed {small_n:>7} spaces: peak {small_mb:6.2f} MB in {small_s:5.2f} s")
    print(f"listed {large_n:>7} spaces: peak {large_mb:6.2f} MB in {large_s:5.2f} s")
    print(
        f"difference: {large_mb - small_mb:.2f} MB (limit {LIMIT_MB:.0f} MB); ratio {large_mb / small_mb:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]))
    else:
        main()
