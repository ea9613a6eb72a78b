"""Copy every NeuroIO space to Datablist, safely re-runnable.

    python examples/neuroio_to_datablist.py [SOURCE] [TARGET] [JOURNAL]

SOURCE and TARGET are store names from your config file (default: "neuroio" and
"datablist"), or provider names with settings in the environment
(SPACEKIT_NEUROIO_TOKEN, SPACEKIT_DATABLIST_API_KEY). The journal makes the run
resumable: if it is interrupted, run the same command again; nothing is created twice.
A Datablist space with the same name as a NeuroIO one gets a free name ("Name (2)").
"""

from __future__ import annotations

import sys

import spacekit


def main(argv: list[str]) -> int:
    defaults = ["neuroio", "datablist", "neuroio-to-datablist.db"]
    source, target, journal = [*argv[1:4], *defaults[len(argv[1:4]) :]]
    report = spacekit.migrate(source, target, journal=journal, on_conflict="rename", concurrency=8)
    print(report.summary())
    for item in report.items:
        if item.target_name and item.target_name != item.source_name:
            print(f"  {item.source_name!r} is called {item.target_name!r} on {report.target.provider}")
    for item in report.failed:
        print(f"  failed: {item.source_name}: {item.error}", file=sys.stderr)
    check = spacekit.verify(source, target, journal=journal)
    print(check.summary())
    return 0 if report.ok and check.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
