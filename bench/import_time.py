"""Import time of ``spacekit`` against ``httpx`` (plugins must load lazily).

Runs ``python -c "import spacekit"`` and ``python -c "import httpx"`` alternately,
several times each, and prints the medians and their ratio (target: at most 1.5).
If spacekit is too slow, ``-X importtime`` shows which modules cost the time: the
script prints the slowest imports spacekit adds on top of httpx.

    .venv/bin/python bench/import_time.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _once(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


def _costs(module: str) -> dict[str, int]:
    """Cumulative microseconds per imported module, from ``-X importtime``."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    costs: dict[str, int] = {}
    for line in run.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.split("|", 2)
        costs[name.strip()] = int(cumulative)
    return costs


def main(runs: int = 15) -> None:
    _once("spacekit"), _once("httpx")  # warm the file system cache
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(_once("spacekit"))
        theirs.append(_once("httpx"))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"runs each:               {runs}")
    print(f"import spacekit median:  {a * 1000:7.1f} ms")
    print(f"import httpx median:     {b * 1000:7.1f} ms")
    print(f"ratio:                   {a / b:7.2f}  (target <= 1.5)")
    httpx_modules = set(_costs("httpx"))
    extra = {k: v for k, v in _costs("spacekit").items() if k not in httpx_modules}
    print("slowest imports spacekit adds (cumulative us):")
    for name, cost in sorted(extra.items(), key=lambda item: -item[1])[:12]:
        print(f"  {cost:8d}  {name}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
