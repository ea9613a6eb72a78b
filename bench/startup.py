"""Start-up time of the command line: prints medians and ratios, asserts nothing.

Each command runs as a fresh process, alternating with the baseline so that both see
the same load on the machine; the medians are compared:

1. ``spacekit --help`` against ``python -c "import click"`` (target: <= 1.5x);
2. ``spacekit spaces list`` on the embedded local store, with 20 spaces, against the
   same baseline (target: <= 2.5x; attrs, platformdirs and sqlite3 alone cost about
   1.6x).

Both run with an empty home folder (a fresh local store, no config file). Where the
time goes: ``python -X importtime -m spacekit --help``. The script also prints the
modules each command imports that it should not need (httpx, rich, the migration and
sync machinery, the package metadata reader).

    .venv/bin/python bench/startup.py [runs]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

HEAVY = ("httpx", "rich", "spacekit._migrate", "spacekit._sync", "importlib.metadata")


def _time(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _heavy_imports(args: Sequence[str], env: dict[str, str]) -> str:
    """Which of ``HEAVY`` running the command line with ``args`` imports."""
    code = (
        "import json, sys\nfrom spacekit._cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        f"found = {{h for h in {HEAVY!r} for m in sys.modules if m == h or m.startswith(h + '.')}}\n"
        "print('HEAVY', json.dumps(sorted(found)), file=sys.stderr)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=env["HOME"], capture_output=True, text=True, check=True
    )
    line = [line for line in run.stderr.splitlines() if line.startswith("HEAVY ")][-1]
    return ", ".join(json.loads(line.removeprefix("HEAVY "))) or "none"


def main(runs: int = 21) -> None:
    home = tempfile.mkdtemp(prefix="spacekit-startup-")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SPACEKIT_"))}
    env = {**keep, "HOME": home, "NO_COLOR": "1"}
    spacekit = [sys.executable, "-m", "spacekit"]
    script = os.path.join(os.path.dirname(sys.executable), "spacekit")
    if os.path.exists(script):  # the installed command, as a user runs it
        spacekit = [script]
    for n in range(20):
        subprocess.run(
            [*spacekit, "spaces", "create", f"space-{n}"], env=env, check=True, capture_output=True
        )
    commands = {
        "spacekit --help": [*spacekit, "--help"],
        "spacekit spaces list (local)": [*spacekit, "spaces", "list"],
    }
    baseline = [sys.executable, "-c", "import click"]
    targets = {"spacekit --help": 1.5, "spacekit spaces list (local)": 2.5}
    print(f"runs each: {runs}; command: {' '.join(spacekit)}")
    for label, argv in commands.items():
        _time(argv, env), _time(baseline, env)  # warm the file system cache
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(_time(argv, env))
            theirs.append(_time(baseline, env))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{label}:")
        print(f"  median {a * 1000:6.1f} ms; python -c 'import click' {b * 1000:6.1f} ms")
        print(f"  ratio  {a / b:6.2f}  (target <= {targets[label]})")
        print(f"  heavy modules imported: {_heavy_imports(argv[len(spacekit) :], env)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
