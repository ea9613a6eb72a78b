"""Failures: 5xx storms, the 200-with-ERROR convention, real error statuses, unreadable bodies.

In-process emulator only (no cassette here: vcrpy must not see these requests).
"""

from __future__ import annotations

import json

import pytest
from spacekit_instabase._emulator import InstabaseEmulator

import spacekit

LIST = r"/api/v1/spaces/list"


def envelope_error(msg: str) -> bytes:
    return json.dumps({"status": "ERROR", "msg": msg}).encode()


def test_a_5xx_storm_on_the_list_is_retried(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    emulator.faults.fail(503, times=3, method="GET", path=LIST)
    assert [s.id for s in ib.list()] == ["alice", "ib_eng"]
    assert len(emulator.requests) == 4


def test_a_storm_longer_than_the_retries_is_unavailable(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.fail(502, times=10, method="GET", body=envelope_error("upstream down"))
    with pytest.raises(spacekit.ProviderUnavailable, match="upstream down") as caught:
        ib.get("alice")
    assert caught.value.status == 502
    assert len(emulator.requests) == 4  # the first attempt and FAST's 3 retries


async def test_async_storm_is_retried(aib: spacekit.AsyncSpaceStore, emulator: InstabaseEmulator) -> None:
    emulator.faults.fail(500, times=2, method="GET")
    assert (await aib.get("ib_eng")).name == "Engineering Organization"
    assert len(emulator.requests) == 3


def test_post_is_not_retried_on_503(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    emulator.faults.fail(503, times=5, method="POST")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        ib.create("New Org")
    assert caught.value.status == 503
    assert [r.method for r in emulator.requests] == ["POST"]


def test_a_dropped_post_is_reported_as_maybe_applied(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.drop(method="POST", after_commit=True)
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        ib.create("New Org")
    assert caught.value.maybe_applied is True
    assert [r.method for r in emulator.requests] == ["POST"]
    assert ib.get("new_org").name == "New Org"  # it was committed: look before writing again


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        ("Authentication failed", spacekit.AuthenticationError),
        ("Invalid token", spacekit.AuthenticationError),
        ("Token expired", spacekit.AuthenticationError),
        ("User is unauthorized", spacekit.AuthenticationError),
        ("Space not found", spacekit.NotFound),
        ("Organization ib_x does not exist", spacekit.NotFound),
        ("Organization ib_eng already exists", spacekit.Conflict),
        ("Duplicate organization name", spacekit.Conflict),
        ("User does not have permission to create organizations", spacekit.PermissionDenied),
        ("Access denied", spacekit.PermissionDenied),
        ("Invalid organization name", spacekit.ValidationError),
        ("Something odd happened", spacekit.ProviderError),
        ("", spacekit.ProviderError),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_200_with_error_is_mapped_by_its_message(
    ib: spacekit.SpaceStore,
    emulator: InstabaseEmulator,
    msg: str,
    error: type[spacekit.SpacekitError],
    method: str,
) -> None:
    emulator.faults.fail(200, method=method, body=envelope_error(msg))
    with pytest.raises(spacekit.SpacekitError) as caught:
        if method == "GET":
            list(ib.list())
        else:
            ib.create("Mapped Org")
    assert type(caught.value) is error
    assert msg in str(caught.value)
    assert "answered ERROR (HTTP 200)" in str(caught.value)
    assert "status=200" not in str(caught.value)  # a success code beside an error reads as a contradiction
    assert caught.value.provider == "instabase"  # type: ignore[attr-defined]
    assert caught.value.status == 200  # type: ignore[attr-defined]
    assert len(emulator.requests) == 1  # a 200 is never retried


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, spacekit.ValidationError),
        (401, spacekit.AuthenticationError),
        (403, spacekit.PermissionDenied),
        (404, spacekit.NotFound),
        (409, spacekit.Conflict),
        (418, spacekit.ProviderError),
    ],
)
def test_real_error_statuses_carry_the_msg(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, status: int, error: type[Exception]
) -> None:
    emulator.faults.fail(status, body=envelope_error("told by the server"))
    with pytest.raises(error, match="told by the server") as caught:
        ib.get("alice")
    assert type(caught.value) is error
    assert caught.value.status == status  # type: ignore[attr-defined]


def test_a_real_error_status_without_a_json_body(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.fail(404, body=b"<html>Not Found</html>")
    with pytest.raises(spacekit.NotFound, match="failed"):
        ib.get("alice")


@pytest.mark.parametrize("status", [200, 401])
async def test_a_bad_token_is_an_authentication_error_either_way(
    emulator: InstabaseEmulator, status: int
) -> None:
    emulator.bad_token_status = status
    with emulator.connect(token="wrong-token-0001") as store, pytest.raises(spacekit.AuthenticationError):
        list(store.list())
    async with emulator.connect_async(token="wrong-token-0001") as astore:
        with pytest.raises(spacekit.AuthenticationError):
            await astore.get("alice")
        with pytest.raises(spacekit.AuthenticationError):
            await astore.create("Some Org")
    assert len(emulator.requests) == 3  # refused at once, not retried
    assert not emulator.spaces.keys() - {"alice", "ib_eng"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html><body>Bad Gateway</body></html>", "not valid JSON"),
        (b'{"status": "OK", "spaces": [', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"spaces": []}', "no 'status' key"),
        (b'["status", "OK"]', "expected a JSON object"),
        (b'{"status": "OK"}', "no 'spaces' list"),
        (b'{"status": "OK", "spaces": {"alice": {}}}', "not a list"),
        (b'{"status": "OK", "spaces": ["alice"]}', "must be a JSON object"),
        (b'{"status": "OK", "spaces": [{"account_type": "USER"}]}', "repo_owner"),
        (b'{"status": "MAYBE", "spaces": []}', "unexpected status"),
    ],
)
def test_unreadable_answers_are_protocol_errors(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, body: bytes, says: str
) -> None:
    emulator.faults.fail(200, method="GET", body=body)
    with pytest.raises(spacekit.ProtocolError, match=says) as caught:
        list(ib.list())
    assert caught.value.provider == "instabase"


@pytest.mark.parametrize("truncate", [False, True])
def test_malformed_list_bodies_are_protocol_errors(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, truncate: bool
) -> None:
    emulator.faults.malformed(method="GET", truncate=truncate)
    with pytest.raises(spacekit.ProtocolError):
        ib.get("alice")


def test_a_non_json_creation_answer_is_a_protocol_error(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    emulator.faults.malformed(method="POST")
    with pytest.raises(spacekit.ProtocolError):
        ib.create("Html Org")
    assert [r.method for r in emulator.requests] == ["POST"]


def test_extra_keys_and_missing_optional_keys_are_fine(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator
) -> None:
    body = {
        "status": "ok",
        "request_id": "abc",
        "spaces": [
            {"repo_owner": "bare"},
            {"repo_owner": "team", "account_type": "GROUP", "full_name": "", "shiny": [1, 2], "admins": None},
        ],
    }
    emulator.faults.fail(200, method="GET", body=json.dumps(body).encode())
    bare, team = ib.list()
    assert (bare.id, bare.name, bare.kind, bare.is_admin) == (
        "bare",
        "bare",
        spacekit.SpaceKind.WORKSPACE,
        None,
    )
    assert (team.name, team.kind, team.admins) == ("team", spacekit.SpaceKind.WORKSPACE, ())
    assert team.raw["shiny"] == [1, 2] and team.raw["account_type"] == "GROUP"
