"""A journal or a local store that survived a full disk opens again, with what its
``-wal`` holds (``spacekit/_sqlitefile.py``), and the run resumes without duplicates.

On a real small filesystem (a tmpfs, where this machine lets the tests mount one),
and without one: a checkpoint cut short as a full disk leaves it, and SQLITE_FULL
made by ``PRAGMA max_page_count``.
"""

from __future__ import annotations

import collections
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import spacekit
from spacekit import ConfigError
from spacekit._groupcommit import Write
from spacekit._migrate import migrate, verify
from spacekit._migrate._journal import _COLUMNS, Journal
from spacekit._migrate._record import UNRESOLVED, Action, Record, State
from spacekit._sqlite import Database

SPACES = 200
BIG = "x" * 3000  # a description that fills a small disk within a few dozen rows


def a_source() -> spacekit.SpaceStore:
    source = spacekit.connect("memory")
    for i in range(SPACES):
        source.create(f"space-{i:03d}", BIG)
    return source


def names(store: spacekit.SpaceStore) -> collections.Counter[str]:
    return collections.Counter(space.name for space in store.list())


def every_name_once() -> collections.Counter[str]:
    return collections.Counter(f"space-{i:03d}" for i in range(SPACES))


class Disk:
    """A tmpfs of 256 KiB mounted on ``path``; ``grow`` frees space (16 MiB)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def grow(self) -> None:
        subprocess.run(["mount", "-o", "remount,size=16m", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Disk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8); the simulated cases below run anyway")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not allow a tmpfs mount: {mounted.stderr.strip()}")
    try:
        yield Disk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def unresolved(journal: Path) -> int:
    with Journal.open(journal, create=False, read_only=True) as book:
        return sum(1 for record in book.records() if record.state in UNRESOLVED)


def test_a_journal_whose_disk_filled_mid_run_opens_and_the_run_resumes(tmp_path: Path, small_disk: Disk):
    source, journal = a_source(), small_disk.path / "j.db"
    with spacekit.connect("local", path=str(tmp_path / "t.db")) as target:
        with pytest.raises(ConfigError, match=r"disk holding the journal .* is full.*do not delete it"):
            migrate(source, target, journal=journal)
        assert max(names(target).values()) == 1
        small_disk.grow()
        # Opens (a dry look, from a copy). How many writes were left sent with their outcome
        # unknown depends on which statement met the full disk: often several, sometimes
        # none; test_a_journal_filling_its_disk_stops_the_run_and_it_resumes leaves them
        # deterministically.
        unresolved(journal)
        verify(source, target, journal=journal)  # opens
        report = migrate(source, target, journal=journal)
        assert report.ok, report.summary()
        assert names(target) == every_name_once()
    assert unresolved(journal) == 0


def test_a_local_store_whose_disk_filled_mid_run_opens_and_the_run_resumes(tmp_path: Path, small_disk: Disk):
    source, journal, path = a_source(), tmp_path / "j.db", str(small_disk.path / "t.db")
    with spacekit.connect("local", path=path) as target:
        first = migrate(source, target, journal=journal)
    assert not first.ok and first.failed
    small_disk.grow()
    with spacekit.connect("local", path=path) as target:
        assert max(names(target).values()) == 1
        verify(source, target, journal=journal)
        assert migrate(source, target, journal=journal).ok
        assert names(target) == every_name_once()


# -- without mounting anything ---------------------------------------------------------


def snapshot(path: Path, into: Path) -> Path:
    """The file and its -wal as a killed process leaves them (copied while open)."""
    into.mkdir()
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{path}{suffix}", into / f"{path.name}{suffix}")
    return into / path.name


def checkpoint_cut_short(path: Path) -> None:
    """Write the -wal's newest page 1 into the file, as a checkpoint stopped by a full
    disk after its first page leaves it: the file alone no longer reads."""
    wal = Path(f"{path}-wal").read_bytes()
    page = int.from_bytes(wal[8:12], "big")
    frames = range(32, len(wal) - (24 + page) + 1, 24 + page)
    newest = [wal[at + 24 : at + 24 + page] for at in frames if int.from_bytes(wal[at : at + 4], "big") == 1]
    with open(path, "r+b") as file:
        file.write(newest[-1])


def sent_journal(tmp_path: Path) -> Path:
    """A journal with 3 rows sent (outcome unknown), its file cut short, its -wal whole."""
    live = tmp_path / "live" / "j.db"
    live.parent.mkdir()
    book = Journal.open(live, create=True)
    for i in range(3):
        book.record(Record(f"id{i}", f"n{i}", None, Action.CREATE, State.SENT, f"n{i}", preexisting=()))
    copy = snapshot(live, tmp_path / "after")
    book.close()
    checkpoint_cut_short(copy)
    return copy


def test_a_journal_is_examined_with_its_wal_and_keeps_its_sent_rows(tmp_path: Path):
    journal = sent_journal(tmp_path)
    alone = sqlite3.connect(f"{journal.as_uri()}?mode=ro&immutable=1", uri=True)  # the file alone
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        alone.execute("SELECT count(*) FROM items").fetchone()
    alone.close()
    with Journal.open(journal, create=False, read_only=True) as book:
        assert [r.state for r in book.records()] == [State.SENT] * 3
    with Journal.open(journal, create=False) as book:
        assert [r.state for r in book.records()] == [State.SENT] * 3


def test_a_store_is_examined_with_its_wal(tmp_path: Path):
    live = tmp_path / "live" / "t.db"
    live.parent.mkdir()
    store = spacekit.connect("local", path=str(live))
    for i in range(5):
        store.create(f"s{i}", BIG)
    copy = snapshot(live, tmp_path / "after")
    store.close()
    checkpoint_cut_short(copy)
    with spacekit.connect("local", path=str(copy)) as reopened:
        assert len(names(reopened)) == 5


@pytest.mark.parametrize("kind", ["journal", "store"])
def test_a_file_is_called_damaged_only_when_the_integrity_check_fails(tmp_path: Path, kind: str):
    if kind == "journal":
        path = sent_journal(tmp_path)
        opened = lambda: Journal.open(path, create=False)  # noqa: E731
    else:
        live = tmp_path / "live" / "t.db"
        live.parent.mkdir()
        store = spacekit.connect("local", path=str(live))
        store.create("s", BIG)
        path = snapshot(live, tmp_path / "after")
        store.close()
        checkpoint_cut_short(path)
        opened = lambda: Database.open(str(path), provider="local")  # noqa: E731
    Path(f"{path}-wal").unlink()  # the records the file lacks are lost now: it is damaged
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="is damaged: SQLite's integrity check fails on it") as refused:
        opened()
    assert "left untouched" in str(refused.value) and ".recover" in str(refused.value)
    assert "delete" not in str(refused.value).replace("do not delete", "")
    assert path.read_bytes() == before


def disk_full() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = 13  # SQLITE_FULL, as SQLite raises it
    return error


def full_after(sent: int) -> Callable[[Journal, list[Write]], None]:
    """A journal's batch writer whose disk fills once ``sent`` writes are recorded as
    sent: the rows saying how they ended no longer fit, as on a real full disk."""
    write, recorded = Journal._batch, [0]
    state = _COLUMNS.index("state")

    def batch(book: Journal, writes: list[Write]) -> None:
        states = [entry.work[state] for entry in writes]
        if recorded[0] >= sent and State.SENT.value not in states:
            try:
                with book._session():
                    raise disk_full()
            except ConfigError as exc:
                for entry in writes:
                    entry.error = ConfigError(str(exc))
            return
        recorded[0] += states.count(State.SENT.value)
        write(book, writes)

    return batch


def test_a_journal_filling_its_disk_stops_the_run_and_it_resumes(tmp_path: Path):
    """SQLITE_FULL without a small disk: writes were sent, how they ended was not
    recorded; the next run finds them on the target and creates nothing twice."""
    source, journal = a_source(), tmp_path / "j.db"
    with spacekit.connect("local", path=str(tmp_path / "t.db")) as target:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Journal, "_batch", full_after(5))
            with pytest.raises(ConfigError, match=r"disk holding the journal .* is full.*do not delete it"):
                migrate(source, target, journal=journal)
        assert max(names(target).values()) == 1
        assert unresolved(journal) > 0
        verify(source, target, journal=journal)
        report = migrate(source, target, journal=journal)
        assert report.ok, report.summary()
        assert names(target) == every_name_once()
    assert unresolved(journal) == 0
