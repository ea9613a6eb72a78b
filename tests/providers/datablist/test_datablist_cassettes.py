"""Recorded exchanges with Datablist (cassettes/datablist/), replayed offline.

Replay uses record mode "none" and the real URLs with no emulator behind them, so a
request that was not recorded fails. The cassettes were recorded from the emulator
(seeded with the docs' examples, made valid JSON) by scripts/record_datablist.py,
which can also record the live service; they hold no credential.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from spacekit_datablist._emulator import API_KEY, DOCUMENTED_LIST_ITEM, DOCUMENTED_WORKSPACE

import spacekit
from spacekit import SpaceKind
from spacekit.testing import find_secrets

pytestmark = pytest.mark.vcr
CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "datablist"
NAME = "spacekit cassette workspace"


def check_documented(space: spacekit.Space, item: Any) -> None:
    assert space.provider == "datablist"
    assert space.id == item["@id"]
    assert space.name == item["name"] == "Acme Workspace"
    assert space.owner == item["user_id"]
    assert space.kind is SpaceKind.WORKSPACE
    assert space.created_at is not None and space.created_at.isoformat() == "2020-07-08T09:31:10.303945+00:00"
    assert space.updated_at is not None and space.updated_at.isoformat() == "2020-07-08T09:31:10.303961+00:00"


def test_token_exchange(cassette_target: Any) -> None:
    with cassette_target.open() as store:
        assert isinstance(list(store.list()), list)


def test_key_refused(cassette_target: Any) -> None:
    with (
        cassette_target.open(api_key="not-a-datablist-key") as store,
        pytest.raises(spacekit.AuthenticationError, match="refused the API key") as caught,
    ):
        list(store.list())
    assert caught.value.status == 401


def test_documented_list(cassette_target: Any) -> None:
    cassette_target.seed(dict(DOCUMENTED_LIST_ITEM))
    with cassette_target.open() as store:
        (space,) = store.list()
        assert [s.id for s in store.list(query="acme")] == [space.id]
        assert list(store.list(query="nothing like it")) == []
    check_documented(space, DOCUMENTED_LIST_ITEM)
    assert "@type" not in space.raw  # list items come without it, as documented


def test_documented_get(cassette_target: Any) -> None:
    cassette_target.seed(dict(DOCUMENTED_WORKSPACE))
    with cassette_target.open() as store:
        space = store.get(DOCUMENTED_WORKSPACE["@id"])
    check_documented(space, DOCUMENTED_WORKSPACE)
    assert space.raw["@type"] == "Workspace"


def test_documented_update_and_delete(cassette_target: Any) -> None:
    cassette_target.seed(dict(DOCUMENTED_WORKSPACE))
    wid = DOCUMENTED_WORKSPACE["@id"]
    with cassette_target.open() as store:
        updated = store.update(wid, name="Updated name")
        assert updated.id == wid and updated.name == "Updated name"
        assert updated.created_at == store.get(wid).created_at
        store.delete(wid)
        with pytest.raises(spacekit.NotFound):
            store.get(wid)


def test_crud(cassette_target: Any) -> None:
    with cassette_target.open() as store:
        created = store.create(NAME, description="Datablist keeps no description")
        assert created.name == NAME and created.description is None
        assert created.id in {s.id for s in store.list(query="cassette")}
        renamed = store.update(created.id, name=f"{NAME} renamed")
        assert renamed.name == f"{NAME} renamed" and renamed.id == created.id
        store.delete(created.id)
        with pytest.raises(spacekit.NotFound):
            store.get(created.id)


def test_unknown_id(cassette_target: Any) -> None:
    with cassette_target.open() as store, pytest.raises(spacekit.NotFound):
        store.get("zzzzzzzzzzzzzzzzzzz")


def test_privilege_refused(cassette_target: Any) -> None:
    cassette_target.seed(dict(DOCUMENTED_WORKSPACE))
    if cassette_target.emulator is not None:
        cassette_target.emulator.privileged = False
    with cassette_target.open() as store:
        with pytest.raises(spacekit.PermissionDenied, match="privilege for creating"):
            store.create(NAME)
        with pytest.raises(spacekit.PermissionDenied, match="privilege for deleting"):
            store.delete(DOCUMENTED_WORKSPACE["@id"])
        assert store.get(DOCUMENTED_WORKSPACE["@id"]).name == "Acme Workspace"


@pytest.mark.vcr("test_crud.yaml")
async def test_crud_replayed_async(cassette_target: Any) -> None:
    if cassette_target.mode != "replay":
        pytest.skip("replays the sync recording")
    async with cassette_target.open_async() as store:
        created = await store.create(NAME, description=None)
        assert created.id in {s.id async for s in store.list(query="cassette")}
        assert (await store.update(created.id, name=f"{NAME} renamed")).name == f"{NAME} renamed"
        await store.delete(created.id)
        with pytest.raises(spacekit.NotFound):
            await store.get(created.id)


def _interactions() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            found.append((path.name, interaction))
    return found


@pytest.mark.vcr(record_mode="none")
def test_every_operation_and_the_exchange_is_recorded_without_secrets() -> None:
    interactions = _interactions()
    seen = {(i["request"]["method"], i["request"]["uri"].split("/")[2]) for _, i in interactions}
    assert ("POST", "account.datablist.com") in seen
    assert {m for m, host in seen if host == "data.datablist.com"} == {"GET", "POST", "PATCH", "DELETE"}
    for name, interaction in interactions:
        text = yaml.safe_dump(interaction)
        assert API_KEY not in text and find_secrets(text) == [], name
        request, response = interaction["request"], interaction["response"]
        if request["uri"].endswith("/token"):
            assert json.loads(request["body"]) == {"apiKey": "REDACTED"}
            if response["status"]["code"] == 200:
                assert json.loads(response["body"]["string"])["access_token"] == "REDACTED"
        else:
            headers = {key.lower(): value for key, value in request["headers"].items()}
            assert headers["authorization"] == ["REDACTED"]
