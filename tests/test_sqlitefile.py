"""The guard shared by spacekit's own SQLite files (``spacekit/_sqlitefile.py``).

``test_local.py`` covers it through the store; here, the same promise is checked for
both kinds of file: a wrong file is refused before anything is written to it, even
the switch to WAL mode that opening one of ours makes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spacekit import ConfigError
from spacekit._migrate._journal import Journal
from spacekit._sqlite import Database

OPENERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "store": (lambda path: Database.open(path, provider="local"), "not a usable spacekit store"),
    "journal": (lambda path: Journal.open(path, create=True), "not a spacekit migration journal"),
}


def raw(path: str, *statements: str) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


@pytest.mark.parametrize(("open_file", "refusal"), OPENERS.values(), ids=OPENERS.keys())
def test_another_programs_database_is_refused_untouched(
    tmp_path: Path, open_file: Callable[[str], Any], refusal: str
) -> None:
    path = str(tmp_path / "other.db")
    raw(path, "CREATE TABLE notes (body TEXT)")  # in the default rollback-journal mode
    before = Path(path).read_bytes()
    with pytest.raises(ConfigError, match=f"{refusal} .a SQLite database of another program"):
        open_file(path)
    assert Path(path).read_bytes() == before


@pytest.mark.parametrize(("open_file", "refusal"), OPENERS.values(), ids=OPENERS.keys())
def test_a_newer_schema_is_refused_untouched(
    tmp_path: Path, open_file: Callable[[str], Any], refusal: str
) -> None:
    path = str(tmp_path / "ours.db")
    open_file(path).close()
    raw(path, "PRAGMA user_version = 99")
    before = Path(path).read_bytes()
    with pytest.raises(ConfigError, match=f"{refusal} .schema version 99, from a newer spacekit"):
        open_file(path)
    assert Path(path).read_bytes() == before


# -- places that are not regular files ---------------------------------------------------


@pytest.mark.parametrize("where", ["/dev/null", "/dev/zero", "{tmp}", "{tmp}/fifo", "{tmp}/file/db"])
def test_a_store_or_journal_path_that_is_not_a_regular_file_is_a_config_error(
    tmp_path: Path, where: str
) -> None:
    import os

    import spacekit
    from spacekit._migrate._journal import Journal

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("in the way")
    path = where.format(tmp=tmp_path)
    with pytest.raises(spacekit.ConfigError) as caught:
        spacekit.connect("local", path=path)
    assert path in str(caught.value)
    with pytest.raises(spacekit.ConfigError):
        Journal.open(path, create=True)


def test_opening_a_store_already_ours_writes_nothing_and_waits_for_no_writer(tmp_path: Path) -> None:
    """Reading a store (``spacekit spaces list``) takes no write lock and syncs nothing."""
    path = str(tmp_path / "ours.db")
    Database.open(path, provider="local").close()
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        files = [Path(path), Path(f"{path}-wal")]
        before = [file.read_bytes() for file in files]
        store = Database.open(path, provider="local")  # were it to write: "locked" after 5 s
        assert store.page(None, 0) == ([], None)
        store.close()
        assert [file.read_bytes() for file in files] == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()
