"""Copy the spaces of whichever store is configured into a local backup file.

    SPACEKIT_STORE=work python examples/switch_by_config.py [BACKUP_FILE]

The code names no provider: ``spacekit.connect()`` opens the store that
``SPACEKIT_STORE`` names, else the ``default`` of the config file. Point it at
NeuroIO, Instabase or Datablist by changing configuration only.

The backup (a ``local`` store) goes to BACKUP_FILE, by default ``backup.db`` in
spacekit's user data directory (on Linux ``~/.local/share/spacekit``), never into
the current directory; the migration journal sits beside it, as
``BACKUP_FILE.journal``, so that an interrupted backup resumes where it stopped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

import spacekit


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else platformdirs.user_data_path("spacekit") / "backup.db"
    journal = path.with_name(path.name + ".journal")
    with spacekit.connect() as source, spacekit.connect("local", path=path) as backup:
        print(f"backing up {source.provider} ({len(source.capabilities)} capabilities) to {path}")
        report = spacekit.migrate(source, backup, journal=journal)
        print(report.summary())
        check = spacekit.verify(source, backup, journal=journal)
        print(check.summary())
    return 0 if report.ok and check.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
