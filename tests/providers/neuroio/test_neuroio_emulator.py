"""The NeuroIO emulator is strict: raw HTTP against it, in-process and on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator


@pytest.fixture
def http(emulator: NeuroIOEmulator) -> Iterator[httpx.Client]:
    """A bare httpx client on the emulator, with its token."""
    headers = {"Authorization": f"Token {emulator.token}"}
    with httpx.Client(transport=emulator.transport, base_url="http://localhost", headers=headers) as client:
        yield client


def _envelope_fields(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error_codes", "message", "fields"}
    assert all(isinstance(code, int) for code in body["error_codes"])
    return {f["name"]: f["message"] for f in body["fields"]}


def test_connect_settings_name_its_token(emulator: NeuroIOEmulator) -> None:
    settings = emulator.connect_settings("http://127.0.0.1:9")
    assert settings == {"token": emulator.token, "base_url": "http://127.0.0.1:9"}


@pytest.mark.parametrize(
    "authorization", [None, "Token wrong", "Bearer {token}", "{token}", "Token  {token}", "token {token}"]
)
def test_missing_or_wrong_token_is_401_in_the_envelope(
    emulator: NeuroIOEmulator, authorization: str | None
) -> None:
    headers = {"Authorization": authorization.format(token=emulator.token)} if authorization else {}
    with httpx.Client(transport=emulator.transport, base_url="http://localhost") as client:
        response = client.get("/v1/spaces/", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/spaces"),
        ("GET", "/v1/spaces/1"),
        ("POST", "/v1/spaces/1/tokens"),
        ("GET", "/v1/lists/spaces"),
    ],
)
def test_missing_trailing_slash_is_404(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path, json={"permanent": False} if method == "POST" else None)
    assert response.status_code == 404
    assert response.json()["message"] == "Not found."


def test_the_default_space_exists_from_the_start(http: httpx.Client) -> None:
    assert http.get("/v1/spaces/1/").json() == {"id": 1, "name": "default"}
    assert http.get("/v1/lists/spaces/").json() == [{"id": 1, "name": "default"}]


def test_the_default_space_cannot_be_deleted(http: httpx.Client) -> None:
    assert http.delete("/v1/spaces/1/").status_code == 400
    assert http.get("/v1/spaces/1/").status_code == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "This field is required."),
        ({"name": ""}, "This field may not be blank."),
        ({"name": "   "}, "This field may not be blank."),
        ({"name": 7}, "Not a valid string."),
        ({"name": None}, "Not a valid string."),
        ({"name": "x" * 256}, "Ensure this field has no more than 255 characters."),
    ],
)
def test_bad_names_are_refused(http: httpx.Client, body: dict[str, object], problem: str) -> None:
    for response in (http.post("/v1/spaces/", json=body), http.put("/v1/spaces/1/", json=body)):
        assert response.status_code == 400
        assert response.json()["message"] == "Validation error."
        assert _envelope_fields(response) == {"name": problem}
    assert http.get("/v1/spaces/1/").json()["name"] == "default"


def test_a_255_character_name_is_fine(http: httpx.Client) -> None:
    assert http.post("/v1/spaces/", json={"name": "x" * 255}).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/spaces/", {"name": "n", "description": "d"}),
        ("PATCH", "/v1/spaces/1/", {"name": "n", "id": 5}),
        ("POST", "/v1/spaces/1/tokens/", {"permanent": True, "ttl": 3}),
    ],
)
def test_unknown_fields_are_refused(http: httpx.Client, method: str, path: str, body: object) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "Validation error."
    assert set(_envelope_fields(response)) == set(body) - {"name", "permanent"}  # type: ignore[arg-type]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"name"'])
def test_bodies_must_be_json_objects(http: httpx.Client, content: bytes) -> None:
    response = http.post("/v1/spaces/", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    _envelope_fields(response)


def test_crud_round_trip(http: httpx.Client) -> None:
    created = http.post("/v1/spaces/", json={"name": "test"})
    assert created.status_code == 201
    space = created.json()
    assert set(space) == {"id", "name"} and isinstance(space["id"], int)
    path = f"/v1/spaces/{space['id']}/"
    assert http.patch(path, json={"name": "newname"}).json() == {"id": space["id"], "name": "newname"}
    assert http.put(path, json={"name": "put"}).json()["name"] == "put"  # as the JS SDK sends it
    deleted = http.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert http.get(path).status_code == 404
    assert http.delete(path).status_code == 404


@pytest.mark.parametrize("sid", ["abc", "1.0", "-1", "%2E%2E", "99999999999999999999999"])
def test_unknown_or_malformed_ids_are_404(http: httpx.Client, sid: str) -> None:
    assert http.get(f"/v1/spaces/{sid}/").status_code == 404


def test_pages_default_to_20_with_absolute_links(emulator: NeuroIOEmulator, http: httpx.Client) -> None:
    for i in range(44):
        emulator.add_space(f"space {i}")
    first = http.get("/v1/spaces/").json()
    assert first["count"] == 45 and len(first["results"]) == 20 and first["previous"] is None
    assert first["next"] == "http://localhost/v1/spaces/?limit=20&offset=20"
    seen = [s["id"] for s in first["results"]]
    url = first["next"]
    while url:
        page = http.get(url).json()
        assert page["previous"].startswith("http://localhost/v1/spaces/?limit=20&offset=")
        seen += [s["id"] for s in page["results"]]
        url = page["next"]
    assert seen == list(range(1, 46))


def test_limit_is_capped_and_offset_past_the_end_is_empty(
    emulator: NeuroIOEmulator, http: httpx.Client
) -> None:
    for i in range(150):
        emulator.add_space(f"space {i}")
    assert len(http.get("/v1/spaces/", params={"limit": 1000}).json()["results"]) == 100
    assert http.get("/v1/spaces/", params={"offset": 500}).json()["results"] == []


@pytest.mark.parametrize(
    ("key", "value"), [("limit", "abc"), ("limit", "0"), ("limit", "-5"), ("offset", "-1")]
)
def test_bad_limit_or_offset_is_400(http: httpx.Client, key: str, value: str) -> None:
    response = http.get("/v1/spaces/", params={key: value})
    assert response.status_code == 400
    assert set(_envelope_fields(response)) == {key}


def test_q_filters_by_name_ignoring_case_and_empty_q_is_no_filter(
    emulator: NeuroIOEmulator, http: httpx.Client
) -> None:
    for name in ("Team", "steam", "other"):
        emulator.add_space(name)
    found = http.get("/v1/spaces/", params={"q": "TEAM", "limit": 1}).json()
    assert found["count"] == 2 and found["next"].endswith("limit=1&offset=1&q=TEAM")
    assert [s["name"] for s in http.get("/v1/spaces/", params={"q": "team"}).json()["results"]] == [
        "Team",
        "steam",
    ]
    assert http.get("/v1/spaces/", params={"q": ""}).json()["count"] == 4


def test_the_full_list_is_unpaginated(emulator: NeuroIOEmulator, http: httpx.Client) -> None:
    for i in range(130):
        emulator.add_space(f"space {i}")
    assert len(http.get("/v1/lists/spaces/").json()) == 131


def test_temporary_tokens_expire_24h_after_the_emulator_clock(
    emulator: NeuroIOEmulator, http: httpx.Client
) -> None:
    emulator.clock.advance(3600 * 24 * 10)
    token = http.post("/v1/spaces/1/tokens/", json={"permanent": False})
    assert token.status_code == 201
    body = token.json()
    assert set(body) == {"id", "key", "is_active", "created", "expires"} and body["is_active"] is True
    created = datetime.fromisoformat(body["created"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    assert expires - created == timedelta(hours=24)
    assert abs((created - emulator.clock.now()).total_seconds()) < 60


def test_at_most_five_permanent_tokens_per_space(http: httpx.Client) -> None:
    space = http.post("/v1/spaces/", json={"name": "tokens"}).json()["id"]
    keys = set()
    for _ in range(5):
        token = http.post(f"/v1/spaces/{space}/tokens/", json={"permanent": True}).json()
        assert token["expires"] is None
        keys.add(token["key"])
    assert len(keys) == 5
    sixth = http.post(f"/v1/spaces/{space}/tokens/", json={"permanent": True})
    assert sixth.status_code == 400
    assert "at most 5 permanent tokens" in sixth.json()["message"]
    assert http.post(f"/v1/spaces/{space}/tokens/", json={"permanent": False}).status_code == 201
    assert http.post("/v1/spaces/1/tokens/", json={"permanent": True}).status_code == 201  # per space


def test_token_requests_are_checked(http: httpx.Client) -> None:
    assert http.post("/v1/spaces/999/tokens/", json={"permanent": False}).status_code == 404
    bad = http.post("/v1/spaces/1/tokens/", json={"permanent": "yes"})
    assert bad.status_code == 400 and _envelope_fields(bad) == {"permanent": "Must be a valid boolean."}


def test_served_on_loopback_it_answers_the_same(emulator: NeuroIOEmulator) -> None:
    with emulator.serve() as base_url:
        headers = {"Authorization": f"Token {emulator.token}"}
        with httpx.Client(base_url=base_url, headers=headers) as client:
            assert client.post("/v1/spaces/", json={"name": "served"}).status_code == 201
            page = client.get("/v1/spaces/", params={"limit": 1}).json()
            assert page["next"] == f"{base_url}/v1/spaces/?limit=1&offset=1"
            assert client.get("/v1/spaces").status_code == 404
            assert client.delete("/v1/spaces/2/").status_code == 204
    assert [r.path for r in emulator.requests] == [
        "/v1/spaces/",
        "/v1/spaces/",
        "/v1/spaces",
        "/v1/spaces/2/",
    ]
