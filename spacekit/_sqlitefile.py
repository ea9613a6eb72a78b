"""How spacekit guards a SQLite file of its own: recognise it without writing, then claim it.

Two kinds of file use this: the embedded store (``_sqlite``) and the migration
journal (``_migrate._journal``). Each kind is marked by its ``PRAGMA application_id``
and versioned by ``PRAGMA user_version``, and is described by a ``FileKind``.

- ``check_existing`` refuses, before the file is opened for writing, a path that is
  not a regular file nor a place where one can be created (a folder, a device such
  as ``/dev/null``, a FIFO, a socket, a path through a file), a file that is not a
  SQLite database, a database of another program, or one of a newer schema. It
  reads only; an empty file or an empty database is accepted.
- ``claim`` checks again inside a write transaction (another process may have
  written since), creates the schema on first use and marks the file, all at once.
  A file already marked with this kind's schema version needs none of it, and is
  opened without a write (so opening a store to read it waits for no writer and
  syncs nothing to disk).
- ``use_wal`` switches a connection to WAL mode.
- ``check_damage`` decides, when SQLite calls a file corrupt, whether it is: only
  when SQLite's own integrity check fails on it (with its ``-wal``) is it called
  damaged; the advice never tells to delete it.

A file is always examined with its ``-wal``: a run stopped by a full disk leaves
committed records in the ``-wal`` that the main file alone lacks, so the main file
alone looks malformed. ``immutable=1`` (which leaves no ``-shm`` behind) is used
only where no ``-wal`` holds anything.

A refused file is the kind's ``ConfigError``. sqlite3's own exceptions pass through:
each user translates them in its own way, with ``primary_code`` and ``BUSY_CODES``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import attrs

from ._errors import ConfigError

HEADER: Final = b"SQLite format 3\x00"
BUSY_CODES: Final = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
CORRUPT_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
FULL_CODE: Final = 13  # SQLITE_FULL


@attrs.frozen
class FileKind:
    """One kind of spacekit SQLite file."""

    label: str  # names the file in messages: "spacekit store"
    application_id: int
    schema_version: int  # written by this code; a file with a higher one is refused
    schema: str  # "CREATE ... IF NOT EXISTS" statements, separated by ";"
    refusal: str  # the message refusing a wrong file, with {path} and {why}
    keep: str = ""  # what to do with a damaged file of this kind (never: delete it)

    def refuse(self, path: str, why: str) -> ConfigError:
        return ConfigError(self.refusal.format(path=path, why=why))

    def damaged(self, path: str, problem: str) -> ConfigError:
        return ConfigError(
            f"the {self.label} {path} is damaged: SQLite's integrity check fails on it "
            f"({problem}); it was left untouched. {self.keep}".rstrip()
        )


def primary_code(exc: sqlite3.Error) -> int:
    """The primary result code of a sqlite3 exception (the low byte of its extended code)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


def check_place(path: str, kind: FileKind) -> bool:
    """Whether ``path`` is a regular file (False: a place where one can be created).

    Anything else is the kind's ``ConfigError``: a folder, a device, a FIFO, a socket,
    or a path whose nearest existing ancestor is not a folder.
    """
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        ancestor = os.path.dirname(os.path.abspath(path))
        while not os.path.lexists(ancestor) and ancestor != os.path.dirname(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise kind.refuse(
                path, f"cannot create the directory it needs: {ancestor} is not a folder"
            ) from None
        return False
    except OSError as exc:
        raise kind.refuse(path, f"it cannot be examined: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise kind.refuse(
            path, "it is a folder, and spacekit cannot read a folder as a file; give the path of a file in it"
        )
    if not stat.S_ISREG(mode):
        raise kind.refuse(path, "it is not a regular file but a device, a FIFO or a socket")
    return True


def check_existing(path: str, kind: FileKind, *, timeout: float) -> None:
    """Refuse, without writing to it, a path that is not a file of ``kind`` (nor empty,
    nor a place where one can be created)."""
    if not check_place(path, kind):
        return
    try:
        with open(path, "rb") as file:
            header = file.read(len(HEADER))
    except OSError as exc:
        raise ConfigError(f"cannot read the {kind.label} {path}: {exc.strerror}") from exc
    if not header:
        return  # an empty file: SQLite makes a new database of it
    if header != HEADER:
        raise kind.refuse(path, "not a SQLite database")
    try:
        with contextlib.closing(sqlite3.connect(read_only(path), uri=True, timeout=timeout)) as connection:
            _check_identity(connection, path, kind)
    except sqlite3.Error as exc:
        check_damage(exc, path, kind, timeout=timeout)
        raise


def read_only(path: str) -> str:
    """The URI reading ``path`` without writing to it, with its ``-wal`` if one holds
    anything; else ``immutable``, so that no ``-shm`` is left beside it."""
    try:
        wal = os.path.getsize(path + "-wal") > 0
    except OSError:
        wal = False
    return f"{Path(path).as_uri()}?mode=ro" + ("" if wal else "&immutable=1")


def check_damage(
    exc: sqlite3.Error, path: str, kind: FileKind, *, timeout: float, examined: str | None = None
) -> None:
    """For an error by which SQLite calls ``path`` corrupt: the kind's "damaged"
    error if SQLite's integrity check fails on the file (or on ``examined``, a copy of
    it), else a ``ConfigError`` saying it could not be read though it checks out.
    Any other error: return."""
    if primary_code(exc) not in CORRUPT_CODES:
        return
    problem = integrity_problem(examined or path, timeout=timeout)
    if problem is not None:
        raise kind.damaged(path, problem) from None
    raise ConfigError(
        f"the {kind.label} {path} could not be read ({exc}), yet SQLite's integrity check "
        "passes on it with its -wal: it was left untouched; run the same command again"
    ) from None


def integrity_problem(path: str, *, timeout: float) -> str | None:
    """The first problems SQLite's integrity check finds in ``path`` read with its
    ``-wal``; None when it passes, or when it cannot run (busy, unreadable)."""
    try:
        with contextlib.closing(sqlite3.connect(read_only(path), uri=True, timeout=timeout)) as connection:
            rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check(5)")]
    except sqlite3.Error as exc:
        return str(exc) if primary_code(exc) in CORRUPT_CODES else None
    return None if rows == ["ok"] else "; ".join(rows)


def claim(connection: sqlite3.Connection, path: str, kind: FileKind) -> None:
    """In one transaction: check the file again, create the schema if new, mark the file.

    A file already marked as this kind, at this schema version, is left as it is."""
    if _marked(connection) == (kind.application_id, kind.schema_version):
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        _check_identity(connection, path, kind)
        for statement in filter(str.strip, kind.schema.split(";")):
            connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {kind.application_id}")
        connection.execute(f"PRAGMA user_version = {kind.schema_version}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def immediate(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction: committed if the block ends, rolled back
    (if SQLite has not ended it already) if the block raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def use_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL, retrying: SQLite answers "busy" here without waiting its timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if primary_code(exc) not in BUSY_CODES or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _marked(connection: sqlite3.Connection) -> tuple[int, int]:
    """The file's mark: its application id and schema version (both 0 if unmarked)."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    return application_id, version


def _check_identity(connection: sqlite3.Connection, path: str, kind: FileKind) -> None:
    """A file of ``kind`` with a schema this code knows, or an empty database."""
    application_id, version = _marked(connection)
    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application_id == 0 and version == 0 and tables == 0:
        return
    if application_id != kind.application_id:
        raise kind.refuse(path, "a SQLite database of another program")
    if version > kind.schema_version:
        raise kind.refuse(path, f"schema version {version}, from a newer spacekit")
