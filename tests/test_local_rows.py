"""The local store's row decoding: a ``Space`` assembled from a row is the very
``Space`` its constructor would make, and its ``raw`` is the row as a mapping."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import spacekit
from spacekit import Principal, Space, Subspace


@pytest.fixture
def store(tmp_path: Path) -> spacekit.SpaceStore:
    return spacekit.connect("local", path=str(tmp_path / "spaces.db"))


def test_an_assembled_space_equals_the_constructed_one(store: spacekit.SpaceStore) -> None:
    made = store.create(
        "Data",
        description="team data",
        kind="organization",
        owner="alice",
        admins=[Principal("user", "alice")],
        subspaces=[Subspace("data", "repo", is_admin=True)],
        image_url="https://example.com/a.png",
    )
    listed = next(iter(store.list()))
    for space in (made, store.get(made.id), listed):
        rebuilt = Space(**{field.name: getattr(space, field.name) for field in attrs.fields(Space)})
        assert space == rebuilt and hash(space) == hash(rebuilt) and repr(space) == repr(rebuilt)
        assert space.to_dict() == rebuilt.to_dict()
        assert Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space
        assert space.created_at is not None and space.created_at.utcoffset() is not None
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            space.name = "changed"  # type: ignore[misc]


def test_raw_is_the_row_as_a_read_only_mapping(store: spacekit.SpaceStore) -> None:
    space = store.create("Plain")
    raw = space.raw
    assert raw["name"] == "Plain" and raw["id"] == int(space.id) and raw["admins"] == "[]"
    assert set(raw) == {
        "id",
        "name",
        "kind",
        "description",
        "owner",
        "admins",
        "subspaces",
        "image_url",
        "created_at",
        "updated_at",
    }
    assert dict(raw) == json.loads(json.dumps(dict(raw)))
    assert raw == dict(raw) and len(raw) == 10 and "nope" not in raw
    with pytest.raises(KeyError):
        raw["nope"]
    with pytest.raises(TypeError):
        raw["name"] = "x"  # type: ignore[index]


def test_a_row_that_cannot_be_read_is_a_protocol_error(store: spacekit.SpaceStore, tmp_path: Path) -> None:
    import sqlite3

    space = store.create("Broken")
    store.close()
    with sqlite3.connect(tmp_path / "spaces.db") as db:
        db.execute("UPDATE spaces SET created_at = 'yesterday' WHERE id = ?", [int(space.id)])
    with spacekit.connect("local", path=str(tmp_path / "spaces.db")) as reopened:
        with pytest.raises(spacekit.ProtocolError, match="cannot be read"):
            reopened.get(space.id)
        with pytest.raises(spacekit.ProtocolError):
            list(reopened.list())
