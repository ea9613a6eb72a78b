"""Tests of the embedded stores (``spacekit/_local.py``, ``spacekit/_sqlite.py``).

Both pass the contract suite; the rest is what only a SQLite file has to keep:
ids never reused, several threads and processes at once, refusing a wrong file
without touching it, streaming long listings, and no sqlite3 exception reaching a
caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any

import platformdirs
import pytest

import spacekit
from spacekit import (
    Capability,
    ConfigError,
    Conflict,
    NotFound,
    Principal,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    SpaceKind,
    Subspace,
    Unsupported,
    ValidationError,
    _registry,
    _sqlite,
)
from spacekit._local import AsyncSQLiteStore, SQLiteStore, local_plugin, memory_plugin
from spacekit.testing import SpaceStoreContract


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "spaces.db")


@pytest.fixture
def local(path: str) -> Iterator[spacekit.SpaceStore]:
    with spacekit.connect("local", path=path) as store:
        yield store


@pytest.fixture
def memory() -> Iterator[spacekit.SpaceStore]:
    with spacekit.connect("memory") as store:
        yield store


class TestLocalContract(SpaceStoreContract):
    @pytest.fixture
    def store(self, local: spacekit.SpaceStore) -> spacekit.SpaceStore:
        return local

    @pytest.fixture
    async def async_store(self, path: str) -> AsyncIterator[spacekit.AsyncSpaceStore]:
        async with spacekit.connect_async("local", path=path) as store:
            yield store


class TestMemoryContract(SpaceStoreContract):
    @pytest.fixture
    def store(self, memory: spacekit.SpaceStore) -> spacekit.SpaceStore:
        return memory

    @pytest.fixture
    async def async_store(self) -> AsyncIterator[spacekit.AsyncSpaceStore]:
        async with spacekit.connect_async("memory") as store:
            yield store


def digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the plugins -----------------------------------------------------------------------


def test_plugins_are_registered_under_their_names() -> None:
    assert _registry.load("local") is local_plugin
    assert _registry.load("memory") is memory_plugin


@pytest.mark.parametrize("plugin", [local_plugin, memory_plugin], ids=["local", "memory"])
def test_plugins_declare_every_capability_but_tokens(plugin: spacekit.plugin.Plugin) -> None:
    assert plugin.capabilities == frozenset(Capability) - {
        Capability.TOKENS,
        Capability.REQUEST,
    }
    assert plugin.emulator() is None
    assert plugin.summary


def test_stores_describe_themselves(
    local: spacekit.SpaceStore, memory: spacekit.SpaceStore, path: str
) -> None:
    assert (local.provider, local.location) == ("local", path)
    assert (memory.provider, memory.location) == ("memory", ":memory:")
    assert repr(local) == f"<SQLiteStore local {path}>"
    assert local.writable_fields == {
        "name",
        "description",
        "kind",
        "owner",
        "admins",
        "subspaces",
        "image_url",
    }
    assert set(local.create_options) == {"kind", "owner", "admins", "subspaces", "image_url"}
    assert not local.create_options["admins"].configurable  # not offered on the command line
    assert isinstance(local, SQLiteStore)


def test_local_store_tokens_are_unsupported(local: spacekit.SpaceStore) -> None:
    space = local.create("tokenless")
    with pytest.raises(Unsupported):
        local.create_token(space.id)


def test_each_memory_store_starts_empty() -> None:
    with spacekit.connect("memory") as first:
        first.create("only in the first")
        with spacekit.connect("memory") as second:
            assert list(second.list()) == []
        assert [space.name for space in first.list()] == ["only in the first"]


def test_default_path_is_in_the_user_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data" / "spacekit"
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda appname: str(data))
    with local_plugin.open(local_plugin.check_settings({})) as store:
        store.create("stored by default")
        assert store.location == str(data / "spaces.db")
    assert (data / "spaces.db").is_file()


def test_path_expands_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with spacekit.connect("local", path="~/nested/dir/my.db") as store:
        assert store.location == str(tmp_path / "nested" / "dir" / "my.db")
    assert (tmp_path / "nested" / "dir" / "my.db").is_file()


def test_open_async_gives_an_async_store(path: str) -> None:
    store = local_plugin.open_async({"path": path})
    assert isinstance(store, AsyncSQLiteStore)
    asyncio.run(store.aclose())


# -- what a space holds ----------------------------------------------------------------


def test_create_keeps_what_a_migration_brings(path: str) -> None:
    admins = (Principal("user", "ada"), Principal("group", "ops"))
    subspaces = (Subspace("ada", "repo", True), Subspace("bob", "other", None))
    with spacekit.connect("local", path=path) as store:
        created = store.create(
            "backup",
            "from elsewhere",
            kind=SpaceKind.ORGANIZATION,
            owner="ada",
            admins=list(admins),
            subspaces=subspaces,
            image_url="https://example.com/a.png",
        )
    with spacekit.connect("local", path=path) as store:
        space = store.get(created.id)
    assert space == created
    assert (space.kind, space.owner, space.admins, space.subspaces) == (
        SpaceKind.ORGANIZATION,
        "ada",
        admins,
        subspaces,
    )
    assert space.image_url == "https://example.com/a.png"
    assert space.raw["id"] == int(space.id)
    assert space.raw["name"] == "backup"


def test_kind_may_be_given_as_its_value(memory: spacekit.SpaceStore) -> None:
    assert memory.create("user space", kind="user").kind is SpaceKind.USER
    assert memory.create("plain").kind is SpaceKind.WORKSPACE


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "galaxy"},
        {"kind": 3},
        {"owner": 12},
        {"image_url": b"bytes"},
        {"admins": ["ada"]},
        {"admins": Principal("user", "ada")},
        {"subspaces": [{"owner": "a", "name": "b"}]},
        {"colour": "blue"},
    ],
    ids=repr,
)
def test_bad_create_options_are_refused_before_storing(
    memory: spacekit.SpaceStore, options: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        memory.create("refused", **options)
    assert list(memory.list()) == []


def test_timestamps_are_aware_utc_and_updated_at_moves(memory: spacekit.SpaceStore) -> None:
    created = memory.create("timed")
    assert created.created_at is not None and created.created_at.tzinfo is UTC
    assert created.updated_at == created.created_at
    first = memory.update(created.id, name="timed again")
    second = memory.update(created.id, description="still timed")
    assert first.created_at == second.created_at == created.created_at
    assert created.updated_at < first.updated_at < second.updated_at  # type: ignore[operator]


def test_update_can_clear_the_description(memory: spacekit.SpaceStore) -> None:
    space = memory.create("described", "words")
    assert memory.update(space.id, description=None).description is None
    assert memory.get(space.id).name == "described"


# -- ids -------------------------------------------------------------------------------


def test_ids_are_never_reused(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        first, last = store.create("first"), store.create("last")
        store.delete(last.id)
    with spacekit.connect("local", path=path) as store:
        again = store.create("again")
    assert int(first.id) < int(last.id) < int(again.id)


@pytest.mark.parametrize(
    "space_id", ["abc", "0", "007", "-1", "1.0", "٣", "99999999999999999999999", "9" * 5000, "1" + "0" * 5000]
)
def test_ids_this_store_never_gives_are_not_found(memory: spacekit.SpaceStore, space_id: str) -> None:
    memory.create("one")  # id "1" exists, so only the form of the id can make these fail
    with pytest.raises(NotFound) as caught:
        memory.get(space_id)
    assert caught.value.provider == "memory" and len(str(caught.value)) < 200
    for call in (
        memory.delete,
        lambda i: memory.update(i, name="x"),
        lambda i: memory.get_subspace(i, "a"),
        lambda i: memory.create_subspace(i, "a"),
    ):
        with pytest.raises(NotFound):
            call(space_id)


# -- listing ---------------------------------------------------------------------------


def test_query_is_case_insensitive_and_literal(memory: spacekit.SpaceStore) -> None:
    for name in ("Été à Paris", "ÉTÉ", "winter", "100% done", "100 done", "snake_case", "snakeXcase"):
        memory.create(name)
    assert [s.name for s in memory.list(query="été")] == ["Été à Paris", "ÉTÉ"]
    assert [s.name for s in memory.list(query="%")] == ["100% done"]
    assert [s.name for s in memory.list(query="_")] == ["snake_case"]
    assert [s.name for s in memory.list(query="")] == [s.name for s in memory.list()]


def test_list_streams_in_pages(memory: spacekit.SpaceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(3000):
        memory.create(f"space {number}" + (" marked" if number % 3 == 0 else ""))
    pages: list[int] = []
    page = _sqlite.Database.page

    def counted(self: _sqlite.Database, query: str | None, after: int) -> Any:
        pages.append(after)
        return page(self, query, after)

    monkeypatch.setattr(_sqlite.Database, "page", counted)
    listing = memory.list()
    assert pages == []  # nothing is read before the first space is asked for
    assert next(listing).name == "space 0 marked"
    assert len(pages) == 1
    rest = list(listing)
    assert len(rest) == 2999
    assert pages == [0, 500, 1000, 1500, 2000, 2500, 3000]
    ids = [int(space.id) for space in rest]
    assert ids == sorted(ids) and len(set(ids)) == 2999
    assert len(list(memory.list(query="MARKED"))) == 1000


async def test_async_list_streams_in_pages(path: str) -> None:
    async with spacekit.connect_async("local", path=path) as store:
        made = [(await store.create(f"async {n}")).id for n in range(1203)]
        assert [space.id async for space in store.list()] == made
        assert [space.name async for space in store.list(query="async 120")] == [
            "async 120",
            *(f"async {n}" for n in range(1200, 1203)),
        ]


# -- several connections and processes -------------------------------------------------

WRITER = """
import sys, time, spacekit
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # start together, the file not yet made
with spacekit.connect("local", path=sys.argv[1]) as store:
    for number in range(50):
        store.create(f"{sys.argv[2]} {number}")
