"""The migration journal: a SQLite file persisting each source space's ``Record``,
written before every write is sent and after it is answered, so that an interrupted
run resumes without duplicates.

One row per source space holds the record (see ``_record``): the action, the state,
the intended target name and description, the target id and the name the target
stored once known, and the ids that already bore the intended name when the write
was first sent and when that was (a later run never takes one of them, nor a space
the target says was created before, for this write's result).

The file also holds the identities of source and target (provider, location, store
name; never a secret) and refuses a run against another pair. While a run holds it,
it is in WAL mode with ``synchronous=NORMAL`` and an exclusive lock: a committed
record survives the process being killed (SIGKILL, a crash), and two runs never
share one journal. Closing it checkpoints and returns it to a single file, so that
no ``-wal`` or ``-shm`` file is left beside it after a clean exit. A dry run reads a
copy (``Journal.open(..., read_only=True)``): the file and its directory are left
byte for byte as they were. A wrong file is refused untouched, as ``_sqlitefile``
does for every spacekit file, and every sqlite3 exception becomes a ``ConfigError``
naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._errors import ConfigError
from .._groupcommit import GroupCommit, Write
from .._model import parse_datetime
from .._sqlitefile import (
    BUSY_CODES,
    FULL_CODE,
    FileKind,
    check_damage,
    check_existing,
    claim,
    immediate,
    primary_code,
    use_wal,
)
from ._record import Action, Record, State
from ._report import Identity
from ._stores import canonical_location

APPLICATION_ID: Final = 0x53504B4A  # "SPKJ": a spacekit migration journal
SCHEMA_VERSION: Final = 2
BUSY_TIMEOUT: Final = 0.5
#: the page cache: rows are appended and read one by one, so a small one does
CACHE_KIB: Final = 256
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
    updated_at TEXT NOT NULL,
    stored_name TEXT,
    preexisting TEXT,
    lost TEXT,
    reason TEXT,
    sent_at TEXT
);
"""
_COPY: Final = "journal.db"  # the name of a read-only journal's copy, in its folder
#: columns added since schema version 1, added to an older journal when it is claimed
_ADDED: Final = ("stored_name", "preexisting", "lost", "reason", "sent_at")
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
    "stored_name",
    "preexisting",
    "lost",
    "reason",
    "sent_at",
)
_INSERT: Final = (
    f"INSERT OR REPLACE INTO items ({', '.join(_COLUMNS)}, updated_at) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})"
)
_FILE: Final = FileKind(
    label="spacekit migration journal",
    application_id=APPLICATION_ID,
    schema_version=SCHEMA_VERSION,
    schema=_SCHEMA,
    refusal="{path} is not a spacekit migration journal ({why}); the file was left untouched",
    keep=(
        "Keep it: it may record writes whose outcome is unknown, which a run without it "
        "could send again; the sqlite3 shell's .recover command saves what can be read"
    ),
)


