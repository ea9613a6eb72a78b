"""The official ``neuroio`` SDK, unchanged, against our emulator served on loopback.

The SDK builds its URLs from ``IAMBaseBase.base_url`` (a class attribute copied
from ``neuroio.constants.IAM_BASE_URL`` when the module loads), so that attribute
is what the test points at the emulator. Every spaces call of the SDK, sync and
async, must succeed: that shows the emulator speaks the real wire format.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

neuroio = pytest.importorskip("neuroio")
from neuroio.base import IAMBaseBase  # noqa: E402


@pytest.fixture
def served(emulator: NeuroIOEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with emulator.serve() as base_url:
        monkeypatch.setattr(IAMBaseBase, "base_url", base_url)
        yield base_url


def test_every_spaces_call_of_the_sync_sdk(served: str, emulator: NeuroIOEmulator) -> None:
    client = neuroio.Client(api_token=emulator.token)

    created = client.spaces.create(name="test")
    assert created.status_code == 201
    space_id = created.json()["id"]
    assert created.json() == {"id": space_id, "name": "test"}

    listed = client.spaces.list(q="te", limit=10, offset=0)
    assert listed.status_code == 200
    assert [s["name"] for s in listed.json()["results"]] == ["test"]
    assert client.spaces.list().json()["count"] == 2  # q=None goes out as an empty q=

    assert client.spaces.get(id=space_id).json() == {"id": space_id, "name": "test"}
    assert client.spaces.update(id=space_id, name="newname").json()["name"] == "newname"

    temporary = client.spaces.token(id=space_id, permanent=False)
    assert temporary.status_code == 201 and temporary.json()["expires"] is not None
    permanent = client.spaces.token(id=space_id, permanent=True)
    assert permanent.status_code == 201 and permanent.json()["expires"] is None

    assert [s["name"] for s in client.lists.spaces.all().json()] == ["default", "newname"]

    deleted = client.spaces.delete(id=space_id)
    assert deleted.status_code == 204
    assert client.spaces.get(id=space_id).status_code == 404

    assert {r.headers["User-Agent"].split("/")[0] for r in emulator.requests} == {"neuroio-python"}
    assert emulator.requests[2].query == "q=&limit=20&offset=0"


def test_the_sdk_with_a_wrong_token_gets_401(served: str) -> None:
    response = neuroio.Client(api_token="wrong").spaces.list()
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


async def test_every_spaces_call_of_the_async_sdk(served: str, emulator: NeuroIOEmulator) -> None:
    client = neuroio.AsyncClient(api_token=emulator.token)

    created = await client.spaces.create(name="async")
    assert created.status_code == 201
    space_id = created.json()["id"]
    assert (await client.spaces.list(q="ASY", limit=5, offset=0)).json()["results"] == [
        {"id": space_id, "name": "async"}
    ]
    assert (await client.spaces.get(id=space_id)).json()["name"] == "async"
    assert (await client.spaces.update(id=space_id, name="renamed")).json()["name"] == "renamed"
    assert (await client.spaces.token(id=space_id, permanent=True)).status_code == 201
    assert (await client.spaces.token(id=space_id)).status_code == 201
    assert len((await client.lists.spaces.all()).json()) == 2
    assert (await client.spaces.delete(id=space_id)).status_code == 204
    assert space_id not in emulator.spaces
    assert {r.headers["User-Agent"].split("/")[0] for r in emulator.requests} == {"neuroio-async-python"}