"""


def test_two_processes_write_at_once(path: str) -> None:
    start = str(time.time() + 0.5)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, path, tag, start], stderr=subprocess.PIPE, text=True)
        for tag in ("left", "right")
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=60)
        assert writer.returncode == 0, errors
    with spacekit.connect("local", path=path) as store:
        spaces = list(store.list())
    assert len({space.id for space in spaces}) == 100
    assert {space.name for space in spaces} == {f"{tag} {n}" for tag in ("left", "right") for n in range(50)}


def test_file_is_in_wal_mode_with_a_versioned_schema(local: spacekit.SpaceStore, path: str) -> None:
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (_sqlite.SCHEMA_VERSION,)
        assert raw.execute("PRAGMA application_id").fetchone() == (_sqlite.APPLICATION_ID,)
    raw.close()


def test_a_lock_held_too_long_is_provider_unavailable(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT", 0.1)
    with spacekit.connect("local", path=path) as store:
        space = store.create("before the lock")
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(ProviderUnavailable, match="locked"):
                store.create("while locked")
            with pytest.raises(ProviderUnavailable):
                store.update(space.id, name="while locked")
            assert store.get(space.id).name == "before the lock"  # WAL readers are not blocked
        finally:
            holder.close()
        assert store.create("after the lock").name == "after the lock"


async def test_async_store_sees_what_the_sync_store_wrote(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        written = store.create("from sync", "text", owner="ada")
    async with spacekit.connect_async("local", path=path) as astore:
        assert await astore.get(written.id) == written
        made = await asyncio.gather(*(astore.create(f"parallel {n}") for n in range(20)))
    assert len({space.id for space in made}) == 20
    with spacekit.connect("local", path=path) as store:
        assert [space.id for space in store.list(query="parallel")] == sorted(
            (space.id for space in made), key=int
        )


# -- several threads writing at once ---------------------------------------------------


class Gate:
    """A store's connection, seen through a proxy: holds the first statement starting
    with ``hold`` until ``release`` is set, fails the next ``COMMIT`` with ``fail``, and
    records the first word of every statement."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.hold: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.fail: sqlite3.Error | None = None
        self.statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self.statements.append(sql.split()[0])
        if self.hold is not None and sql.startswith(self.hold):
            self.hold = None
            self.held.set()
            assert self.release.wait(10), "the gate was never released"
        if sql == "COMMIT" and self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        return self.connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