class Journal:
    """One open journal file; safe to use from several threads."""

    def __init__(self, connection: sqlite3.Connection, path: str, copy: str | None = None) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._copy = copy  # the folder of the copy a read-only journal is read from
        self._examined = None if copy is None else os.path.join(copy, _COPY)
        self.path = path
        self._writes = GroupCommit(self._batch, self._interrupted)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool, read_only: bool = False) -> Journal:
        """Open the journal at ``path`` (``~`` expanded); a missing file is created only
        if ``create``, in a folder that exists.

        ``read_only`` reads a copy of the file (and of its ``-wal``, if a killed run
        left one) made in a temporary folder: nothing beside the journal is created,
        changed or locked, and the records of a killed run are still seen.
        """
        text = os.path.abspath(os.path.expanduser(os.fspath(path)))
        exists = os.path.exists(text)
        if not exists and not create:
            raise ConfigError(f"no migration journal at {text}")
        folder = os.path.dirname(text)
        if not exists and not os.path.isdir(folder) and not os.path.lexists(folder):
            raise ConfigError(f"cannot create the journal {text}: the folder {folder} does not exist")
        copy = None
        with _translated(text):
            where = text
            if read_only:  # even a read-only look may leave a -shm file: look at a copy
                copy, where = _copied(text)
            try:
                check_existing(where, _FILE, timeout=BUSY_TIMEOUT)
            except ConfigError as exc:
                if copy is not None:
                    shutil.rmtree(copy, ignore_errors=True)
                raise ConfigError(str(exc).replace(where, text)) from None
            uri = f"{Path(where).as_uri()}?mode={'rwc' if create else 'rw'}"
            connection = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        journal = cls(connection, text, copy)
        try:
            with journal._session() as db:
                _prepare(db, text)
        except BaseException:
            journal._discard()
            raise
        return journal

    def close(self) -> None:
        """Close, leaving one file: the WAL is checkpointed into it and removed."""
        with self._lock, _translated(self.path):
            try:
                if self._copy is None:
                    self._connection.execute("PRAGMA journal_mode = DELETE")
            finally:
                self._connection.close()
                if self._copy is not None:
                    shutil.rmtree(self._copy, ignore_errors=True)

    def _discard(self) -> None:
        self._connection.close()
        if self._copy is not None:
            shutil.rmtree(self._copy, ignore_errors=True)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identities and selection ---------------------------------------------------

    def bind(
        self, source: Identity, target: Identity, select: Sequence[str] | None, what: str = "migration"
    ) -> None:
        """Record the pair (or check it against the one recorded) and widen the recorded selection."""
        self.check(source, target, what)
        with self._session() as db:
            for role, who in (("source", source), ("target", target)):
                recorded = _meta(db, role)
                if recorded is None or (who.name and not recorded.get("name")):
                    _set_meta(db, role, who.to_dict())
            known = _meta(db, "select")
            _set_meta(db, "select", _widen(known if known is not None else [], select))

    def check(self, source: Identity, target: Identity, what: str = "migration") -> None:
        """A ``ConfigError`` unless this journal is for this source and target (or is new);
        ``what`` says what the run is (a migration, a sync) in the message."""
        with self._session() as db:
            recorded = [_meta(db, "source"), _meta(db, "target")]
        for role, who, was in (("source", source, recorded[0]), ("target", target, recorded[1])):
            if was is not None and not _same(who, was):
                raise ConfigError(
                    f"the journal {self.path} belongs to a {what} from {_describe(recorded[0])} "
                    f"to {_describe(recorded[1])}; this run's {role} is {who}. Resume with the same "
                    f"source and target, or use another --journal file for a new {what}"
                )

    def plans(self) -> list[str]:
        """The ids of the saved sync plans applied with this journal (``note_plan``)."""
        with self._session() as db:
            value = _meta(db, "plans")
        return list(value) if isinstance(value, list) else []

    def note_plan(self, plan_id: str) -> None:
        """Record that a saved plan's application starts (before its first write)."""
        with self._session() as db:
            known = _meta(db, "plans")
            known = list(known) if isinstance(known, list) else []
            if plan_id not in known:
                _set_meta(db, "plans", [*known, plan_id])

    def selection(self) -> list[str] | None:
        """The names and globs every run selected (None: everything was selected)."""
        with self._session() as db:
            value = _meta(db, "select")
        return None if value is None else list(value)

    # -- items ----------------------------------------------------------------------

    def get(self, source_id: str) -> Record | None:
        with self._session() as db:
            row = db.execute("SELECT * FROM items WHERE source_id = ?", [source_id]).fetchone()
        return _record(row) if row else None

    def record(self, record: Record) -> None:
        """Write one record's row, committed before this returns. Rows written by
        several threads at once share one commit (``_groupcommit``)."""
        row = [_column(getattr(record, column)) for column in _COLUMNS]
        row.append(datetime.now(UTC).isoformat())
        self._writes.submit(row)

    def _batch(self, batch: list[Write]) -> None:
        """Write a batch of rows (and those queued meanwhile) in one transaction."""
        try:
            with self._session() as db, immediate(db):
                taken = batch
                while taken:
                    db.executemany(_INSERT, [entry.work for entry in taken])
                    taken = self._writes.more(batch)
        except ConfigError as exc:  # each writer gets its own
            for entry in batch:
                entry.error = ConfigError(str(exc))

    def _interrupted(self) -> ConfigError:
        return ConfigError(f"writing to the journal {self.path} was interrupted; the row may not be there")

    def records(self) -> Iterator[Record]:
        """Every row, in pages, so that a large journal is not read at once."""
        return (_record(row) for row in self._rows("*", 500))

    def source_ids(self) -> Iterator[str]:
        """The source ids of every row, in pages."""
        return (row["source_id"] for row in self._rows("source_id", 5000))

    def _rows(self, columns: str, page: int) -> Iterator[sqlite3.Row]:
        after = ""
        while True:
            with self._session() as db:
                rows = db.execute(
                    f"SELECT {columns} FROM items WHERE source_id > ? ORDER BY source_id LIMIT {page}",
                    [after],
                ).fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = rows[-1]["source_id"]

    def claimed(self) -> Iterator[str]:
        """Target ids that some source space already maps to (done, or paired by a skip)."""
        with self._session() as db:
            rows = db.execute(
                "SELECT target_id FROM items WHERE target_id IS NOT NULL AND state IN (?, ?)",
                [State.DONE.value, State.SKIPPED.value],
            ).fetchall()
        return (row[0] for row in rows)

    @contextlib.contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated(self.path, self._examined):
            yield self._connection


