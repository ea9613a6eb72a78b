"""Record the Datablist cassettes under cassettes/datablist/.

The scenarios and their checks live in tests/providers/datablist/
test_datablist_cassettes.py; this script runs them with pytest in record mode
"all". By default they run against a fresh Datablist emulator per test, seeded with
the docs' examples, behind the real default URLs (https://data.datablist.com and
https://account.datablist.com), so the cassettes show the real hosts and paths::

    .venv/bin/python scripts/record_datablist.py

With real credentials, ``--live`` records the real service instead: set
DATABLIST_API_KEY (and DATABLIST_BASE_URL / DATABLIST_AUTH_URL for other hosts).
The account needs the workspace create/delete privilege; ``test_crud`` creates,
renames and deletes one real workspace named "spacekit cassette workspace". The
tests that need the docs' seeded examples or a refused privilege are skipped live
and keep their emulator recordings.

Secrets are scrubbed by spacekit.testing.vcr_config() before anything is written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "providers" / "datablist" / "test_datablist_cassettes.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--live", action="store_true", help="record the real service (needs DATABLIST_API_KEY)"
    )
    parser.add_argument("-k", dest="select", help="record only the tests matching this pytest expression")
    args = parser.parse_args(argv)
    if args.live and not os.environ.get("DATABLIST_API_KEY"):
        parser.error("--live needs DATABLIST_API_KEY in the environment")
    env = {**os.environ, "DATABLIST_RECORD": "live" if args.live else "emulator"}
    command = [sys.executable, "-m", "pytest", str(TESTS), "--record-mode=rewrite", "-q"]
    if args.select:
        command += ["-k", args.select]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
