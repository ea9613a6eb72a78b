"""Instabase Subspaces (repos) through the Repo API, against the strict emulator:
exactly the documented requests, names checked before anything is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spacekit_instabase._emulator import TOKEN, InstabaseEmulator

import spacekit
from spacekit import Member, Subspace


def test_create_sends_exactly_the_documented_request_then_reads_back(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    made = ib.create_subspace("alice", "new_repo-2", description="Notebooks", private=True)
    assert made == Subspace(
        "alice", "new_repo-2", None, "Notebooks", True, (Member("user", "alice", "admin"),)
    )
    post, get = emulator.requests
    assert (post.method, post.path, post.query) == ("POST", "/api/v1/repos/alice/new_repo-2", "")
    assert post.body == b'{"description":"Notebooks","visibility":"private"}'
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert post.headers["Content-Type"] == "application/json"
    assert (get.method, get.path, get.query, get.body) == ("GET", "/api/v1/repos/alice/new_repo-2", "", b"")
    assert ib.get_subspace("alice", "new_repo-2") == made
    listed = ib.get("alice").subspaces
    assert [s.name for s in listed] == ["repo1", "repo2", "new_repo-2"]


def test_public_and_the_default_description(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    made = ib.create_subspace("ib_eng", "open", private=False)
    assert json.loads(emulator.requests[0].body) == {"description": "", "visibility": "public"}
    assert (made.private, made.description) == (False, None)


def test_get_reads_every_documented_field(ib: spacekit.SpaceStore) -> None:
    assert ib.get_subspace("ib_eng", "repo1") == Subspace(
        "ib_eng", "repo1", None, "Shared models", False, (Member("user", "eng-lead", "admin"),)
    )


@pytest.mark.parametrize(
    "name", ["", "has space", "a/b", "..", "dots.are.bad", "é", "x" * 256, "new\nline", "a?b", "a%2Fb", 7]
)
def test_a_bad_name_is_never_sent(ib: spacekit.SpaceStore, emulator: InstabaseEmulator, name: Any) -> None:
    with pytest.raises(spacekit.ValidationError, match="letters, digits, underscores or hyphens"):
        ib.create_subspace("alice", name)
    with pytest.raises(spacekit.ValidationError):
        ib.get_subspace("alice", name)
    assert emulator.requests == []


def test_refusals_are_typed(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    with pytest.raises(spacekit.Conflict, match="already exists"):
        ib.create_subspace("alice", "repo1")
    with pytest.raises(spacekit.NotFound):
        ib.create_subspace("nobody", "repo")
    with pytest.raises(spacekit.NotFound):
        ib.get_subspace("alice", "missing")
    with pytest.raises(spacekit.PermissionDenied):
        ib.get_subspace("ib_eng", "repo2")  # private, and the caller was granted nothing
    emulator.spaces["ib_eng"]["is_admin"] = False
    with pytest.raises(spacekit.PermissionDenied):
        ib.create_subspace("ib_eng", "not_mine")
    with pytest.raises(spacekit.ValidationError):
        ib.create_subspace("alice", "ok", private="no")  # type: ignore[arg-type]
    with pytest.raises(spacekit.ValidationError):
        ib.create_subspace("alice", "ok", description="bad\x00")
    assert [s.name for s in ib.get("ib_eng").subspaces] == ["repo1", "repo2"]


def test_a_space_handle_is_one_path_segment(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    with pytest.raises(spacekit.NotFound):
        ib.create_subspace("../organizations/x", "repo")
    assert emulator.requests[0].path == "/api/v1/repos/..%2Forganizations%2Fx/repo"


@pytest.mark.parametrize(
    "body",
    [
        {"description": "d"},
        {"visibility": "private"},
        {"description": "d", "visibility": "private", "extra": 1},
        {"description": "d", "visibility": "hidden"},
        {"description": 3, "visibility": "public"},
        ["description", "visibility"],
    ],
)
def test_the_emulator_refuses_any_other_body(emulator: InstabaseEmulator, body: Any) -> None:
    with emulator.connect() as store, pytest.raises(spacekit.SpacekitError):
        store.request("POST", "/api/v1/repos/alice/strict", json=body)
    assert "strict" not in {r["repo_name"] for r in emulator.spaces["alice"]["repos"]}


def test_a_creation_not_readable_yet_returns_what_was_sent(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.fail(200, method="GET", body='{"status": "ERROR", "msg": "Repo does not exist"}')
    made = ib.create_subspace("alice", "lagging", description="soon")
    assert made == Subspace("alice", "lagging", None, "soon", True)


def test_an_unreadable_repo_answer_is_a_protocol_error(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.fail(200, method="GET", body='{"status": "OK"}')
    with pytest.raises(spacekit.ProtocolError, match="no 'repo'"):
        ib.get_subspace("alice", "repo1")


async def test_the_async_store_shares_the_logic(
    aib: spacekit.AsyncSpaceStore, emulator: InstabaseEmulator
) -> None:
    made = await aib.create_subspace("alice", "async_repo", private=False)
    assert made.private is False
    assert await aib.get_subspace("alice", "async_repo") == made
    with pytest.raises(spacekit.Conflict):
        await aib.create_subspace("alice", "async_repo")