@pytest.fixture
def gated(local: spacekit.SpaceStore) -> tuple[spacekit.SpaceStore, _sqlite.Database, Gate]:
    assert isinstance(local, SQLiteStore)
    database = local._database
    gate = Gate(database._connection)
    database._connection = gate  # type: ignore[assignment]
    return local, database, gate


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def batch_behind(
    database: _sqlite.Database, gate: Gate, pool: ThreadPoolExecutor, calls: list[Callable[[], Any]]
) -> list[Future[Any]]:
    """Start ``calls`` while the write holding ``gate`` leads, once all have queued."""
    assert gate.held.wait(10)
    futures = [pool.submit(call) for call in calls]
    until(lambda: len(database._writes._queue) == len(calls))
    return futures


def test_many_threads_creating_at_once_get_every_space_once(local: spacekit.SpaceStore) -> None:
    start = threading.Barrier(8)

    def create(thread: int) -> list[spacekit.Space]:
        start.wait()
        return [local.create(f"thread {thread} space {n}", owner=f"t{thread}") for n in range(200)]

    with ThreadPoolExecutor(8) as pool:
        made = [space for spaces in pool.map(create, range(8), timeout=60) for space in spaces]
    stored = list(local.list())
    assert len(stored) == len(made) == 1600
    assert len({space.id for space in made}) == 1600
    assert {space.id: space for space in stored} == {space.id: space for space in made}
    assert {space.name for space in stored} == {f"thread {t} space {n}" for t in range(8) for n in range(200)}


