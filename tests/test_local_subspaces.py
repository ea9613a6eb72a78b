"""Subspaces in the embedded stores (spacekit._local, spacekit._sqlite): kept with the
space, in full, across processes and schema versions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import spacekit
from spacekit import Member, Subspace
from spacekit._sqlite import SCHEMA_VERSION


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "spaces.db")


def test_a_subspace_is_kept_in_full_and_read_back_after_reopening(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        space = store.create("holder")
        made = store.create_subspace(space.id, "repo-1", description="notes", private=False)
        assert made == Subspace(space.id, "repo-1", is_admin=True, description="notes", private=False)
        before = store.get(space.id).updated_at
    with spacekit.connect("local", path=path) as store:
        assert store.get_subspace(space.id, "repo-1") == made
        assert store.get(space.id).subspaces == (made,)
        assert before is not None and space.updated_at is not None and before > space.updated_at


def test_migrated_subspaces_keep_members_and_visibility(path: str) -> None:
    carried = Subspace(
        "alice",
        "repo1",
        True,
        "shared",
        True,
        (Member("user", "alice", "admin"), Member("group", "eng", "accessor")),
    )
    with spacekit.connect("local", path=path) as store:
        space = store.create("copied", subspaces=[carried])
    with spacekit.connect("local", path=path) as store:
        assert store.get_subspace(space.id, "repo1") == carried
        with pytest.raises(spacekit.Conflict):
            store.create_subspace(space.id, "REPO1")  # names compare ignoring case
        with pytest.raises(spacekit.NotFound):
            store.get_subspace(space.id, "Repo1")  # but are read exactly
        with pytest.raises(spacekit.NotFound):
            store.create_subspace("999", "repo")


def test_a_version_1_file_is_upgraded_and_an_older_spacekit_would_refuse_it(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        space = store.create("old")
    with sqlite3.connect(path) as raw:  # what spacekit wrote before subspaces had details
        raw.execute("UPDATE spaces SET subspaces = ?", ['[{"owner": "o", "name": "r", "is_admin": null}]'])
        raw.execute("PRAGMA user_version = 1")
    raw.close()
    with spacekit.connect("local", path=path) as store:
        assert store.get(space.id).subspaces == (Subspace("o", "r"),)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) == (2,)
    raw.close()


def test_two_processes_adding_the_same_name_keep_one(path: str) -> None:
    with spacekit.connect("local", path=path) as store:
        space = store.create("contended")
    code = (
        "import spacekit, sys\n"
        f"s = spacekit.connect('local', path={path!r})\n"
        "made = 0\n"
        "for i in range(30):\n"
        "    try:\n"
        f"        s.create_subspace({space.id!r}, f'r{{i}}'); made += 1\n"
        "    except spacekit.Conflict:\n"
        "        pass\n"
        "print(made)\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    made = [int(w.communicate(timeout=60)[0]) for w in writers]
    assert sum(made) == 30
    with spacekit.connect("local", path=path) as store:
        assert sorted(s.name for s in store.get(space.id).subspaces) == sorted(f"r{i}" for i in range(30))


async def test_the_async_store_too(path: str) -> None:
    async with spacekit.connect_async("local", path=path) as store:
        space = await store.create("async")
        await store.create_subspace(space.id, "a_1")
        assert (await store.get_subspace(space.id, "a_1")).private is True
        with pytest.raises(spacekit.ValidationError):
            await store.create_subspace(space.id, "a 1")
        with pytest.raises(spacekit.ValidationError):
            await store.create_subspace(space.id, "a1", private="yes")  # type: ignore[arg-type]
