"""Re-record the NeuroIO cassettes under cassettes/neuroio/.

    .venv/bin/python scripts/record_neuroio.py            # against the emulator, in-process
    NEUROIO_TOKEN=... .venv/bin/python scripts/record_neuroio.py   # against the live API

Either way the store talks to https://iam.neuroio.com: with the emulator, its
in-process transport answers beneath vcrpy, so the cassettes show the real host.
Against the live API the tests create, rename, tokenize and delete a space named
``spacekit-cassette`` (and ``spacekit-cassette-async``) in the token's account.
Secrets are scrubbed before anything is written (spacekit.testing.vcr_config).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = "tests/providers/neuroio/test_neuroio_cassettes.py"


def main() -> int:
    for old in (ROOT / "cassettes" / "neuroio").glob("*.yaml"):
        old.unlink()
    command = [sys.executable, "-m", "pytest", "-q", TESTS, "--record-mode=once", *sys.argv[1:]]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