def test_a_lone_write_uses_no_savepoint(gated: tuple[spacekit.SpaceStore, _sqlite.Database, Gate]) -> None:
    store, _, gate = gated
    store.create("alone")
    assert gate.statements == ["BEGIN", "INSERT", "SELECT", "COMMIT"]


def test_writes_waiting_together_commit_once_and_fail_alone(
    gated: tuple[spacekit.SpaceStore, _sqlite.Database, Gate],
) -> None:
    store, database, gate = gated
    holder = store.create("holder")
    store.create_subspace(holder.id, "taken")
    gate.hold = "INSERT"
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(store.create, "first")
        futures = batch_behind(
            database,
            gate,
            pool,
            [
                lambda: store.create("second"),
                lambda: store.update("999", name="nowhere"),
                lambda: store.create_subspace(holder.id, "TAKEN"),
                lambda: store.create("bad owner", owner="lone \ud800"),
                lambda: store.update(holder.id, description="changed"),
                lambda: store.create("third"),
            ],
        )
        gate.statements.clear()
        gate.release.set()
        second, missing, taken, unencodable, changed, third = futures
        assert first.result(timeout=10).name == "first"
        assert second.result(timeout=10).name == "second"
        with pytest.raises(NotFound, match="999"):
            missing.result(timeout=10)
        with pytest.raises(Conflict, match="TAKEN"):
            taken.result(timeout=10)
        with pytest.raises(ValidationError, match="Unicode"):
            unencodable.result(timeout=10)
        assert changed.result(timeout=10).description == "changed"
        assert third.result(timeout=10).name == "third"
    assert gate.statements.count("BEGIN") == 0  # all in the transaction of "first"
    assert gate.statements.count("COMMIT") == 1
    assert gate.statements.count("SAVEPOINT") == 6
    assert [space.name for space in store.list()] == ["holder", "first", "second", "third"]
    assert store.get(holder.id).description == "changed"
    assert [subspace.name for subspace in store.get(holder.id).subspaces] == ["taken"]


def test_a_failed_commit_fails_every_write_of_its_batch(
    gated: tuple[spacekit.SpaceStore, _sqlite.Database, Gate],
) -> None:
    store, database, gate = gated
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
    gate.hold, gate.fail = "INSERT", full
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(store.create, "first")
        futures = batch_behind(
            database,
            gate,
            pool,
            [
                lambda: store.create("second"),
                lambda: store.update("999", name="nowhere"),
                lambda: store.create("third"),
            ],
        )
        gate.release.set()
        second, missing, third = futures
        errors = []
        for future in (first, second, third):
            with pytest.raises(ProviderUnavailable, match="disk is full") as raised:
                future.result(timeout=10)
            assert raised.value.__cause__ is full
            errors.append(raised.value)
        with pytest.raises(NotFound):  # failed alone: its own error stands
            missing.result(timeout=10)
    assert len({id(error) for error in errors}) == 3  # one exception object per caller
    assert list(store.list()) == []
    assert store.create("after").name == "after"


def test_closing_fails_the_writes_still_waiting(
    gated: tuple[spacekit.SpaceStore, _sqlite.Database, Gate],
) -> None:
    store, database, gate = gated
    gate.hold = "COMMIT"  # after the last writes joined the batch of "first"
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(store.create, "first")
        waiting = batch_behind(
            database, gate, pool, [lambda: store.create("second"), lambda: store.create("third")]
        )
        with database._writes._turn:  # "first" ends its batch only once the store is closed
            gate.release.set()
            pool.submit(store.close).result(timeout=10)
        assert first.result(timeout=10).name == "first"  # committed before the store closed
        for future in waiting:
            with pytest.raises(ProviderError, match=r"store .* is closed"):
                future.result(timeout=10)
    with spacekit.connect("local", path=store.location) as reopened:
        assert [space.name for space in reopened.list()] == ["first"]


