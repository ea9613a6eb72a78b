"""The Instabase provider against its emulator: what it sends, and what it makes of the answers."""

from __future__ import annotations

from typing import Any

import pytest
from spacekit_instabase import check_org_name, derive_org_name, plugin
from spacekit_instabase._emulator import TOKEN, InstabaseEmulator

import spacekit
from spacekit import Capability, SpaceKind

FULL_VIEW = {"get_profiles": "True", "get_admins": "True", "get_repos": "True"}


def test_registered_with_its_settings_and_capabilities() -> None:
    assert plugin.name == "instabase"
    assert plugin.capabilities == {
        Capability.LIST,
        Capability.GET,
        Capability.CREATE,
        Capability.SUBSPACES,
        Capability.REQUEST,
    }
    assert plugin.settings["token"].secret and plugin.settings["token"].required
    assert plugin.settings["base_url"].default == "https://www.instabase.com"
    with spacekit.connect("instabase", token="t0ken-value") as store:
        assert store.location == "https://www.instabase.com"
        assert store.list_options == {"admin_only"} and set(store.create_options) == {"handle"}
        assert store.writable_fields == {"name", "description"}


def test_a_token_is_required() -> None:
    with pytest.raises(spacekit.ConfigError, match="token"):
        spacekit.connect("instabase")


