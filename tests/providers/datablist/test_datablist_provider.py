"""The Datablist provider: exact requests, normalization, descriptions, the privilege."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from spacekit_datablist import DatablistProvider, parse_workspace
from spacekit_datablist._emulator import DOCUMENTED_WORKSPACE, USER_ID, DatablistEmulator

import spacekit
from spacekit import Capability, SpaceKind
from spacekit.plugin import Request, Response
from spacekit.testing import json_response

FAST: dict[str, Any] = {"backoff": 0.01, "retries": 3, "deadline": 5.0}


def answer(content: bytes, status: int = 200) -> Response:
    return Response(status, {}, content, Request("GET", "/"), "datablist")


def data_requests(emulator: DatablistEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path != "/token"]


def test_capabilities_and_writable_fields(store: Any) -> None:
    assert store.provider == "datablist"
    assert store.capabilities == {
        Capability.LIST,
        Capability.GET,
        Capability.CREATE,
        Capability.UPDATE,
        Capability.DELETE,
        Capability.REQUEST,
    }
    assert store.writable_fields == {"name"}
    assert DatablistProvider.default_base_url == "https://data.datablist.com"


def test_the_documented_workspace_is_normalized() -> None:
    space = parse_workspace(dict(DOCUMENTED_WORKSPACE), answer(b""))
    assert space.id == "xbDsSfcswWPoYnUN8vJ"
    assert space.name == "Acme Workspace"
    assert space.owner == "auth0|5f04po976078900139bb58a"
    assert space.kind is SpaceKind.WORKSPACE
    assert space.created_at == datetime(2020, 7, 8, 9, 31, 10, 303945, tzinfo=UTC)
    assert space.updated_at == datetime(2020, 7, 8, 9, 31, 10, 303961, tzinfo=UTC)
    assert space.description is None
    assert dict(space.raw) == DOCUMENTED_WORKSPACE


@pytest.mark.parametrize(
    "stamp",
    ["2023-03-28T09:11:17", "2023-03-28T09:11:17+00:00", "2023-03-28T11:11:17+02:00", "2023-03-28T09:11:17Z"],
)
def test_timestamps_with_or_without_offset_are_aware_utc(stamp: str) -> None:
    item = {"@id": "a", "name": "n", "createdAt": stamp}
    assert parse_workspace(item, answer(b"")).created_at == datetime(2023, 3, 28, 9, 11, 17, tzinfo=UTC)


def test_an_unreadable_timestamp_is_kept_in_raw_only() -> None:
    space = parse_workspace({"@id": "a", "name": "n", "updatedAt": "yesterday"}, answer(b""))
    assert space.updated_at is None and space.raw["updatedAt"] == "yesterday"


@pytest.mark.parametrize("item", [{"name": "no id"}, {"@id": "x"}, {"@id": True, "name": "n"}, ["a"]])
def test_a_workspace_without_id_or_name_is_a_protocol_error(item: Any) -> None:
    with pytest.raises(spacekit.ProtocolError):
        parse_workspace(item, answer(b""))


def test_list_accepts_a_bare_array(
    emulator: DatablistEmulator, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = emulator.add_workspace("bare")
    original = emulator.handle

    def bare(request: Any) -> Any:
        response = original(request)
        if request.method == "GET" and request.url.path == "/":
            response.read()
            return json_response(200, response.json()["data"])
        return response

    monkeypatch.setattr(emulator, "handle", bare)
    assert [space.id for space in store.list()] == [item["@id"]]


def test_list_items_lack_type_and_are_still_read(emulator: DatablistEmulator, store: Any) -> None:
    emulator.add_workspace("Acme Workspace")
    emulator.add_workspace("Other")
    spaces = list(store.list())
    assert [s.name for s in spaces] == ["Acme Workspace", "Other"]
    assert all("@type" not in s.raw for s in spaces)


def test_query_filters_here_case_insensitively(emulator: DatablistEmulator, store: Any) -> None:
    emulator.add_workspace("Acme Workspace")
    emulator.add_workspace("Other")
    assert [s.name for s in store.list(query="ACME")] == ["Acme Workspace"]
    assert all(r.query == "" for r in emulator.requests)


def test_create_is_one_request_with_exactly_the_documented_body(
    emulator: DatablistEmulator, store: Any
) -> None:
    space = store.create("Acme Workspace", description="not kept by Datablist")
    (post,) = data_requests(emulator)  # no read-back: the answer's @id is enough
    assert (post.method, post.path) == ("POST", "/")
    assert post.json() == {"name": "Acme Workspace", "@type": "Workspace"}
    assert post.headers["Accept"] == post.headers["Content-Type"] == "application/json"
    assert space.id in emulator.workspaces and space.raw == {"@id": space.id}
    assert space.name == "Acme Workspace" and space.description is None
    # the owner is the user the token exchange named; the creation time, which the
    # {"@id"} answer does not say, is left unset (a read gives it)
    assert space.owner == USER_ID == store.caller()
    assert space.created_at is None
    fetched = store.get(space.id)
    assert fetched.owner == emulator.workspaces[space.id]["user_id"] == space.owner
    assert fetched.created_at is not None and fetched.created_at.tzinfo is UTC


@pytest.mark.parametrize("user_id", [None, "", " ", True, ["auth0|x"]])
def test_without_a_user_id_from_the_exchange_the_owner_is_unknown(
    emulator: DatablistEmulator, user_id: object
) -> None:
    """An exchange answer without a readable ``user_id`` (or an access token given
    directly, never exchanged) names no caller: the owner is left unset."""
    exchange = emulator.handle

    def answer(request: Any) -> Any:
        response = exchange(request)
        if request.url.path == "/token":
            body = {**response.json(), "user_id": user_id}
            return json_response(response.status_code, {k: v for k, v in body.items() if v is not None})
        return response

    emulator.handle = answer  # type: ignore[method-assign]
    with emulator.connect(**FAST) as store:
        assert store.caller() is None
        assert store.create("Acme").owner is None and store.caller() is None


def test_an_access_token_names_no_caller(emulator: DatablistEmulator) -> None:
    with emulator.connect(**FAST) as keyed:
        keyed.check()
        token = keyed._provider._tokens.header()["Authorization"].split()[1]  # type: ignore[attr-defined]
    with emulator.connect(**FAST, api_key=None, access_token=token) as store:
        assert store.create("Acme").owner is None and store.caller() is None


@pytest.mark.parametrize("answer", [b"", b"{}", b'{"@id": ""}', b'{"id": "x"}', b"[]"])
def test_a_create_answer_without_an_id_is_a_protocol_error(
    emulator: DatablistEmulator, store: Any, answer: bytes
) -> None:
    emulator.faults.malformed(1, body=answer, method="POST", path="^/$")
    with pytest.raises(spacekit.ProtocolError):
        store.create("Acme Workspace")


def test_every_request_sends_json_accept_and_content_type(emulator: DatablistEmulator, store: Any) -> None:
    space = store.create("x")
    store.update(space.id, name="y")
    list(store.list())
    store.delete(space.id)
    for request in emulator.requests:
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Content-Type"] == "application/json"


def test_update_patches_only_the_changed_field(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("before")
    updated = store.update(item["@id"], name="Updated name", description="dropped")
    patch, read = data_requests(emulator)
    assert (patch.method, patch.path) == ("PATCH", f"/{item['@id']}")
    assert patch.json() == {"name": "Updated name"}
    assert read.method == "GET"
    assert updated.name == "Updated name"


def test_a_description_only_update_sends_nothing_and_reads_back(
    emulator: DatablistEmulator, store: Any
) -> None:
    item = emulator.add_workspace("kept")
    assert store.update(item["@id"], description="lost").name == "kept"
    assert [r.method for r in data_requests(emulator)] == ["GET"]


def test_ids_are_encoded_as_one_path_segment(emulator: DatablistEmulator, store: Any) -> None:
    with pytest.raises(spacekit.NotFound):
        store.get("../token")
    assert data_requests(emulator)[0].path == "/..%2Ftoken"


def test_delete_answers_nothing(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("doomed")
    assert store.delete(item["@id"]) is None
    assert item["@id"] not in emulator.workspaces
    with pytest.raises(spacekit.NotFound):
        store.delete(item["@id"])


@pytest.mark.parametrize("operation", ["create", "delete"])
def test_a_missing_privilege_is_permission_denied(
    emulator: DatablistEmulator, store: Any, operation: str
) -> None:
    item = emulator.add_workspace("protected")
    emulator.privileged = False
    with pytest.raises(spacekit.PermissionDenied, match="lacks the API privilege") as caught:
        store.create("new") if operation == "create" else store.delete(item["@id"])
    assert caught.value.status == 403
    assert ("creating" if operation == "create" else "deleting") in str(caught.value)
    assert len(emulator.workspaces) == 1
    # reading and renaming still work
    assert store.update(item["@id"], name="renamed").name == "renamed"


def test_a_401_on_create_that_a_read_explains_is_the_privilege(
    emulator: DatablistEmulator, store: Any
) -> None:
    emulator.faults.fail(401, times=2, method="POST", path="^/$")
    with pytest.raises(spacekit.PermissionDenied, match="privilege for creating") as caught:
        store.create("new")
    assert caught.value.status == 401
    # the POST, a renewal and the POST again, then the probe read
    assert [(r.method, r.path) for r in emulator.requests] == [
        ("POST", "/token"),
        ("POST", "/"),
        ("POST", "/token"),
        ("POST", "/"),
        ("GET", "/"),
    ]


def test_a_401_on_delete_with_a_bad_token_stays_an_authentication_error(emulator: DatablistEmulator) -> None:
    item = emulator.add_workspace("x")
    with emulator.connect() as keyed:
        list(keyed.list())
    token = emulator.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    emulator.revoke_tokens()
    with (
        emulator.connect(access_token=token, api_key=None) as store,
        pytest.raises(spacekit.AuthenticationError),
    ):
        store.delete(item["@id"])
    assert item["@id"] in emulator.workspaces


def test_a_refused_key_on_create_is_not_taken_for_the_privilege(emulator: DatablistEmulator) -> None:
    with (
        emulator.connect(api_key="unknown-key-000") as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        store.create("x")
    assert not isinstance(caught.value, spacekit.PermissionDenied)
    assert emulator.token_exchanges() == 1


def test_a_400_carries_the_providers_message(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.fail(400, method="PATCH", body='{"code": "IntegrityError", "message": "duplicate"}')
    item = emulator.add_workspace("x")
    with pytest.raises(spacekit.ValidationError, match="IntegrityError: duplicate") as caught:
        store.update(item["@id"], name="y")
    assert caught.value.status == 400


async def test_async_create_update_delete(emulator: DatablistEmulator, astore: Any) -> None:
    space = await astore.create("async one", description="dropped")
    assert (await astore.update(space.id, name="async two")).name == "async two"
    assert [s.name async for s in astore.list(query="TWO")] == ["async two"]
    await astore.delete(space.id)
    assert emulator.workspaces == {}
