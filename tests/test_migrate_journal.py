"""The migration journal: resume without duplicates, identities, reconciliation, bad files."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from migrate_helpers import emulator, fast_store

import spacekit
from spacekit._migrate import Problem, migrate, verify
from spacekit._migrate._journal import Journal
from spacekit._migrate._record import Action, Record, State


@pytest.fixture
def source() -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    for i in range(6):
        store.create(f"space-{i}", f"about {i}")
    return store


def rows(path: Path) -> dict[str, tuple[str, str | None]]:
    with Journal.open(path, create=False) as journal:
        return {e.source_name: (e.state.value, e.target_id) for e in journal.records()}


def test_every_write_is_journaled_before_it_is_sent_and_after_it_is_answered(
    source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = spacekit.connect("memory")
    events: list[tuple[str, str]] = []
    record, create = Journal.record, target.create

    def logged_record(self: Journal, entry) -> None:  # type: ignore[no-untyped-def]
        record(self, entry)
        events.append((entry.state.value, entry.target_name))

    def logged_create(name: str, description=None, **options):  # type: ignore[no-untyped-def]
        events.append(("request", name))
        return create(name, description, **options)

    monkeypatch.setattr(Journal, "record", logged_record)
    monkeypatch.setattr(target, "create", logged_create)
    migrate(source, target, journal=tmp_path / "j.db", concurrency=1)
    assert events[:3] == [("sent", "space-0"), ("request", "space-0"), ("done", "space-0")]
    assert len(events) == 18


def test_the_journal_is_held_by_one_run_at_a_time(source, tmp_path: Path):
    with Journal.open(tmp_path / "j.db", create=True) as held:
        held.get("1")  # takes the exclusive lock
        with pytest.raises(spacekit.ConfigError, match="in use by another run"):
            migrate(source, spacekit.connect("memory"), journal=tmp_path / "j.db")


def test_resume_after_a_crash_between_send_and_answer(source, tmp_path: Path):
    """A row left "sent" (the process died mid-write) is looked up before writing again."""
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    journal = tmp_path / "j.db"
    migrate(source, target, journal=journal, select=["space-0", "space-1"])
    with Journal.open(journal, create=False) as book:  # simulate two writes in flight at the kill
        landed = target.create("space-2", "about 2")
        for name, sid in (("space-2", "3"), ("space-3", "4")):
            entry = book.get("1")
            assert entry is not None
            book.record(entry.__class__(sid, name, None, entry.action, State.SENT, name, None, None, None))
    report = migrate(source, target, journal=journal)
    assert report.ok
    assert sorted(s.name for s in target.list()) == [f"space-{i}" for i in range(6)]
    by_name = {i.source_name: i for i in report.items}
    assert by_name["space-2"].target_id == landed.id and "not written again" in (
        by_name["space-2"].reason or ""
    )
    assert by_name["space-0"].reason == "already migrated (journal)"
    assert all(state == "done" for state, _ in rows(journal).values())
    assert verify(source, target, journal=journal).ok


def test_rerunning_a_finished_migration_writes_nothing(source, tmp_path: Path):
    neuroio = emulator("neuroio")
    journal = tmp_path / "j.db"
    assert migrate(source, fast_store(neuroio), journal=journal, on_conflict="rename").ok
    before = len(neuroio.requests)
    again = migrate(source, fast_store(neuroio), journal=journal, on_conflict="rename")
    assert again.counts["skipped"] == 6
    assert {r.method for r in neuroio.requests[before:]} == {"GET"}


def test_the_journal_refuses_another_pair(source, tmp_path: Path):
    journal = tmp_path / "j.db"
    target = spacekit.connect("local", path=str(tmp_path / "a.db"))
    migrate(source, target, journal=journal)
    other = spacekit.connect("local", path=str(tmp_path / "b.db"))
    with pytest.raises(spacekit.ConfigError, match="belongs to a migration from memory"):
        migrate(source, other, journal=journal)
    with pytest.raises(spacekit.ConfigError, match="belongs to"):
        verify(source, other, journal=journal)
    assert list(other.list()) == []


def test_the_journal_holds_no_secret(source, tmp_path: Path):
    datablist = emulator("datablist")
    journal = tmp_path / "j.db"
    migrate(source, fast_store(datablist), journal=journal)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    secret = datablist.connect_settings("http://x")["api_key"].encode()
    assert secret not in data and b"datablist" in data


@pytest.mark.parametrize("content", [b"not a database at all", None])
def test_a_file_that_is_not_a_journal_is_refused_untouched(source, tmp_path: Path, content):
    path = tmp_path / "other.db"
    if content is None:
        spacekit.connect("local", path=str(path)).close()  # a spacekit store, not a journal
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(spacekit.ConfigError, match="not a spacekit migration journal"):
        migrate(source, spacekit.connect("memory"), journal=path)
    assert path.read_bytes() == before


def test_an_unwritable_journal_is_a_config_error(source, tmp_path: Path):
    with pytest.raises(spacekit.ConfigError):
        migrate(source, spacekit.connect("memory"), journal=tmp_path / "missing-dir" / "j.db")
    with pytest.raises(spacekit.ConfigError, match="no migration journal"):
        verify(source, spacekit.connect("memory"), journal=tmp_path / "none.db")


def test_verify_with_a_journal_checks_the_selection_and_expected_renames(source, tmp_path: Path):
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    target.create("space-0")
    journal = tmp_path / "j.db"
    migrate(source, target, journal=journal, select=["space-[0-3]"], on_conflict="rename")
    assert verify(source, target, journal=journal).ok  # "space-0 (2)" is the expected name
    source.create("space-3b")  # not selected: not checked
    source.create("space-2", "a second one")  # selected, never migrated
    report = verify(source, target, journal=journal)
    assert [(p.source_name, p.problem) for p in report.problems] == [("space-2", Problem.MISSING)]


def test_secrets_echoed_by_a_provider_reach_neither_journal_nor_report(tmp_path: Path):
    import json

    neuroio, datablist = emulator("neuroio"), emulator("datablist")
    source = fast_store(neuroio)
    for i in range(3):
        source.create(f"echo-{i}")
    target = fast_store(datablist)
    list(target.list())  # obtain an access token, so the provider can echo it
    access = datablist.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    api_key = datablist.connect_settings("http://x")["api_key"]
    neuroio_token = neuroio.connect_settings("http://x")["token"]
    # Each store scrubs its own credentials: the target can only echo what it was sent.
    echo = json.dumps({"message": f"refused {api_key} {access}"})
    datablist.faults.fail(400, times=3, method="POST", path="^/$", body=echo)
    report = migrate(source, target, journal=tmp_path / "j.db")
    assert report.failed, "the echoing answers must have failed their items"
    shown = json.dumps(report.to_dict()) + report.summary()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (api_key, access, neuroio_token):
        assert secret not in shown
        assert secret.encode() not in stored
    assert "***" in shown


def test_verify_looks_on_the_target_for_a_space_the_journal_does_not_know(source, tmp_path: Path):
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    journal = tmp_path / "j.db"
    assert migrate(source, target, journal=journal).ok
    source.create("space-9", "late")
    report = verify(source, target, journal=journal)
    assert [(p.source_name, p.problem) for p in report.problems] == [("space-9", Problem.MISSING)]
    target.create("space-9", "late")  # copied some other way: it is there, once
    assert verify(source, target, journal=journal).ok


class _Gate:
    """The journal's connection, able to hold the first write leading a batch at its
    INSERT (so that others queue behind it) and to fail the next COMMIT."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.hold = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.fail: sqlite3.Error | None = None
        self.commits = 0

    def executemany(self, sql: str, rows: Any) -> Any:
        if self.hold:
            self.hold = False
            self.held.set()
            assert self.release.wait(10), "the gate was never released"
        return self.connection.executemany(sql, rows)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            self.commits += 1
            if self.fail is not None:
                error, self.fail = self.fail, None
                raise error
        return self.connection.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)


