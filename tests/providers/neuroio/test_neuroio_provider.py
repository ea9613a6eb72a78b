"""The NeuroIO provider sends exactly the documented requests and reads answers liberally."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from spacekit_neuroio import parse_space, plugin
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit import Capability


def test_registered_with_its_settings_and_capabilities() -> None:
    with spacekit.connect("neuroio", token="t0ken-value") as store:
        assert store.provider == "neuroio"
        assert store.location == "https://iam.neuroio.com"
        assert store.capabilities == frozenset(Capability) - {Capability.SUBSPACES}
        assert store.writable_fields == frozenset({"name"})
    assert plugin.settings["token"].secret and plugin.settings["token"].required


def test_a_token_is_required() -> None:
    with pytest.raises(spacekit.ConfigError, match="token"):
        spacekit.connect("neuroio")


def test_every_operation_sends_the_documented_request(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    space = nio.create("test", description=None)
    nio.get(space.id)
    nio.update(space.id, name="newname")
    nio.create_token(space.id, permanent=True)
    list(nio.list(query="te"))
    nio.delete(space.id)
    sent = [(r.method, r.path, r.query, r.json()) for r in emulator.requests]
    assert sent == [
        ("POST", "/v1/spaces/", "", {"name": "test"}),
        ("GET", "/v1/spaces/2/", "", None),
        ("PATCH", "/v1/spaces/2/", "", {"name": "newname"}),
        ("POST", "/v1/spaces/2/tokens/", "", {"permanent": True}),
        ("GET", "/v1/spaces/", "limit=100&offset=0&q=te", None),
        ("DELETE", "/v1/spaces/2/", "", None),
    ]
    for request in emulator.requests:
        assert request.headers["Authorization"] == f"Token {emulator.token}"
        assert request.headers["User-Agent"].startswith("spacekit/")


def test_create_keeps_only_what_neuroio_holds_and_says_so(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    with pytest.warns(spacekit.FieldDroppedWarning, match="neuroio store keeps no description"):
        space = nio.create("described", description="dropped: NeuroIO has no descriptions")
    assert space.description is None
    assert emulator.requests[-1].json() == {"name": "described"}


def test_update_treats_a_description_as_create_does(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    with pytest.warns(spacekit.FieldDroppedWarning, match="neuroio store keeps no description"):
        space = nio.update("1", name="renamed", description="cannot be kept")
    assert (space.name, space.description) == ("renamed", None)
    assert [(r.method, r.json()) for r in emulator.requests] == [("PATCH", {"name": "renamed"})]
    emulator.requests.clear()
    with pytest.warns(spacekit.FieldDroppedWarning):
        assert nio.update("1", description="only this").name == "renamed"
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/v1/spaces/1/")]


def test_clearing_a_description_changes_nothing(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    assert nio.update("1", description=None).name == "default"
    assert [(r.method, r.path) for r in emulator.requests] == [("GET", "/v1/spaces/1/")]
    assert nio.update("1", name="renamed", description=None).name == "renamed"
    assert emulator.requests[-1].json() == {"name": "renamed"}


def test_list_reads_every_page_and_advances_by_what_came_back(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    emulator.max_limit = 7  # a server that serves smaller pages than asked
    emulator.serves_full_list = False  # a deployment without /v1/lists/spaces/: pages
    for i in range(29):
        emulator.add_space(f"space {i}")
    assert [s.id for s in nio.list()] == [str(i) for i in range(1, 31)]
    refused, *pages = emulator.requests
    assert refused.path == "/v1/lists/spaces/"
    # the pages after the first go out as one batch, concurrently: in any order
    assert sorted((r.params["offset"] for r in pages), key=int) == ["0", "7", "14", "21", "28"]


def test_list_without_a_query_is_one_request_for_every_space(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    for i in range(249):
        emulator.add_space(f"space {i}")
    assert [s.id for s in nio.list()] == [str(i) for i in range(1, 251)]
    assert [(r.path, r.query) for r in emulator.requests] == [("/v1/lists/spaces/", "")]


def test_list_query_is_sent_as_q(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    for name in ("alpha", "ALPHABET", "beta"):
        emulator.add_space(name)
    assert [s.name for s in nio.list(query="alpha")] == ["alpha", "ALPHABET"]
    assert emulator.requests[-1].params == {"limit": "100", "offset": "0", "q": "alpha"}


def test_space_tokens(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    temporary = nio.create_token("1")
    assert temporary.space_id == "1" and not temporary.permanent and temporary.is_active
    assert temporary.created_at is not None and temporary.expires_at is not None
    assert temporary.expires_at - temporary.created_at == timedelta(hours=24)
    assert temporary.key not in repr(temporary)
    permanent = [nio.create_token("1", permanent=True) for _ in range(5)]
    assert all(t.permanent and t.expires_at is None for t in permanent)
    with pytest.raises(spacekit.ValidationError, match="at most 5 permanent tokens"):
        nio.create_token("1", permanent=True)


def test_the_error_envelope_gives_message_and_fields(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    envelope = {
        "error_codes": [7],
        "message": "Validation error.",
        "fields": [{"name": "name", "message": "Already taken.", "error_code": 12}],
    }
    emulator.faults.fail(400, body=json.dumps(envelope), method="POST")
    with pytest.raises(spacekit.ValidationError) as caught:
        nio.create("taken")
    assert caught.value.fields == {"name": "Already taken."}
    assert "Validation error." in str(caught.value) and "Already taken." in str(caught.value)
    assert caught.value.status == 400 and caught.value.provider == "neuroio"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, spacekit.AuthenticationError),
        (403, spacekit.PermissionDenied),
        (404, spacekit.NotFound),
        (409, spacekit.Conflict),
        (500, spacekit.ProviderUnavailable),
    ],
)
def test_statuses_map_to_errors_with_the_message(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator, status: int, error: type[Exception]
) -> None:
    emulator.faults.fail(
        status, times=10, body='{"error_codes": [1], "message": "It went wrong.", "fields": []}'
    )
    with pytest.raises(error, match=r"It went wrong\."):
        nio.get("1")


def test_a_wrong_token_is_an_authentication_error(emulator: NeuroIOEmulator) -> None:
    with (
        emulator.connect(token="not-the-token") as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        store.get("1")
    assert "Invalid token." in str(caught.value)


def test_a_non_numeric_id_is_sent_safely_and_not_found(
    nio: spacekit.SpaceStore, emulator: NeuroIOEmulator
) -> None:
    with pytest.raises(spacekit.NotFound):
        nio.get("default")
    assert emulator.requests[-1].path == "/v1/spaces/default/"


def test_spaces_are_parsed_liberally(nio: spacekit.SpaceStore, emulator: NeuroIOEmulator) -> None:
    emulator.faults.fail(200, body='{"id": "7", "name": "str id", "created": "2024-01-01", "extra": [1]}')
    space = nio.get("7")
    assert (space.id, space.name) == ("7", "str id")
    assert space.raw["extra"] == [1] and space.raw["created"] == "2024-01-01"


@pytest.mark.parametrize(
    "payload", [[], "x", {"name": "no id"}, {"id": True, "name": "x"}, {"id": 1}, {"id": 1, "name": 5}]
)
def test_parse_space_refuses_what_is_not_a_space(payload: object) -> None:
    with pytest.raises(ValueError):
        parse_space(payload)


async def test_the_async_store_shares_the_logic(
    anio: spacekit.AsyncSpaceStore, emulator: NeuroIOEmulator
) -> None:
    for i in range(120):
        emulator.add_space(f"space {i}")
    assert len([s async for s in anio.list()]) == 121
    token = await anio.create_token("1", permanent=True)
    assert token.permanent
    with pytest.warns(spacekit.FieldDroppedWarning):
        assert (await anio.update("1", description="nope")).description is None
    await anio.update("2", name="renamed")
    await anio.delete("2")
    with pytest.raises(spacekit.NotFound):
        await anio.get("2")