# -- wrong files, left untouched -------------------------------------------------------


def other_program_database(path: str) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE notes (body TEXT)")
        raw.execute("INSERT INTO notes VALUES ('mine')")
    raw.close()


def newer_spacekit_store(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        store.create("from the future")
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    raw.close()


def other_program_wal_database(path: str) -> None:
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("CREATE TABLE notes (body TEXT)")
    raw.close()


# Nothing may appear beside a refused file: not even SQLite's -wal and -shm companions.
WRONG_FILES = {
    "garbage": (lambda path: Path(path).write_bytes(b"not a database at all\n" * 300), set()),
    "garbled SQLite": (lambda path: Path(path).write_bytes(b"SQLite format 3\x00" + b"\xff" * 8000), set()),
    "another program's database": (other_program_database, set()),
    "another program's WAL database": (other_program_wal_database, set()),
    "a newer schema": (newer_spacekit_store, set()),
}


@pytest.mark.parametrize(("make", "companions"), WRONG_FILES.values(), ids=WRONG_FILES.keys())
def test_a_wrong_file_is_a_config_error_and_left_untouched(
    tmp_path: Path, path: str, make: Any, companions: set[str]
) -> None:
    make(path)
    before, files = digest(path), set(os.listdir(tmp_path))
    for connect in (spacekit.connect, spacekit.connect_async):
        with pytest.raises(ConfigError, match=r"not a usable spacekit store|store .* is damaged") as caught:
            connect("local", path=path)
        assert path in str(caught.value)
    assert digest(path) == before
    assert set(os.listdir(tmp_path)) - files <= companions


def test_an_empty_file_becomes_a_store(path: str) -> None:
    Path(path).touch()
    with spacekit.connect("local", path=path) as store:
        assert store.create("first").id == "1"


def test_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        spacekit.connect("local", path=str(tmp_path))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_an_unreadable_file_is_a_config_error(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        store.create("hidden")
    os.chmod(path, 0)
    try:
        with pytest.raises(ConfigError, match="cannot read"):
            spacekit.connect("local", path=path)
    finally:
        os.chmod(path, 0o600)


def test_a_directory_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    with pytest.raises(ConfigError, match="cannot create the directory"):
        spacekit.connect("local", path=str(blocker / "sub" / "spaces.db"))


# -- no sqlite3 exception escapes ------------------------------------------------------


def test_a_closed_store_raises_a_spacekit_error(memory: spacekit.SpaceStore) -> None:
    space = memory.create("then closed")
    memory.close()
    memory.close()
    with pytest.raises(ProviderError, match="closed"):
        memory.get(space.id)


def test_text_sqlite_cannot_encode_is_a_validation_error(memory: spacekit.SpaceStore) -> None:
    with pytest.raises(ValidationError):
        memory.create("lone \ud800 surrogate")
    with pytest.raises(ValidationError):
        list(memory.list(query="\udfff"))
    assert list(memory.list()) == []


def test_a_row_that_cannot_be_read_is_a_protocol_error(local: spacekit.SpaceStore, path: str) -> None:
    space = local.create("soon broken")
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE spaces SET kind = 'galaxy'")
    raw.close()
    with pytest.raises(ProtocolError, match=f"space {space.id}"):
        local.get(space.id)


def test_corruption_found_while_in_use_is_a_config_error(local: spacekit.SpaceStore, path: str) -> None:
    for number in range(200):
        local.create(f"space {number} " + "x" * 200)
    local.close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    data = bytearray(Path(path).read_bytes())
    data[8192:16384] = b"\xee" * 8192  # garble the table's pages, keep the header and schema
    Path(path).write_bytes(bytes(data))
    with spacekit.connect("local", path=path) as store, pytest.raises(ConfigError, match="not a usable"):
        list(store.list())


def test_database_changes_only_known_columns() -> None:
    database = _sqlite.Database.open(_sqlite.MEMORY, provider="memory")
    space = database.insert({"name": "guarded"})
    with pytest.raises(ValidationError, match="id"):
        database.update(space.id, {"id": 7})
    database.close()
