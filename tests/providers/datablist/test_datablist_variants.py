"""The Datablist plugin against other readings of the same documentation.

Each class is our strict emulator with one choice made differently where the docs
are silent or loose: the token answer's expiry fields, list envelopes, timestamp
forms, what a create or a PATCH answers, how a missing privilege or an error is
worded, and the status of an unknown id. The plugin must read each (sync, async,
the contract suite, a migration to and from memory), or fail with the right typed
error and no secret in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from spacekit_datablist._emulator import API_KEY, DatablistEmulator

import spacekit
from spacekit.testing import EmulatorContract

FAST = {"backoff": 0.01, "retries": 2, "deadline": 5.0}


def _json(status: int, body: Any, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, headers={"Content-Type": content_type}, content=json.dumps(body).encode())


def _is_exchange(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path == "/token"


def _workspace_path(request: httpx.Request) -> bool:
    return request.url.path.count("/") == 1 and request.url.path != "/" and not _is_exchange(request)


class TokenExpiry(DatablistEmulator):
    """The token answer says when it expires in one way only, or not at all."""

    shape: ClassVar[str] = "expires_in"

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if not _is_exchange(request) or response.status_code != 200:
            return response
        body = response.json()
        expires_at, expires_in = body.pop("expires_at"), body.pop("expires_in")
        moment = datetime.fromtimestamp(expires_at, UTC)
        body["token_type"] = "bearer"
        body.update(
            {
                "expires_in": {"expires_in": expires_in, "string": str(expires_in)},
                "expires_at": {
                    "epoch": expires_at,
                    "epoch ms": expires_at * 1000,
                    "iso Z": moment.isoformat().replace("+00:00", "Z"),
                    "iso offset": moment.astimezone(UTC).astimezone().isoformat(),
                    "iso naive": moment.replace(tzinfo=None).isoformat(),
                },
            }.get(self.shape, {})
        )
        if self.shape == "string":
            body["expires_in"] = str(expires_in)
        return _json(200, body)


class Timestamps(DatablistEmulator):
    """``createdAt``/``updatedAt`` in another ISO 8601 form."""

    form: ClassVar[str] = "Z"

    def _timestamp(self) -> str:
        now = self.clock.now()
        if self.form == "Z":
            return now.isoformat(timespec="seconds").replace("+00:00", "Z")
        if self.form == "millis":
            return now.isoformat(timespec="milliseconds")
        if self.form == "+02:00":
            return now.astimezone(UTC).astimezone(_PLUS_TWO).isoformat()
        return now.isoformat()  # "+00:00" with microseconds


_PLUS_TWO = __import__("datetime").timezone(timedelta(hours=2))


class Typed(DatablistEmulator):
    """List items keep their ``@type``, and the list is a bare array."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "GET" and request.url.path == "/" and response.status_code == 200:
            return _json(200, list(self.workspaces.values()), "application/ld+json")
        return response


