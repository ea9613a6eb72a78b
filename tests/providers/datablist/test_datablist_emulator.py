"""The emulator is strict: it refuses what the Datablist docs say is refused."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from spacekit_datablist._emulator import API_KEY, DatablistEmulator

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
NAIVE_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


@pytest.fixture
def client(emulator: DatablistEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.transport, base_url="https://data.datablist.com") as opened:
        yield opened


def exchange(client: httpx.Client, key: str = API_KEY) -> httpx.Response:
    return client.post("https://account.datablist.com/token", json={"apiKey": key}, headers=JSON)


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {exchange(client).json()['access_token']}"}


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # type: ignore[no-any-return]


def test_the_exchange_answers_a_jwt_with_its_expiry(
    emulator: DatablistEmulator, client: httpx.Client
) -> None:
    answer = exchange(client).json()
    assert set(answer) == {
        "access_token",
        "token_type",
        "expires_in",
        "expires_at",
        "account_id",
        "user_id",
        "scope",
    }
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 86400
    token = answer["access_token"]
    assert len(token.split(".")) == 3 and token.startswith("eyJ")
    assert claims(token)["exp"] == answer["expires_at"]
    assert abs(answer["expires_at"] - emulator.clock.time() - 86400) < 2


@pytest.mark.parametrize(
    ("body", "status"),
    [({"apiKey": "wrong"}, 401), ({"apiKey": API_KEY, "extra": 1}, 400), ({"key": API_KEY}, 400), ([], 400)],
)
def test_a_bad_exchange_is_refused(client: httpx.Client, body: Any, status: int) -> None:
    response = client.post("https://account.datablist.com/token", json=body, headers=JSON)
    assert response.status_code == status
    assert set(response.json()) == {"code", "message"}


def test_the_hosts_serve_only_their_own_api(client: httpx.Client, auth: dict[str, str]) -> None:
    assert (
        client.post("https://data.datablist.com/token", json={"apiKey": API_KEY}, headers=JSON).status_code
        != 200
    )
    assert client.get("https://account.datablist.com/", headers=auth).status_code == 404


def test_tokens_expire_by_the_emulators_clock(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    assert client.get("/", headers=auth).status_code == 200
    emulator.clock.advance(emulator.token_lifetime)
    response = client.get("/", headers=auth)
    assert response.status_code == 401 and response.json()["code"] == "token_expired"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer nonsense", "Token abc", "Bearer a.b.c"],
    ids=["none", "junk", "scheme", "forged"],
)
def test_a_missing_or_unknown_token_is_401(client: httpx.Client, authorization: str | None) -> None:
    headers = {**JSON, **({"Authorization": authorization} if authorization else {})}
    assert client.get("/", headers=headers).status_code == 401


def test_a_token_signed_elsewhere_is_refused(client: httpx.Client, auth: dict[str, str]) -> None:
    token = DatablistEmulator()._sign({"sub": "x", "exp": 2**40, "jti": 1})
    assert client.get("/", headers={**JSON, "Authorization": f"Bearer {token}"}).status_code == 401


def test_accept_must_be_json(client: httpx.Client, auth: dict[str, str]) -> None:
    assert client.get("/", headers={**auth, "Accept": "text/html"}).status_code == 406
    assert client.get("/", headers={**auth, "Accept": "application/ld+json"}).status_code == 200


def test_a_body_must_be_sent_as_json(client: httpx.Client, auth: dict[str, str]) -> None:
    body = b'{"name": "x", "@type": "Workspace"}'
    response = client.post("/", content=body, headers={**auth, "Content-Type": "text/plain"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "@type": "Workspace", "description": "extra"},
        {"name": "x", "@type": "Workspace", "@id": "chosen"},
        {"name": "x"},
        {"@type": "Workspace"},
        {"name": "", "@type": "Workspace"},
        {"name": "  ", "@type": "Workspace"},
        {"name": 3, "@type": "Workspace"},
        {"name": "x", "@type": "Space"},
        ["x"],
    ],
)
def test_create_takes_exactly_name_and_type(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str], body: Any
) -> None:
    response = client.post("/", json=body, headers=auth)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
    assert emulator.workspaces == {}


def test_create_read_update_delete(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    created = client.post("/", json={"name": "Acme Workspace", "@type": "Workspace"}, headers=auth)
    assert created.status_code == 201 and set(created.json()) == {"@id"}
    wid = created.json()["@id"]
    item = client.get(f"/{wid}", headers=auth).json()
    assert item["@type"] == "Workspace" and item["name"] == "Acme Workspace" and "@context" in item
    assert NAIVE_STAMP.match(item["createdAt"]) and NAIVE_STAMP.match(item["updatedAt"])
    for method, body in (("PATCH", {"name": "Updated name"}), ("PUT", {"name": "Whole", "@type": "Space"})):
        response = client.request(method, f"/{wid}", json=body, headers=auth)
        assert response.status_code == 204 and response.content == b""
    assert client.get(f"/{wid}", headers=auth).json()["name"] == "Whole"
    deleted = client.delete(f"/{wid}", headers=auth)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/{wid}", headers=auth).status_code == 404


def test_list_has_a_context_and_items_without_type(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emulator.add_workspace("one")
    body = client.get("/", headers=auth).json()
    assert set(body) == {"@context", "data"}
    assert [set(item) for item in body["data"]] == [{"@id", "user_id", "name", "createdAt", "updatedAt"}]


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PATCH", {"name": "x", "description": "no"}),
        ("PATCH", {}),
        ("PATCH", {"name": ""}),
        ("PUT", {"name": "x"}),
    ],
)
def test_updates_refuse_extra_or_missing_fields(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str], method: str, body: Any
) -> None:
    item = emulator.add_workspace("same")
    assert client.request(method, f"/{item['@id']}", json=body, headers=auth).status_code == 400
    assert emulator.workspaces[item["@id"]]["name"] == "same"


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_an_unknown_id_is_404(client: httpx.Client, auth: dict[str, str], method: str) -> None:
    body = {"PATCH": {"name": "x"}, "PUT": {"name": "x", "@type": "Workspace"}}.get(method)
    assert client.request(method, "/nope", json=body, headers=auth).status_code == 404


def test_without_the_privilege_create_and_delete_are_403(
    emulator: DatablistEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    item = emulator.add_workspace("kept")
    emulator.privileged = False
    assert client.post("/", json={"name": "x", "@type": "Workspace"}, headers=auth).status_code == 403
    assert client.delete(f"/{item['@id']}", headers=auth).status_code == 403
    assert client.patch(f"/{item['@id']}", json={"name": "renamed"}, headers=auth).status_code == 204
    assert list(emulator.workspaces) == [item["@id"]]
