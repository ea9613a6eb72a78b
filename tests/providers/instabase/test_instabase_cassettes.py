"""Replays of the recorded Instabase exchanges (cassettes/instabase/, made by scripts/record_instabase.py).

No emulator here: the store talks to https://www.instabase.com and vcrpy answers
from the cassette (record mode "none"), so any request that was not recorded fails.
``documented_list.yaml`` holds the documentation's example answer, made valid JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from spacekit_instabase._emulator import DOCUMENTED_SPACES

import spacekit
from spacekit import Member, Principal, SpaceKind, Subspace

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "instabase"
REPLAY_TOKEN = "replay-token-unused-here"

#: every field of the documentation's two spaces, normalized
EXPECTED: list[dict[str, Any]] = [
    {
        "provider": "instabase",
        "id": "alice",
        "name": "Alice's Space",
        "kind": SpaceKind.USER,
        "description": "Alice's private user space",
        "owner": None,
        "admins": (Principal("user", "alice"),),
        "subspaces": (Subspace("alice", "repo1", True), Subspace("alice", "repo2", True)),
        "image_url": "https://alice.jpg",
        "is_admin": True,
        "created_at": None,
        "updated_at": None,
        "raw": DOCUMENTED_SPACES[0],
    },
    {
        "provider": "instabase",
        "id": "ib_eng",
        "name": "Engineering Organization",
        "kind": SpaceKind.ORGANIZATION,
        "description": "The engineering organization",
        "owner": None,
        "admins": (Principal("user", "eng-lead"),),
        "subspaces": (Subspace("ib_eng", "repo1", False), Subspace("ib_eng", "repo2", False)),
        "image_url": "https://eng.jpg",
        "is_admin": True,
        "created_at": None,
        "updated_at": None,
        "raw": DOCUMENTED_SPACES[1],
    },
]


def fields(space: spacekit.Space) -> dict[str, Any]:
    return {name: getattr(space, name) for name in EXPECTED[0]} | {"raw": dict(space.raw)}


def interactions(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((CASSETTES / name).read_text(encoding="utf-8"))
    return list(data["interactions"])


def test_the_cassette_holds_the_documented_answer_as_valid_json() -> None:
    (exchange,) = interactions("documented_list.yaml")
    assert exchange["request"]["method"] == "GET"
    assert exchange["request"]["uri"] == (
        "https://www.instabase.com/api/v1/spaces/list?get_profiles=True&get_admins=True&get_repos=True"
    )
    assert json.loads(exchange["response"]["body"]["string"]) == {"status": "OK", "spaces": DOCUMENTED_SPACES}


@pytest.mark.vcr
@pytest.mark.default_cassette("documented_list.yaml")
def test_documented_list_normalizes_every_field() -> None:
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        spaces = list(store.list())
    assert [fields(space) for space in spaces] == EXPECTED


@pytest.mark.vcr
@pytest.mark.default_cassette("documented_list.yaml")
async def test_documented_list_async() -> None:
    async with spacekit.connect_async("instabase", token=REPLAY_TOKEN) as store:
        spaces = [space async for space in store.list()]
    assert [fields(space) for space in spaces] == EXPECTED


@pytest.mark.vcr
@pytest.mark.default_cassette("documented_list.yaml")
def test_documented_get() -> None:
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        assert fields(store.get("ib_eng")) == EXPECTED[1]


@pytest.mark.vcr
@pytest.mark.default_cassette("admin_only_list.yaml")
def test_admin_only_list() -> None:
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        assert [space.id for space in store.list(admin_only=True)] == ["alice", "ib_eng"]


@pytest.mark.vcr
@pytest.mark.default_cassette("get_unknown.yaml")
def test_get_unknown() -> None:
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store, pytest.raises(spacekit.NotFound):
        store.get("no_such_space")


@pytest.mark.vcr
@pytest.mark.default_cassette("create_organization.yaml")
def test_create_organization() -> None:
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        space = store.create("Data Science", "Models and notebooks", handle="data_science")
    assert (space.id, space.name, space.kind) == ("data_science", "Data Science", SpaceKind.ORGANIZATION)
    assert space.description == "Models and notebooks" and dict(space.raw) == {"status": "OK"}
    # built from the OK and what was sent: admins are not in the answer
    assert space.admins == () and space.is_admin is None and space.subspaces == ()


@pytest.mark.vcr
@pytest.mark.default_cassette("create_duplicate.yaml")
async def test_create_duplicate_async() -> None:
    async with spacekit.connect_async("instabase", token=REPLAY_TOKEN) as store:
        with pytest.raises(spacekit.Conflict, match="already exists") as caught:
            await store.create("Engineering", "Again", handle="ib_eng")
    assert caught.value.status == 200


def test_every_cassette_is_scrubbed() -> None:
    for path in sorted(CASSETTES.glob("*.yaml")):
        for exchange in interactions(path.name):
            assert exchange["request"]["headers"]["authorization"] == ["REDACTED"], path.name


@pytest.mark.vcr
@pytest.mark.default_cassette("create_subspace.yaml")
def test_create_subspace() -> None:
    (post, get) = interactions("create_subspace.yaml")
    assert (post["request"]["method"], post["request"]["uri"]) == (
        "POST",
        "https://www.instabase.com/api/v1/repos/alice/notebooks",
    )
    assert json.loads(post["request"]["body"]) == {"description": "Shared notebooks", "visibility": "private"}
    assert get["request"]["method"] == "GET" and get["request"]["uri"] == post["request"]["uri"]
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        made = store.create_subspace("alice", "notebooks", description="Shared notebooks")
    assert made == Subspace(
        "alice", "notebooks", None, "Shared notebooks", True, (Member("user", "alice", "admin"),)
    )


@pytest.mark.vcr
@pytest.mark.default_cassette("get_subspace.yaml")
async def test_get_subspace_async() -> None:
    async with spacekit.connect_async("instabase", token=REPLAY_TOKEN) as store:
        repo = await store.get_subspace("ib_eng", "repo1")
        with pytest.raises(spacekit.PermissionDenied):
            await store.get_subspace("ib_eng", "repo2")
    assert repo == Subspace(
        "ib_eng", "repo1", None, "Shared models", False, (Member("user", "eng-lead", "admin"),)
    )


@pytest.mark.vcr
@pytest.mark.default_cassette("check.yaml")
def test_check_is_the_plain_listing() -> None:
    (exchange,) = interactions("check.yaml")
    assert exchange["request"]["uri"] == "https://www.instabase.com/api/v1/spaces/list"
    with spacekit.connect("instabase", token=REPLAY_TOKEN) as store:
        store.check()