def _column(value: Any) -> Any:
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, tuple):
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # an enum


def _record(row: sqlite3.Row) -> Record:
    data = dict(row)
    preexisting = data.get("preexisting")
    lost = data.get("lost")
    return Record(
        source_id=data["source_id"],
        source_name=data["source_name"],
        source_description=data["source_description"],
        action=Action(data["action"]),
        state=State(data["state"]),
        target_name=data["target_name"],
        target_description=data["target_description"],
        target_id=data["target_id"],
        stored_name=data.get("stored_name"),
        preexisting=None if preexisting is None else tuple(json.loads(preexisting)),
        lost=() if lost is None else tuple(json.loads(lost)),
        reason=data.get("reason"),
        error=data["error"],
        sent_at=_moment(data.get("sent_at")),
    )


def _moment(value: object) -> datetime | None:
    """A journaled time; one that cannot be read is no evidence (None)."""
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _copied(path: str) -> tuple[str, str]:
    """A private copy of the journal (and its WAL) to read: (its folder, its path)."""
    folder = tempfile.mkdtemp(prefix="spacekit-journal-")
    copy = os.path.join(folder, _COPY)
    try:
        shutil.copyfile(path, copy)
        if os.path.exists(path + "-wal"):
            shutil.copyfile(path + "-wal", copy + "-wal")
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ConfigError(f"cannot read the journal {path}: {exc.strerror}") from None
    return folder, copy


def _same(who: Identity, recorded: dict[str, Any]) -> bool:
    """One store, however its location is spelled (``canonical_location``)."""
    was = recorded.get("location")
    if who.provider != recorded.get("provider") or not isinstance(was, str):
        return _same_manifest(who, recorded)
    if canonical_location(who.location) != canonical_location(was):
        return _same_manifest(who, recorded)
    return not (who.name and recorded.get("name") and who.name != recorded["name"])


def _same_manifest(who: Identity, recorded: dict[str, Any]) -> bool:
    """A journal from before manifests had an identity recorded a manifest's absolute
    path: the same file name is the same manifest."""
    was = recorded.get("location")
    return (
        who.provider == recorded.get("provider") == "file"
        and isinstance(was, str)
        and os.path.isabs(was)
        and os.path.basename(was) == who.location
    )


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
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    claim(db, path, _FILE)
    have = {row[1] for row in db.execute("PRAGMA table_info(items)")}
    for column in _ADDED:
        if column not in have:  # a journal written by schema version 1
            db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT")


@contextlib.contextmanager
def _translated(path: str, examined: str | None = None) -> Iterator[None]:
    """The one place sqlite3 exceptions about the journal become ``ConfigError``
    (``examined``: the copy a read-only journal is read from)."""
    try:
        yield
    except sqlite3.Error as exc:
        code = primary_code(exc)
        if code in BUSY_CODES:
            raise ConfigError(f"the journal {path} is in use by another run") from None
        check_damage(exc, path, _FILE, timeout=BUSY_TIMEOUT, examined=examined)
        if code == FULL_CODE:
            raise ConfigError(
                f"the disk holding the journal {path} is full ({exc}); free space and run the "
                "same command again: the journal keeps every write sent, do not delete it"
            ) from None
        raise ConfigError(f"the journal {path} cannot be used: {exc}") from None
