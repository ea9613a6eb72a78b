"""Mirror NeuroIO into a local SQLite file, every night: the file holds exactly what NeuroIO holds.

    python examples/neuroio_nightly_mirror.py [SOURCE] [MIRROR_FILE] [JOURNAL]

SOURCE is a store name from your config file (default "neuroio"). Run it from cron
or a CI schedule. Spaces created on NeuroIO are added, renamed ones are renamed (the
journal remembers which local space mirrors which NeuroIO space), and spaces gone
from NeuroIO are deleted from the mirror. A run that would update or delete more than
30 % of the mirror (NeuroIO answering an empty list by mistake, say) is refused
before anything is written: look at the plan, then run with --force if it is right.
If a run is interrupted, the next one resumes from the journal.
"""

from __future__ import annotations

import sys

import spacekit


def main(argv: list[str]) -> int:
    force = "--force" in argv
    args = [arg for arg in argv[1:] if arg != "--force"]
    defaults = ["neuroio", "neuroio-mirror.db", "neuroio-mirror.journal"]
    source, path, journal = [*args[:3], *defaults[len(args[:3]) :]]
    with spacekit.connect("local", path=path) as mirror:
        try:
            report = spacekit.sync(source, mirror, apply=True, delete=True, force=force, journal=journal)
        except spacekit.TooManyChanges as refused:
            print(refused.report.summary())
            print(f"refused: {refused}", file=sys.stderr)
            return 2
    print(report.summary())
    for item in report.items:
        if item.changes:
            print(f"  {item.action}: {item.label}: " + "; ".join(str(c) for c in item.changes))
    for item in report.failed:
        print(f"  failed: {item.label}: {item.error}", file=sys.stderr)
    for mismatch in report.mismatches:
        print(f"  still different: {mismatch}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
