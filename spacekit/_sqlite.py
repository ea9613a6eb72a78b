"""The SQLite file under the embedded stores: checks, schema, queries, error translation.

``Database`` owns one sqlite3 connection, shared by the sync store and by the
worker threads of the async store (hence ``check_same_thread=False`` and a lock).
It is safe for several processes to use one file at once: the file is in WAL mode,
waits up to ``BUSY_TIMEOUT`` for a lock, and writes only inside ``BEGIN IMMEDIATE``
transactions. Ids come from ``AUTOINCREMENT``, so they are never reused.

Writes from several threads share transactions (group commit, see ``_groupcommit``):
a lone write runs just as it would alone; writes that queue while one is running
are run together by the next leader, in one transaction, each inside its own
``SAVEPOINT``. A write that fails (``NotFound``, ``Conflict``, ``ValidationError``)
is rolled back alone and its caller gets its own error; the others commit together,
at the cost of one sync of the file instead of one each (``synchronous`` is not set:
it stays SQLite's default, ``FULL`` in standard builds). No write is reported done
before its transaction has committed; a failure of the transaction itself (the lock
not given within ``BUSY_TIMEOUT``, a full disk at ``COMMIT``, the store closed)
reaches every caller in it, each as its own spacekit error.

An existing file is checked read-only before it is opened for writing (see
``_sqlitefile``): a file that is not a spacekit store (corrupt, unreadable, another
program's database, a newer schema) is a ``ConfigError`` naming the path, and is
left untouched. A wrong file is the caller's configuration to fix, not a provider
failing, hence ``ConfigError``.

``_error`` is the one place sqlite3 exceptions become spacekit errors (and
``_unencodable`` text SQLite cannot encode); ``_translated`` applies both to a block.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs

from ._errors import (
    ConfigError,
    Conflict,
    NotFound,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    SpacekitError,
    ValidationError,
)
from ._groupcommit import GroupCommit, Write
from ._model import Principal, Space, SpaceKind, Subspace, parse_datetime
from ._sqlitefile import (
    BUSY_CODES,
    FileKind,
    check_damage,
    check_existing,
    claim,
    immediate,
    primary_code,
    use_wal,
)

MEMORY: Final = ":memory:"
PAGE_SIZE: Final = 500
BUSY_TIMEOUT: Final = 5.0
SCHEMA_VERSION: Final = 2  # 2: subspaces keep description, private and members
APPLICATION_ID: Final = 0x53504B54  # "SPKT": marks the file as a spacekit store
_MAX_ID: Final = 2**63 - 1

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS spaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT,
    owner TEXT,
    admins TEXT NOT NULL,
    subspaces TEXT NOT NULL,
    image_url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""
_COLUMNS: Final = ("name", "kind", "description", "owner", "admins", "subspaces", "image_url")
#: every column, in the order ``_SELECT`` reads them (rows are plain tuples)
_NAMES: Final = ("id", *_COLUMNS, "created_at", "updated_at")
_SELECT: Final = f"SELECT {', '.join(_NAMES)} FROM spaces"
_BY_ID: Final = f"{_SELECT} WHERE id = ?"
_INDEX: Final = {name: index for index, name in enumerate(_NAMES)}
_ID, _UPDATED_AT = 0, len(_NAMES) - 1
_KINDS: Final = {kind.value: kind for kind in SpaceKind}
_FILE: Final = FileKind(
    label="spacekit store",
    application_id=APPLICATION_ID,
    schema_version=SCHEMA_VERSION,
    schema=_SCHEMA,
    refusal="{path} is not a usable spacekit store ({why}); the file was left untouched",
    keep="Keep a copy of it and of its -wal: the sqlite3 shell's .recover command saves what can be read",
)

# Primary result codes (the low byte of sqlite_errorcode), besides BUSY_CODES.
_BROKEN_CODES: Final = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_ACCESS_CODES: Final = frozenset({3, 8, 14, 23})  # SQLITE_PERM, READONLY, CANTOPEN, AUTH
_IO_CODES: Final = frozenset({10, 13})  # SQLITE_IOERR, SQLITE_FULL

_T = TypeVar("_T")
#: the work of one write: statements on the connection, inside a transaction
_Work = Callable[[sqlite3.Connection], _T]


class Database:
    """One store's SQLite database; every method is safe to call from any thread."""

    def __init__(self, connection: sqlite3.Connection, location: str, provider: str) -> None:
        self._connection = connection
        self._lock = threading.Lock()  # the connection's: one statement or transaction at a time
        self._closed = False
        self._writes = GroupCommit(self._batch, self._interrupted_error)
        self.location = location
        self.provider = provider

    def __repr__(self) -> str:
        return f"<Database {self.provider} {self.location}>"

    @classmethod
    def open(cls, location: str, *, provider: str) -> Database:
        """Open (creating it on first use) the store at ``location``, a path or ``MEMORY``."""
        if location != MEMORY:
            with _translated(location, provider):
                check_existing(location, _FILE, timeout=BUSY_TIMEOUT)
            _make_parent(location, provider)
        with _translated(location, provider):
            connection = sqlite3.connect(
                location, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            try:
                _prepare(connection, location)
            except sqlite3.Error as exc:
                connection.close()
                if location != MEMORY:  # damaged only if SQLite's integrity check says so
                    check_damage(exc, location, _FILE, timeout=BUSY_TIMEOUT)
                raise
            except BaseException:
                connection.close()
                raise
        return cls(connection, location, provider)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                with _translated(self.location, self.provider):
                    self._connection.close()

    # -- queries ----------------------------------------------------------------------

    def iterate(self, query: str | None) -> Iterator[Space]:
        """Every space whose name contains ``query`` (case-insensitively), by id, page by page."""
        cursor: int | None = 0
        while cursor is not None:
            spaces, cursor = self.page(query, cursor)
            yield from spaces

    def page(self, query: str | None, after: int) -> tuple[list[Space], int | None]:
        """Up to ``PAGE_SIZE`` spaces with ids above ``after``, and the cursor of the next page."""
        sql = f"{_SELECT} WHERE id > ?"
        params: list[Any] = [after]
        if query:
            sql += " AND spacekit_contains(name, ?)"
            params.append(query.casefold())
        rows = self._read(f"{sql} ORDER BY id LIMIT {PAGE_SIZE}", params, every=True)
        spaces = [self._space(row) for row in rows]  # decoded outside the lock
        return spaces, (rows[-1][_ID] if len(rows) == PAGE_SIZE else None)

    def get(self, space_id: str) -> Space:
        row_id = _row_id(space_id)
        row = None if row_id is None else self._read(_BY_ID, (row_id,), every=False)
        if row is None:
            raise self._missing(space_id)
        return self._space(row)

    def insert(self, fields: Mapping[str, Any]) -> Space:
        """Store a new space from ``_COLUMNS`` values; timestamps are set here."""
        now = _timestamp(datetime.now(UTC))
        values = [_encode(column, fields.get(column)) for column in _COLUMNS]

        def write(connection: sqlite3.Connection) -> tuple[Any, ...]:
            cursor = connection.execute(
                f"INSERT INTO spaces ({', '.join(_COLUMNS)}, created_at, updated_at) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))}, ?, ?)",
                [*values, now, now],
            )
            return self._row(connection, str(cursor.lastrowid))

        return self._space(self._write(write))  # decoded outside the lock: other writers go on

    def update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        """Change only the given columns; ``updated_at`` always moves forward."""
        unknown = set(changes) - set(_COLUMNS)
        if unknown:  # column names go into the SQL text: only known ones may
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))}")
        assignments = ", ".join(f"{column} = ?" for column in changes)
        values = [_encode(column, value) for column, value in changes.items()]

        def write(connection: sqlite3.Connection) -> tuple[Any, ...]:
            row = self._row(connection, space_id)
            updated_at = _later(parse_datetime(row[_UPDATED_AT]))
            connection.execute(
                f"UPDATE spaces SET {assignments}, updated_at = ? WHERE id = ?",
                [*values, updated_at, row[_ID]],
            )
            return self._row(connection, space_id)

        return self._space(self._write(write))

    def add_subspace(self, space_id: str, subspace: Subspace) -> Subspace:
        """Add a subspace to a space, in one transaction; ``Conflict`` if its name is taken
        (compared case-insensitively: this store cannot hold two names that differ only in
        case; a migration reports the second as failed)."""

        def write(connection: sqlite3.Connection) -> Subspace:
            space = self._space(self._row(connection, space_id))
            if any(s.name.casefold() == subspace.name.casefold() for s in space.subspaces):
                raise Conflict(
                    f"space {space_id} already holds a subspace named {subspace.name!r}",
                    provider=self.provider,
                )
            connection.execute(
                "UPDATE spaces SET subspaces = ?, updated_at = ? WHERE id = ?",
                [_encode("subspaces", (*space.subspaces, subspace)), _later(space.updated_at), int(space.id)],
            )
            return subspace

        return self._write(write)

    def delete(self, space_id: str) -> None:
        def write(connection: sqlite3.Connection) -> None:
            row = self._row(connection, space_id)
            connection.execute("DELETE FROM spaces WHERE id = ?", [row[_ID]])

        self._write(write)

    # -- plumbing ---------------------------------------------------------------------

    def _write(self, work: _Work[_T]) -> _T:
        """What ``work`` returns, once its transaction has committed; what it raises,
        or what failed the transaction, as a spacekit error (see ``_groupcommit``)."""
        return self._writes.submit(work)  # type: ignore[no-any-return]

    def _batch(self, batch: list[Write]) -> None:
        with self._lock:
            if self._closed:
                for entry in batch:
                    entry.error = self._closed_error()
            else:
                self._transaction(batch)

    def _transaction(self, batch: list[Write]) -> None:
        """Run ``batch`` in one transaction, under the lock, setting each write's
        result or error; a failure of the transaction fails every write still without
        an error.

        Writes queued meanwhile join ``batch`` before the commit: a thread has at most
        one write queued, and none while its write waits for this commit, so this
        ends. A first write alone runs without a savepoint: should it fail, the
        transaction is rolled back, and nothing else is in it yet."""
        connection = self._connection
        try:
            with immediate(connection):
                taken = batch
                if len(taken) == 1:
                    taken[0].result = taken[0].work(connection)
                    taken = self._writes.more(batch)
                while taken:
                    for entry in taken:
                        self._savepoint(connection, entry)
                    taken = self._writes.more(batch)
        except Exception as exc:  # each caller gets its own exception object
            for entry in batch:
                if entry.error is None:
                    entry.result, entry.error = None, self._spacekit_error(exc)

    def _savepoint(self, connection: sqlite3.Connection, entry: Write) -> None:
        """Run one write of a batch; if it fails, undo it alone and keep its error.

        Should SQLite end the transaction itself (some I/O errors do), the error
        goes up and fails the whole batch."""
        connection.execute("SAVEPOINT spacekit_write")
        try:
            entry.result = entry.work(connection)
        except Exception as exc:
            if not connection.in_transaction:
                raise
            connection.execute("ROLLBACK TO spacekit_write")
            entry.error = self._spacekit_error(exc)
        connection.execute("RELEASE spacekit_write")

    def _spacekit_error(self, exc: Exception) -> Exception:
        """``exc`` as ``_translated`` raises it: a new spacekit error for sqlite3's."""
        if isinstance(exc, sqlite3.Error):
            error: Exception = _error(exc, self.location, self.provider)
        elif isinstance(exc, UnicodeEncodeError):
            error = _unencodable(exc)
        else:
            return exc
        error.__cause__ = exc
        return error

    def _read(self, sql: str, params: Sequence[Any], *, every: bool) -> Any:
        """One query's rows (``every``) or first row, under the lock; no transaction.

        The read path of ``get`` and ``list``: errors translated as ``_translated``
        does, without its context manager, which costs more than the query itself."""
        with self._lock:
            if self._closed:
                raise self._closed_error()
            try:
                cursor = self._connection.execute(sql, params)
                return cursor.fetchall() if every else cursor.fetchone()
            except sqlite3.Error as exc:
                raise _error(exc, self.location, self.provider) from exc
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from exc

    def _row(self, connection: sqlite3.Connection, space_id: str) -> tuple[Any, ...]:
        row_id = _row_id(space_id)
        row = None
        if row_id is not None:
            row = connection.execute(_BY_ID, (row_id,)).fetchone()
        if row is None:
            raise self._missing(space_id)
        return row  # type: ignore[no-any-return]

    def _missing(self, space_id: str) -> NotFound:
        shown = (
            repr(space_id) if len(space_id) <= 100 else f"{space_id[:40]!r}... ({len(space_id)} characters)"
        )
        return NotFound(f"no space with id {shown} in {self.location}", provider=self.provider)

    def _closed_error(self) -> ProviderError:
        return ProviderError(f"the {self.provider} store {self.location} is closed", provider=self.provider)

    def _interrupted_error(self) -> ProviderError:
        return ProviderError(
            f"a write to the {self.provider} store {self.location} was interrupted "
            "and may not have been made",
            provider=self.provider,
        )

    def _space(self, row: tuple[Any, ...]) -> Space:
        """A row as a ``Space``, each column decoded once.

        Timestamps are written here in ISO 8601 with their offset, so
        ``fromisoformat`` reads them directly; the lists are JSON, most often
        ``[]``. The values are then already in the form ``Space``'s converters
        give (tuples, aware UTC datetimes, a read-only ``raw``), and the ``Space``
        is assembled without running them again: for a listing, ``Space.__init__``
        would cost more than reading the row. (Should ``Space`` gain a field, or a
        timestamp lack its offset, the constructor is used.)
        """
        row_id, name, kind, description, owner, admins, subspaces, image_url, created, updated = row
        try:
            created_at = _fromiso(created)
            updated_at = created_at if updated == created else _fromiso(updated)
            kind = _KINDS[kind]
            admins = () if admins == "[]" else _decoded(admins, _principal)
            subspaces = () if subspaces == "[]" else _decoded(subspaces, Subspace.from_dict)
        except (ValueError, TypeError, KeyError) as exc:
            raise ProtocolError(
                f"space {row_id} in {self.location} cannot be read: {exc!r}", provider=self.provider
            ) from exc
        if not (_ASSEMBLE and created_at.tzinfo is UTC and updated_at.tzinfo is UTC):
            return Space(
                provider=self.provider,
                id=str(row_id),
                name=name,
                kind=kind,
                description=description,
                owner=owner,
                admins=admins,
                subspaces=subspaces,
                image_url=image_url,
                created_at=created_at,
                updated_at=updated_at,
                raw=dict(zip(_NAMES, row, strict=True)),
            )
        space: Space = _new(Space)
        _provider(space, self.provider)
        _id(space, str(row_id))
        _name(space, name)
        _kind(space, kind)
        _description(space, description)
        _owner(space, owner)
        _admins(space, admins)
        _subspaces(space, subspaces)
        _image_url(space, image_url)
        _is_admin(space, None)  # the local store has no one to ask
        _created_at(space, created_at)
        _updated_at(space, updated_at)
        _raw(space, RowMapping(row))
        return space