class FullCreate(DatablistEmulator):
    """A create answers the whole workspace; PATCH and DELETE answer 200 with a body."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "POST" and request.url.path == "/" and response.status_code == 201:
            return _json(201, {"@context": {}, **self.workspaces[response.json()["@id"]]})
        if request.method == "PATCH" and response.status_code == 204:
            return _json(200, self.workspaces[request.url.path[1:]])
        if request.method == "DELETE" and response.status_code == 204:
            return _json(200, {"deleted": True})
        return response


class BadRequestIds(DatablistEmulator):
    """An unknown id is 400 (say, an id that fails the server's format check)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code == 404 and _workspace_path(request):
            return _json(400, {"code": "invalid_id", "message": "Invalid workspace id"})
        return response


class ErrorShapes(DatablistEmulator):
    """Error bodies in another shape than ``{"code", "message"}``."""

    shape: ClassVar[str] = "error"

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code < 400:
            return response
        message = response.json()["message"]
        if self.shape == "error":
            return _json(response.status_code, {"error": message})
        if self.shape == "detail":
            return _json(response.status_code, {"detail": message})
        if self.shape == "fastapi":
            status = 422 if response.status_code == 400 else response.status_code
            return _json(
                status, {"detail": [{"loc": ["body", "name"], "msg": message, "type": "value_error"}]}
            )
        return httpx.Response(
            response.status_code, headers={"Content-Type": "text/plain"}, content=message.encode()
        )


class PrivilegeAs401(DatablistEmulator):
    """A missing privilege answered 401, in the body's own words."""

    body: ClassVar[Any] = {"error": "Unauthorized"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code == 403:
            content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
            return httpx.Response(401, content=content)
        return response


class Other(Typed, FullCreate, BadRequestIds, ErrorShapes, Timestamps):
    """One plausible other implementation, with several choices at once."""


VARIANTS = [TokenExpiry, Timestamps, Typed, FullCreate, BadRequestIds, ErrorShapes, Other]


@pytest.fixture(params=VARIANTS, ids=lambda cls: cls.__name__)
def variant(request: pytest.FixtureRequest) -> DatablistEmulator:
    emulator: DatablistEmulator = request.param()
    emulator.add_workspace("Acme Workspace")
    return emulator


@pytest.fixture
def store(variant: DatablistEmulator) -> Iterator[spacekit.SpaceStore]:
    with variant.connect(**FAST) as opened:
        yield opened


# -- every variant -------------------------------------------------------------------------


def test_crud(store: spacekit.SpaceStore, variant: DatablistEmulator) -> None:
    assert [s.name for s in store.list()] == ["Acme Workspace"]
    made = store.create("Made Here", description="dropped")
    creates = len(variant.requests)
    fetched = store.get(made.id)
    assert (made.id, made.name, made.description) == (fetched.id, "Made Here", None)
    assert fetched.created_at is not None and fetched.created_at.tzinfo is UTC
    if isinstance(variant, FullCreate):
        assert made == fetched  # the answer was the whole workspace
    else:
        assert made.created_at is None  # not in the {"@id"} answer
        assert made.owner == fetched.owner == store.caller()  # the exchange's user_id
    assert [r.method for r in variant.requests[creates - 1 : creates]] == ["POST"]  # no read-back
    renamed = store.update(made.id, name="Renamed")
    assert (renamed.id, renamed.name) == (made.id, "Renamed")
    assert [s.id for s in store.list(query="renamed")] == [made.id]
    store.delete(made.id)
    for call in (store.get, store.delete, lambda i: store.update(i, name="x")):
        with pytest.raises(spacekit.NotFound) as caught:
            call(made.id)
        assert API_KEY not in f"{caught.value} {caught.value.body}"


async def test_async_crud(variant: DatablistEmulator) -> None:
    async with variant.connect_async(**FAST) as astore:
        made = await astore.create("Async Made")
        assert (await astore.update(made.id, name="Async Renamed")).name == "Async Renamed"
        assert {s.name async for s in astore.list()} == {"Acme Workspace", "Async Renamed"}
        await astore.delete(made.id)
        with pytest.raises(spacekit.NotFound):
            await astore.get(made.id)


def test_an_expired_token_is_renewed(store: spacekit.SpaceStore, variant: DatablistEmulator) -> None:
    assert len(list(store.list())) == 1
    variant.clock.advance(3 * 86400)
    assert len(list(store.list())) == 1
    assert variant.token_exchanges() == 2


@pytest.mark.parametrize("variant_cls", [TokenExpiry, Other], ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("direction", ["into", "out of"])
def test_a_migration_into_and_out_of_memory(variant_cls: type[DatablistEmulator], direction: str) -> None:
    emulator = variant_cls()
    with spacekit.connect("memory") as memory, emulator.connect(**FAST) as remote:
        for index in range(12):
            if direction == "into":
                memory.create(f"moved {index}", description="Datablist keeps none")
            else:
                emulator.add_workspace(f"moved {index}")
        source, target = (memory, remote) if direction == "into" else (remote, memory)
        report = spacekit.migrate(source, target, concurrency=4)
        assert report.ok, report.summary()
        assert report.counts["created"] == len(report.items) == 12
        assert spacekit.verify(source, target).ok
        assert spacekit.migrate(source, target).counts["created"] == 0


class TestVariantContract(EmulatorContract):
    missing_id = "zzzzzzzzzzzzzzzzzzz"

    settings = FAST
    #: TokenExpiry answers a create with ``{"@id"}`` only (see test_datablist_contract)
    compared_fields = ("provider", "id", "name", "kind", "description", "admins", "subspaces")

    @pytest.fixture(params=[Other, TokenExpiry], ids=lambda cls: cls.__name__)
    def emulator(self, request: pytest.FixtureRequest) -> DatablistEmulator:
        emulator: DatablistEmulator = request.param()
        return emulator


# -- one choice at a time -------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape", ["expires_in", "string", "epoch", "epoch ms", "iso Z", "iso offset", "iso naive", "neither"]
)
def test_every_token_expiry_form_is_read(shape: str) -> None:
    emulator = type("Expiring", (TokenExpiry,), {"shape": shape})()
    with emulator.connect(**FAST) as store:
        assert list(store.list()) == []
        store.create("after the exchange")
        emulator.clock.advance(2 * 86400)  # expired by the server's clock: a 401, then renewal
        assert [s.name for s in store.list()] == ["after the exchange"]
    assert emulator.token_exchanges() == 2


@pytest.mark.parametrize("form", ["Z", "millis", "+02:00", "+00:00"])
def test_timestamp_forms_are_aware_utc(form: str) -> None:
    emulator = type("Stamped", (Timestamps,), {"form": form})()
    emulator.add_workspace("stamped")
    with emulator.connect(**FAST) as store:
        (space,) = store.list()
    expected = emulator.clock.now()
    assert space.created_at is not None and space.created_at.tzinfo is UTC
    assert abs(space.created_at - expected) < timedelta(seconds=5)


@pytest.mark.parametrize("shape", ["error", "detail", "fastapi", "text"])
def test_error_bodies_in_other_shapes_keep_their_words(shape: str) -> None:
    emulator = type("Shaped", (ErrorShapes,), {"shape": shape})()
    with emulator.connect(**FAST) as store:
        with pytest.raises(spacekit.NotFound) as missing:
            store.get("zzzzzzzzzzzzzzzzzzz")
        emulator.faults.fail(400, method="POST", body=b'{"code": "x", "message": "extra field: color"}')
        with pytest.raises(spacekit.ValidationError):
            store.create("refused")
    if shape != "text":
        assert "no workspace" in str(missing.value)
    assert missing.value.status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Unauthorized"},
        {"message": "Missing privilege"},
        b"Forbidden",
        b"",
        {"detail": "Not allowed"},
    ],
)
async def test_a_privilege_refused_with_401_is_permission_denied(body: Any) -> None:
    emulator = type("Unprivileged", (PrivilegeAs401,), {"body": body})()
    emulator.privileged = False
    emulator.add_workspace("kept")
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.PermissionDenied, match="privilege"):
        store.create("refused")
    async with emulator.connect_async(**FAST) as astore:
        with pytest.raises(spacekit.PermissionDenied, match="privilege") as caught:
            await astore.delete(next(iter(emulator.workspaces)))
    assert API_KEY not in f"{caught.value} {caught.value.body}"
    assert len(emulator.workspaces) == 1


def test_a_400_on_a_patch_is_still_a_validation_error_for_a_known_id() -> None:
    emulator = BadRequestIds()
    known = emulator.add_workspace("known")["@id"]
    emulator.faults.fail(400, method="PATCH", body=b'{"code": "bad", "message": "name too long"}')
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ValidationError, match="name too long"):
        store.update(known, name="fine locally")
