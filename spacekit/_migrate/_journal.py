"""The migration journal: a SQLite file recording every write before it is sent and
after it is answered, so that an interrupted run resumes without duplicates.

One row per source space holds the action, the intended target name and
description, the target id once known, and a state:

- ``sent``: recorded just before the write left; if a run stops here the outcome is
  unknown, and the next run looks the space up on the target before writing again;
- ``unknown``: the write was answered by a dropped connection (``maybe_applied``);
- ``done``, ``failed``, ``skipped``, ``excluded``: answered, or decided without a write.

The file also holds the identities of source and target (provider, location, store
name; never a secret) and refuses a run against another pair. It is in WAL mode
with ``synchronous=NORMAL``: a committed record survives the process being killed
(SIGKILL, a crash), though not necessarily the machine losing power. It is opened
with an exclusive lock, so two runs never share one journal. A wrong file is refused
untouched, as ``_sqlitefile`` does for every spacekit file, and every sqlite3
exception becomes a ``ConfigError`` naming the file.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs

from .._errors import ConfigError
from .._sqlitefile import BUSY_CODES, FileKind, check_existing, claim, primary_code, use_wal
from ._report import Action, Identity

APPLICATION_ID: Final = 0x53504B4A  # "SPKJ": a spacekit migration journal
SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT: Final = 0.5
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    source_id TEXT PRIMARY KEY,
    source_name TEXT NOT NULL,
    source_description TEXT,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    target_name TEXT,
    target_description TEXT,
    target_id TEXT,
    error TEXT,
    updated_at TEXT NOT NULL
);
"""
_COLUMNS: Final = (
    "source_id",
    "source_name",
    "source_description",
    "action",
    "state",
    "target_name",
    "target_description",
    "target_id",
    "error",
)
_FILE: Final = FileKind(
    label="spacekit migration journal",
    application_id=APPLICATION_ID,
    schema_version=SCHEMA_VERSION,
    schema=_SCHEMA,
    refusal="{path} is not a spacekit migration journal ({why}); the file was left untouched",
)


class State(enum.StrEnum):
    SENT = "sent"
    UNKNOWN = "unknown"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    EXCLUDED = "excluded"


#: states whose write may or may not have reached the target
UNRESOLVED: Final = frozenset({State.SENT, State.UNKNOWN})


@attrs.frozen
class Entry:
    """One source space's row."""

    source_id: str
    source_name: str
    source_description: str | None
    action: Action
    state: State
    target_name: str | None = None
    target_description: str | None = None
    target_id: str | None = None
    error: str | None = None

    def to(self, state: State, *, target_id: str | None = None, error: str | None = None) -> Entry:
        return attrs.evolve(self, state=state, target_id=target_id or self.target_id, error=error)