_ASSEMBLED: Final = (
    "provider",
    "id",
    "name",
    "kind",
    "description",
    "owner",
    "admins",
    "subspaces",
    "image_url",
    "is_admin",
    "created_at",
    "updated_at",
    "raw",
)


def _slot_setters() -> tuple[Callable[[Space, Any], None], ...] | None:
    """The setters of ``Space``'s slots, in ``_ASSEMBLED`` order; None if its fields differ."""
    if tuple(field.name for field in attrs.fields(Space)) != _ASSEMBLED:
        return None
    try:
        return tuple(Space.__dict__[name].__set__ for name in _ASSEMBLED)
    except (KeyError, AttributeError):  # not a slotted class
        return None


def _never(space: Space, value: Any) -> None:
    raise AssertionError("Space is built by its constructor when its slots cannot be set")


_new, _fromiso = object.__new__, datetime.fromisoformat
_SETTERS = _slot_setters()
#: whether ``Database._space`` may assemble a ``Space`` by setting its slots
_ASSEMBLE: Final = _SETTERS is not None
(
    _provider,
    _id,
    _name,
    _kind,
    _description,
    _owner,
    _admins,
    _subspaces,
    _image_url,
    _is_admin,
    _created_at,
    _updated_at,
    _raw,
) = _SETTERS or (_never,) * len(_ASSEMBLED)