def test_list_sends_the_bearer_token_and_the_three_flags(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    assert [s.id for s in ib.list()] == ["alice", "ib_eng"]
    (request,) = emulator.requests
    assert (request.method, request.path) == ("GET", "/api/v1/spaces/list")
    assert request.params == FULL_VIEW
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body == b""


def test_admin_only_adds_the_flag_and_gets_the_admin_view(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.spaces["ib_eng"]["is_admin"] = False
    emulator.spaces["ib_eng"]["repos"][0]["is_admin"] = True  # admin of a Subspace only
    emulator.spaces["outsider"] = {**emulator.spaces["ib_eng"], "repo_owner": "outsider", "repos": []}
    assert [s.id for s in ib.list(admin_only=True)] == ["alice", "ib_eng"]
    assert emulator.requests[-1].params == {**FULL_VIEW, "get_admin_spaces_only": "True"}
    assert [s.id for s in ib.list(admin_only=False)] == ["alice", "ib_eng", "outsider"]
    assert emulator.requests[-1].params == FULL_VIEW


def test_admin_only_must_be_a_bool(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    with pytest.raises(spacekit.ValidationError, match="admin_only"):
        list(ib.list(admin_only="yes"))
    with pytest.raises(spacekit.ValidationError, match="unknown option"):
        list(ib.list(get_repos=True))
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("space", ["alice"]), ("ORGANIZATION", ["ib_eng"]), ("a", ["alice", "ib_eng"]), ("zzz", [])],
)
def test_query_filters_by_name_on_our_side(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, query: str, expected: list[str]
) -> None:
    assert [s.id for s in ib.list(query=query)] == expected
    (request,) = emulator.requests
    assert request.params == FULL_VIEW  # the API has no name filter: nothing is sent for it


def test_get_picks_by_repo_owner(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    space = ib.get("ib_eng")
    assert (space.id, space.name, space.kind) == (
        "ib_eng",
        "Engineering Organization",
        SpaceKind.ORGANIZATION,
    )
    assert emulator.requests[0].params == FULL_VIEW
    with pytest.raises(spacekit.NotFound) as caught:
        ib.get("IB_ENG")  # handles are matched exactly
    assert caught.value.provider == "instabase"


def test_create_posts_exactly_the_documented_body(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    space = ib.create("Data Team (EU)", "Europe's data team")
    post = emulator.requests[0]
    assert (post.method, post.path, post.query) == ("POST", "/api/v1/organizations/data_team_eu", "")
    assert post.json() == {"display_name": "Data Team (EU)", "description": "Europe's data team"}
    assert post.headers["Content-Type"] == "application/json"
    assert len(emulator.requests) == 1  # the OK answer is enough: no listing read back
    assert space.id == "data_team_eu" and space.name == "Data Team (EU)"
    assert space.kind is SpaceKind.ORGANIZATION and space.description == "Europe's data team"
    assert dict(space.raw) == {"status": "OK"}  # the creation answer
    # what the answer does not say is left unset; the listing has it
    assert space.is_admin is None and space.admins == ()
    listed = ib.get("data_team_eu")
    assert (listed.id, listed.name, listed.kind, listed.description) == (
        space.id,
        space.name,
        space.kind,
        space.description,
    )
    assert listed.is_admin is True and listed.raw["repo_owner"] == "data_team_eu"


def test_creating_many_orgs_costs_one_request_each(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    for index in range(20):
        ib.create(f"Org {index}")
    assert [r.method for r in emulator.requests] == ["POST"] * 20


def test_create_without_description_sends_an_empty_one(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    space = ib.create("Ops", handle="ops_team")
    assert emulator.requests[0].json() == {"display_name": "Ops", "description": ""}
    assert space.description is None and space.id == "ops_team"


def test_create_with_a_handle_uses_it(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    space = ib.create("Anything at all!", handle="Team_42")
    assert emulator.requests[0].path == "/api/v1/organizations/Team_42"
    assert space.id == "Team_42" and space.name == "Anything at all!"


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("Data Team (EU)", "data_team_eu"),
        ("Café  Crème", "cafe_creme"),
        ("a.b-c d", "a_b_c_d"),
        ("x" * 150, "x" * 100),
        ("ib_eng", "ib_eng"),
    ],
)
def test_derived_org_names(name: str, handle: str) -> None:
    assert derive_org_name(name) == handle
    assert check_org_name(handle) == handle


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ab", {}),  # derives a 2-character handle
        ("日本語", {}),  # derives nothing
        ("ok name", {"handle": "no"}),
        ("ok name", {"handle": "has space"}),
        ("ok name", {"handle": "dots.are.bad"}),
        ("ok name", {"handle": "x" * 101}),
        ("ok name", {"handle": "../../etc"}),
    ],
)
def test_bad_org_names_fail_before_any_request(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, name: str, options: dict[str, Any]
) -> None:
    with pytest.raises(spacekit.ValidationError, match="3 to 100 letters, digits or underscores") as caught:
        ib.create(name, **options)
    assert caught.value.fields == {"handle": "3 to 100 letters, digits or underscores"}
    assert "handle must be" in str(caught.value) and "organization name" not in str(caught.value)
    assert emulator.requests == []


def test_create_trusts_the_ok_even_when_the_new_org_is_not_listed_yet(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.fail(200, method="GET", body=b'{"status": "OK", "spaces": []}')
    space = ib.create("Fresh Org", "just made")
    assert space.id == "fresh_org" and space.name == "Fresh Org"
    assert space.kind is SpaceKind.ORGANIZATION and space.description == "just made"
    assert dict(space.raw) == {"status": "OK"}  # the creation answer
    with pytest.raises(spacekit.NotFound):
        ib.get("fresh_org")  # the listing lags
    assert ib.get("fresh_org").name == "Fresh Org"  # listed on the next read


def test_duplicate_org_is_a_conflict(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    with pytest.raises(spacekit.Conflict, match="already exists"):
        ib.create("Engineering", handle="IB_ENG")
    assert len(emulator.requests) == 1


async def test_async_store_shares_the_logic(
    aib: spacekit.AsyncSpaceStore, emulator: InstabaseEmulator
) -> None:
    assert [s.id async for s in aib.list(query="alice")] == ["alice"]
    assert [s.id async for s in aib.list(admin_only=True)] == ["alice", "ib_eng"]
    created = await aib.create("Async Org", "made async")
    assert (await aib.get("async_org")).description == created.description == "made async"
    with pytest.raises(spacekit.NotFound):
        await aib.get("nobody")
    with pytest.raises(spacekit.Unsupported):
        await aib.delete("async_org")
    with pytest.raises(spacekit.ValidationError):
        await aib.create("x", handle="no")
    assert [r.method for r in emulator.requests] == ["GET", "GET", "POST", "GET", "GET"]