def _records(count: int, prefix: str = "s") -> list[Record]:
    made = []
    for n in range(count):
        record = Record(f"{prefix}{n}", f"name {prefix}{n}", None)
        record.action, record.target_name, record.preexisting = Action.CREATE, record.source_name, ()
        made.append(record.advance(State.SENT))
    return made


def _queued(journal: Journal, gate: _Gate, pool: ThreadPoolExecutor, records: list[Record]) -> list[Any]:
    """Send ``records`` from other threads while the gated write leads; return once all queued."""
    assert gate.held.wait(10)
    futures = [pool.submit(journal.record, record) for record in records]
    deadline = time.monotonic() + 10
    while len(journal._writes._queue) < len(records):
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.001)
    return futures


def test_rows_written_by_many_threads_at_once_are_all_committed(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    records = _records(800)
    with Journal.open(path, create=True) as journal, ThreadPoolExecutor(8) as pool:
        list(pool.map(journal.record, records, timeout=60))
    with Journal.open(path, create=False) as journal:
        assert {r.source_id: r.state for r in journal.records()} == {r.source_id: State.SENT for r in records}


def test_writes_that_queue_while_a_row_is_written_share_its_commit(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.db", create=True) as journal:
        gate = _Gate(journal._connection)
        journal._connection = gate
        gate.hold = True
        with ThreadPoolExecutor(8) as pool:
            first = pool.submit(journal.record, _records(1, "first")[0])
            queued = _queued(journal, gate, pool, _records(6))
            gate.release.set()
            for future in [first, *queued]:
                assert future.result(10) is None
        assert gate.commits == 1  # the six queued while the first was written joined its commit
        assert len(list(journal.records())) == 7


def test_a_failed_commit_reaches_every_writer_of_the_batch_and_keeps_no_row(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.db", create=True) as journal:
        gate = _Gate(journal._connection)
        journal._connection = gate
        journal.record(_records(1, "before")[0])
        gate.hold = True
        with ThreadPoolExecutor(8) as pool:
            first = pool.submit(journal.record, _records(1, "first")[0])
            queued = _queued(journal, gate, pool, _records(3))
            gate.fail = sqlite3.OperationalError("database or disk is full")
            gate.release.set()
            errors = []
            for future in [first, *queued]:
                with pytest.raises(spacekit.ConfigError, match="disk is full") as caught:
                    future.result(10)
                errors.append(caught.value)
        assert len({id(error) for error in errors}) == 4  # each writer its own error
        assert [r.source_id for r in journal.records()] == ["before0"]
        journal.record(_records(1, "after")[0])  # the journal still works
        assert [r.source_id for r in journal.records()] == ["after0", "before0"]


def test_only_the_spaces_a_journal_holds_are_looked_up_in_it(
    source: spacekit.SpaceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    get = Journal.get

    def counted(self: Journal, source_id: str) -> Record | None:
        looked_up.append(source_id)
        return get(self, source_id)

    monkeypatch.setattr(Journal, "get", counted)
    journal = tmp_path / "j.db"
    first = migrate(source, spacekit.connect("memory"), journal=journal, select=["space-1", "space-4"])
    assert first.ok and looked_up == []  # a new journal holds nothing: no row read per space
    target = spacekit.connect("memory")
    again = migrate(source, target, journal=journal)
    assert sorted(looked_up) == [s.id for s in source.list() if s.name in ("space-1", "space-4")]
    assert again.counts["created"] == 6  # the earlier copies are not on this target: made again