class RowMapping(Mapping[str, Any]):
    """A row of ``spaces`` as a read-only mapping of column names to values: the
    local store's ``Space.raw``, made without copying the row into a dict."""

    __slots__ = ("_row",)

    def __init__(self, row: tuple[Any, ...]) -> None:
        self._row = row

    def __getitem__(self, key: str) -> Any:
        try:
            return self._row[_INDEX[key]]
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(_NAMES)

    def __len__(self) -> int:
        return len(_NAMES)

    def __repr__(self) -> str:
        return repr(dict(self))


def _decoded(text: str, make: Callable[[Any], Any]) -> tuple[Any, ...]:
    """A JSON list of objects as a tuple of what ``make`` makes of each."""
    return tuple(make(item) for item in json.loads(text))


def _principal(item: Any) -> Principal:
    return Principal(**item)


@contextlib.contextmanager
def _translated(location: str, provider: str) -> Iterator[None]:
    """Turn sqlite3's exceptions (and text it cannot encode) into spacekit errors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _error(exc, location, provider) from exc
    except UnicodeEncodeError as exc:
        raise _unencodable(exc) from exc


def _unencodable(exc: UnicodeEncodeError) -> ValidationError:
    return ValidationError(f"text must be valid Unicode (no lone surrogates): {exc.reason}")


def _error(exc: sqlite3.Error, location: str, provider: str) -> SpacekitError:
    code = primary_code(exc)
    if code in BUSY_CODES:
        return ProviderUnavailable(
            f"the {provider} store {location} stayed locked by another connection "
            f"for more than {BUSY_TIMEOUT:g} s",
            provider=provider,
        )
    if code in _BROKEN_CODES:
        return _FILE.refuse(location, str(exc))
    if code in _ACCESS_CODES:
        return ConfigError(f"cannot open the {provider} store {location}: {exc}")
    if code in _IO_CODES:
        return ProviderUnavailable(f"the {provider} store {location} failed: {exc}", provider=provider)
    return ProviderError(f"the {provider} store {location} failed: {exc}", provider=provider)


def _make_parent(path: str, provider: str) -> None:
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the directory of the {provider} store {path}: {exc.strerror}"
        ) from exc


def _prepare(connection: sqlite3.Connection, location: str) -> None:
    """Settings of this connection, then the schema, created on first use."""
    connection.create_function("spacekit_contains", 2, _contains, deterministic=True)
    use_wal(connection, BUSY_TIMEOUT)
    claim(connection, location, _FILE)


def _contains(name: str, needle: str) -> bool:
    return needle in name.casefold()


def _row_id(space_id: str) -> int | None:
    """The row id an id string names, or None for ids this store never gives out."""
    if not (space_id.isascii() and space_id.isdigit()) or space_id.startswith("0") or len(space_id) > 19:
        return None  # 19 digits hold any row id; int() refuses thousands of them
    value = int(space_id)
    return value if value <= _MAX_ID else None


def _encode(column: str, value: Any) -> Any:
    if column == "admins":
        return json.dumps([{"kind": p.kind, "name": p.name} for p in value or ()])
    if column == "subspaces":
        return json.dumps([subspace.to_dict() for subspace in value or ()])
    if column == "kind":
        return SpaceKind(value or SpaceKind.WORKSPACE).value
    return value


def _timestamp(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _later(previous: datetime | None) -> str:
    """Now, or just after ``previous`` if the clock has not moved past it."""
    now = datetime.now(UTC)
    if previous is not None and now <= previous:
        now = previous + timedelta(microseconds=1)
    return _timestamp(now)
