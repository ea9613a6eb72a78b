"""The local store against raw sqlite3 doing the same selects: prints ratios, asserts nothing.

A local store (a SQLite file) is filled with 20,000 spaces. Then, in this process:

1. ``get``: ``store.get(id)`` for random ids, against raw sqlite3 running the same
   ``SELECT * FROM spaces WHERE id = ?`` and fetching the row (target: >= 0.5x);
2. ``list()``: every space through ``store.list()``, against raw sqlite3 fetching the
   same rows page by page (target: >= 0.33x);
3. concurrent writers: creates from 4 threads into one store, against creates from one
   thread (spaces per second; target: the 4 threads no slower than one).

A ratio is raw time / store time (1.0: as fast as raw sqlite3).

    .venv/bin/python bench/local_store.py [--spaces 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable

import spacekit

PAGE = 500


def best(run: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs, in seconds: the least disturbed by other work."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def fill(path: str, count: int) -> None:
    with spacekit.connect("local", path=path) as store:
        for i in range(count):
            store.create(f"space {i:06d}", description="a benchmark space" if i % 2 else None)


def measure_reads(path: str, count: int) -> None:
    ids = [str(random.randint(1, count)) for _ in range(5000)]
    raw = sqlite3.connect(path)
    with spacekit.connect("local", path=path) as store:

        def raw_get() -> None:
            for space_id in ids:
                raw.execute("SELECT * FROM spaces WHERE id = ?", [int(space_id)]).fetchone()

        def store_get() -> None:
            for space_id in ids:
                store.get(space_id)

        def raw_list() -> None:
            after = 0
            while True:
                rows = raw.execute(
                    f"SELECT * FROM spaces WHERE id > ? ORDER BY id LIMIT {PAGE}", [after]
                ).fetchall()
                if not rows:
                    return
                after = rows[-1][0]

        def store_list() -> None:
            for _ in store.list():
                pass

        raw_g, store_g = best(raw_get), best(store_get)
        print(
            f"get:    raw {raw_g / len(ids) * 1e6:6.1f} us, store {store_g / len(ids) * 1e6:6.1f} us"
            f" per space; ratio {raw_g / store_g:.2f} (target >= 0.5)"
        )
        raw_l, store_l = best(raw_list), best(store_list)
        print(
            f"list(): raw {raw_l / count * 1e6:6.2f} us, store {store_l / count * 1e6:6.2f} us"
            f" per space; ratio {raw_l / store_l:.2f} (target >= 0.33)"
        )
    raw.close()


def measure_writers(folder: str, per_thread: int) -> None:
    def rate(threads: int) -> float:
        path = os.path.join(folder, f"writers-{threads}.db")
        with spacekit.connect("local", path=path) as store:
            total = per_thread * 4

            def work(start: int, n: int) -> None:
                for i in range(start, start + n):
                    store.create(f"written {i}")

            share = total // threads
            workers = [threading.Thread(target=work, args=(t * share, share)) for t in range(threads)]
            started = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - started
            assert sum(1 for _ in store.list()) == total
        return total / elapsed

    one, four = rate(1), rate(4)
    print(
        f"writers: 1 thread {one:7.0f} creates/s, 4 threads {four:7.0f} creates/s;"
        f" ratio {four / one:.2f} (target >= 1.0)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=20_000)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "spaces.db")
        started = time.perf_counter()
        fill(path, args.spaces)
        print(f"{args.spaces} spaces created in {time.perf_counter() - started:.1f} s")
        measure_reads(path, args.spaces)
        measure_writers(folder, per_thread=1000)


if __name__ == "__main__":
    main()
