"""The Instabase emulator is strict: raw HTTP against it, without the plugin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from spacekit_instabase._emulator import DOCUMENTED_SPACES, TOKEN, InstabaseEmulator

from spacekit.testing import IN_PROCESS_URL

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIST = "/api/v1/spaces/list"


@pytest.fixture
def http(emulator: InstabaseEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=IN_PROCESS_URL, transport=emulator.transport, headers=AUTH) as client:
        yield client


def answer(response: httpx.Response) -> Any:
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.content)  # always valid JSON


def test_all_flags_give_the_documented_example(http: httpx.Client) -> None:
    body = answer(http.get(LIST, params={"get_profiles": "True", "get_admins": "True", "get_repos": "True"}))
    assert body == {"status": "OK", "spaces": DOCUMENTED_SPACES}
    assert list(body["spaces"][0]) == [
        "account_type",
        "repo_owner",
        "is_admin",
        "full_name",
        "description",
        "profile_photo_url",
        "admins",
        "repos",
    ]


def test_without_flags_only_the_base_keys_come_back(http: httpx.Client) -> None:
    body = answer(http.get(LIST))
    assert body["spaces"] == [
        {"account_type": "USER", "repo_owner": "alice", "is_admin": True},
        {"account_type": "ORGANIZATION", "repo_owner": "ib_eng", "is_admin": True},
    ]


@pytest.mark.parametrize(
    ("flags", "keys"),
    [
        ({"get_profiles": "true"}, {"full_name", "description", "profile_photo_url"}),
        ({"get_admins": "True"}, {"admins"}),
        ({"get_repos": "true", "get_profiles": "False"}, {"repos"}),
    ],
)
def test_each_flag_adds_only_its_keys(http: httpx.Client, flags: dict[str, str], keys: set[str]) -> None:
    space = answer(http.get(LIST, params=flags))["spaces"][0]
    assert set(space) == {"account_type", "repo_owner", "is_admin"} | keys


def test_repo_admin_flags_need_get_admins(http: httpx.Client) -> None:
    repos = answer(http.get(LIST, params={"get_repos": "True"}))["spaces"][0]["repos"]
    assert repos == [
        {"repo_owner": "alice", "repo_name": "repo1"},
        {"repo_owner": "alice", "repo_name": "repo2"},
    ]


@pytest.mark.parametrize("query", ["get_repos=yes", "get_repos=1", "get_repos=", "get_repo=True", "q=alice"])
def test_bad_or_unknown_parameters_are_refused(http: httpx.Client, query: str) -> None:
    response = http.get(f"{LIST}?{query}")
    assert response.status_code == 200
    body = answer(response)
    assert body["status"] == "ERROR" and body["msg"]


def test_admin_only_view(http: httpx.Client, emulator: InstabaseEmulator) -> None:
    emulator.spaces["ib_eng"]["is_admin"] = False
    only = answer(http.get(LIST, params={"get_admin_spaces_only": "True"}))["spaces"]
    assert [s["repo_owner"] for s in only] == ["alice"]
    emulator.spaces["ib_eng"]["repos"][1]["is_admin"] = True
    only = answer(http.get(LIST, params={"get_admin_spaces_only": "True"}))["spaces"]
    assert [s["repo_owner"] for s in only] == ["alice", "ib_eng"]


@pytest.mark.parametrize("status", [200, 401])
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Token {TOKEN}", TOKEN])
def test_a_bad_token_is_refused_as_configured(
    emulator: InstabaseEmulator, status: int, header: str | None
) -> None:
    emulator.bad_token_status = status
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=IN_PROCESS_URL, transport=emulator.transport) as client:
        response = client.get(LIST, headers=headers)
    assert response.status_code == status
    body = answer(response)
    assert body["status"] == "ERROR" and "uthenticat" in body["msg"]
    assert TOKEN not in response.text


def test_the_default_bad_token_answer_is_the_v1_convention() -> None:
    assert InstabaseEmulator().bad_token_status == 200


def test_create_org(http: httpx.Client, emulator: InstabaseEmulator) -> None:
    response = http.post("/api/v1/organizations/new_org_1", json={"display_name": "New", "description": "d"})
    assert answer(response) == {"status": "OK"}
    spaces = answer(
        http.get(LIST, params={"get_profiles": "True", "get_admins": "True", "get_repos": "True"})
    )
    assert spaces["spaces"][-1] == {
        "account_type": "ORGANIZATION",
        "repo_owner": "new_org_1",
        "is_admin": True,
        "full_name": "New",
        "description": "d",
        "admins": [{"type": "user", "name": "alice"}],
        "repos": [],
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/organizations/ab", {"display_name": "x"}),  # too short
        ("/api/v1/organizations/" + "a" * 101, {"display_name": "x"}),  # too long
        ("/api/v1/organizations/has-dash", {"display_name": "x"}),
        ("/api/v1/organizations/sp%20ace", {"display_name": "x"}),
        ("/api/v1/organizations/ib_eng", {"display_name": "x"}),  # exists
        ("/api/v1/organizations/IB_ENG", {"display_name": "x"}),  # exists, other case
        ("/api/v1/organizations/alice", {"display_name": "x"}),  # a user's handle
        ("/api/v1/organizations/good_name", {"display_name": "x", "owner": "bob"}),  # unknown key
        ("/api/v1/organizations/good_name", {"display_name": 5}),
        ("/api/v1/organizations/good_name", ["display_name"]),
    ],
)
def test_bad_org_creations_are_200_with_error(
    http: httpx.Client, emulator: InstabaseEmulator, path: str, body: Any
) -> None:
    before = dict(emulator.spaces)
    response = http.post(path, json=body)
    assert response.status_code == 200
    assert answer(response)["status"] == "ERROR"
    assert emulator.spaces == before


def test_non_json_org_body_is_refused(http: httpx.Client) -> None:
    response = http.post("/api/v1/organizations/good_name", content=b"display_name=x")
    assert answer(response)["status"] == "ERROR"


def test_unknown_paths_and_methods(http: httpx.Client) -> None:
    assert http.get("/api/v1/spaces").status_code == 404
    assert answer(http.get("/api/v1/nothing"))["status"] == "ERROR"
    assert http.post(LIST).status_code == 405


def test_served_on_loopback(emulator: InstabaseEmulator) -> None:
    with emulator.serve() as base_url, httpx.Client(base_url=base_url, headers=AUTH) as client:
        assert answer(client.get(LIST))["status"] == "OK"
