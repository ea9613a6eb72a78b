"""Back up every Instabase space into a local SQLite file, with all its fields.

    python examples/instabase_backup_to_local.py [SOURCE] [BACKUP_FILE]

SOURCE is a store name from your config file (default "instabase"). The local
store keeps what Instabase gives (description, kind, admins, repos as subspaces,
photo URL). Run it as often as you like: a space already in the backup is
updated (matched by name), a new one is added, nothing is ever deleted.
"""

from __future__ import annotations

import sys

import spacekit


def main(argv: list[str]) -> int:
    source = argv[1] if len(argv) > 1 else "instabase"
    path = argv[2] if len(argv) > 2 else "instabase-backup.db"
    with spacekit.connect("local", path=path) as backup:
        report = spacekit.migrate(source, backup, on_conflict="update")
        print(report.summary())
        for item in report.items:
            if item.lost:
                print(f"  {item.source_name}: not kept: {', '.join(item.lost)}")
        check = spacekit.verify(source, backup)
        print(check.summary())
    return 0 if report.ok and check.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
