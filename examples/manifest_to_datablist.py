"""Apply a manifest of spaces to Datablist: Datablist ends up holding exactly the declared spaces.

    python examples/manifest_to_datablist.py [MANIFEST] [TARGET] [--apply]

MANIFEST is a TOML file of [[spaces]] tables (default "spaces.toml"; see
examples/spaces.toml), kept under version control; TARGET is a store name from your
config file (default "datablist"). Without --apply the plan is printed and nothing is
written; in CI, the exit code says whether Datablist drifted from the file (1) or
not (0). With --apply, missing workspaces are created and undeclared ones deleted;
the result is checked against the file by listing Datablist again.
"""

from __future__ import annotations

import sys

import spacekit


def main(argv: list[str]) -> int:
    apply = "--apply" in argv
    args = [arg for arg in argv[1:] if arg != "--apply"]
    manifest, target = [*args[:2], *["spaces.toml", "datablist"][len(args[:2]) :]]
    journal = f"{manifest}.journal" if apply else None
    report = spacekit.sync(manifest, target, apply=apply, delete=True, journal=journal)
    print(report.summary())
    for item in report.items:
        if item.action != "keep" or item.error:
            print(f"  {item.outcome if apply else item.action}: {item.label} {item.error or ''}".rstrip())
    if not apply:
        return 0 if report.in_sync else 1
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