class Journal:
    """One open journal file; safe to use from several threads."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool) -> Journal:
        """Open the journal at ``path``; a missing file is created only if ``create``."""
        text = os.path.abspath(os.fspath(path))
        exists = os.path.exists(text)
        if not exists and not create:
            raise ConfigError(f"no migration journal at {text}")
        uri = f"{Path(text).as_uri()}?mode={'rwc' if create else 'rw'}"
        with _translated(text):
            check_existing(text, _FILE, timeout=BUSY_TIMEOUT)
            connection = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        journal = cls(connection, text)
        try:
            with journal._session() as db:
                _prepare(db, text)
        except BaseException:
            connection.close()
            raise
        return journal

    def close(self) -> None:
        with self._lock, _translated(self.path):
            self._connection.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identities and selection ---------------------------------------------------

    def bind(self, source: Identity, target: Identity, select: Sequence[str] | None) -> None:
        """Record the pair (or check it against the one recorded) and widen the recorded selection."""
        self.check(source, target)
        with self._session() as db:
            for role, who in (("source", source), ("target", target)):
                recorded = _meta(db, role)
                if recorded is None or (who.name and not recorded.get("name")):
                    _set_meta(db, role, who.to_dict())
            known = _meta(db, "select")
            _set_meta(db, "select", _widen(known if known is not None else [], select))

    def check(self, source: Identity, target: Identity) -> None:
        """A ``ConfigError`` unless this journal is for this source and target (or is new)."""
        with self._session() as db:
            recorded = [_meta(db, "source"), _meta(db, "target")]
        for role, who, was in (("source", source, recorded[0]), ("target", target, recorded[1])):
            if was is not None and not _same(who, was):
                raise ConfigError(
                    f"the journal {self.path} belongs to a migration from {_describe(recorded[0])} "
                    f"to {_describe(recorded[1])}; this run's {role} is {who}. Resume with the same "
                    "source and target, or use another --journal file for a new migration"
                )

    def selection(self) -> list[str] | None:
        """The names and globs every run selected (None: everything was selected)."""
        with self._session() as db:
            value = _meta(db, "select")
        return None if value is None else list(value)

    # -- items ----------------------------------------------------------------------

    def get(self, source_id: str) -> Entry | None:
        with self._session() as db:
            row = db.execute("SELECT * FROM items WHERE source_id = ?", [source_id]).fetchone()
        return _entry(row) if row else None

    def record(self, entry: Entry) -> None:
        """Write one row, committed before this returns."""
        values = [getattr(entry, column) for column in _COLUMNS]
        stamp = datetime.now(UTC).isoformat()
        placeholders = ", ".join("?" * (len(_COLUMNS) + 1))
        with self._session() as db:
            db.execute(
                f"INSERT OR REPLACE INTO items ({', '.join(_COLUMNS)}, updated_at) VALUES ({placeholders})",
                [*(str(v) if isinstance(v, enum.Enum) else v for v in values), stamp],
            )

    def entries(self) -> Iterator[Entry]:
        """Every row, in pages, so that a large journal is not read at once."""
        after = ""
        while True:
            with self._session() as db:
                rows = db.execute(
                    "SELECT * FROM items WHERE source_id > ? ORDER BY source_id LIMIT 500", [after]
                ).fetchall()
            yield from (_entry(row) for row in rows)
            if len(rows) < 500:
                return
            after = rows[-1]["source_id"]

    def claimed(self) -> set[str]:
        """Target ids that some source space already maps to."""
        with self._session() as db:
            rows = db.execute(
                "SELECT target_id FROM items WHERE target_id IS NOT NULL AND state = ?", [State.DONE.value]
            ).fetchall()
        return {row[0] for row in rows}

    @contextlib.contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated(self.path):
            yield self._connection


def _entry(row: sqlite3.Row) -> Entry:
    data = dict(row)
    data.pop("updated_at")
    return Entry(**{**data, "action": Action(data["action"]), "state": State(data["state"])})


def _same(who: Identity, recorded: dict[str, Any]) -> bool:
    if (who.provider, who.location) != (recorded.get("provider"), recorded.get("location")):
        return False
    return not (who.name and recorded.get("name") and who.name != recorded["name"])


def _describe(recorded: dict[str, Any] | None) -> str:
    if recorded is None:
        return "?"
    return str(Identity(recorded.get("provider", "?"), recorded.get("location", ""), recorded.get("name")))


def _widen(known: list[str] | None, select: Sequence[str] | None) -> list[str] | None:
    """The union of two selections, None meaning everything."""
    if known is None or select is None:
        return None
    return sorted(set(known) | set(select))


def _meta(db: sqlite3.Connection, key: str) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else json.loads(row[0])


def _set_meta(db: sqlite3.Connection, key: str, value: Any) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [key, json.dumps(value)])


def _prepare(db: sqlite3.Connection, path: str) -> None:
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA locking_mode = EXCLUSIVE")
    use_wal(db, BUSY_TIMEOUT)
    db.execute("PRAGMA synchronous = NORMAL")
    claim(db, path, _FILE)


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """The one place sqlite3 exceptions about the journal become ``ConfigError``."""
    try:
        yield
    except sqlite3.Error as exc:
        if primary_code(exc) in BUSY_CODES:
            raise ConfigError(f"the journal {path} is in use by another migration run") from None
        raise ConfigError(f"the journal {path} cannot be used: {exc}") from None
