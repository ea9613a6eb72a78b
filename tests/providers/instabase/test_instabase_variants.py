"""The Instabase plugin against other readings of the same documentation.

Each class is our strict emulator with one choice made differently where the docs
are silent or loose: flag defaults, missing or extra keys, how a bad token or a
duplicate is worded and with which status, how a creation is answered, the case of
``status``. The plugin must read each (sync, async, the contract suite, a migration
to and from memory), or fail with the right typed error and no token in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from spacekit_instabase._emulator import TOKEN, InstabaseEmulator

import spacekit
from spacekit import SpaceKind
from spacekit.testing import EmulatorContract

FAST = {"backoff": 0.01, "retries": 2, "deadline": 5.0}
LIST = "/api/v1/spaces/list"


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, headers={"Content-Type": "application/json"}, content=json.dumps(body).encode()
    )


def _listing(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path == LIST


class FlagsDefaultTrue(InstabaseEmulator):
    """Every key comes back whatever the flags say."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not _listing(request) or request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return super().handle(request)
        only_admin = request.url.params.get("get_admin_spaces_only", "").lower() == "true"
        url = request.url.copy_with(query=b"get_profiles=true&get_admins=true&get_repos=true")
        if only_admin:
            url = url.copy_add_param("get_admin_spaces_only", "true")
        return super().handle(httpx.Request("GET", url, headers=request.headers))


class Sparse(InstabaseEmulator):
    """Keys missing: no ``admins`` and no ``is_admin`` anywhere; no ``full_name``
    for a user space (whose profile has no display name set)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if not _listing(request) or response.json().get("status") != "OK":
            return response
        body = response.json()
        for space in body["spaces"]:
            for key in ("admins", "is_admin"):
                space.pop(key, None)
            if space["account_type"] == "USER":
                space.pop("full_name", None)
            for repo in space.get("repos", []):
                repo.pop("is_admin", None)
        return _json(200, body)


class Chatty(InstabaseEmulator):
    """Extra keys everywhere; ``account_type`` in lower case, or one nobody listed."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        body = response.json()
        body.update({"request_id": "req-1", "took_ms": 3})
        for space in body.get("spaces", []):
            kind = space["account_type"]
            space["account_type"] = "TEAM" if space["repo_owner"] == "alice" else kind.lower()
            space.update({"created_at": 1700000000, "settings": {"sso": True}})
            for repo in space.get("repos", []):
                repo["visibility"] = "private"
        return _json(response.status_code, body)


class LowerStatus(InstabaseEmulator):
    """``"status": "ok"`` and ``"error"`` in lower case."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        body = response.json()
        body["status"] = body["status"].lower()
        return _json(response.status_code, body)


class CreateAnswer(InstabaseEmulator):
    """A creation answered in another shape; the listing shows the new org at once."""

    shape: ClassVar[str] = "data"

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method != "POST" or response.json().get("status") != "OK":
            return response
        name = request.url.path.rsplit("/", 1)[1]
        if self.shape == "data":
            return _json(200, {"status": "OK", "data": {"org_name": name, "id": 42}})
        if self.shape == "201 empty":
            return httpx.Response(201)
        if self.shape == "no status":
            return _json(200, {"org_name": name})
        return _json(201, {"status": "OK", "org": {"name": name}})


class BadTokenWording(InstabaseEmulator):
    """A bad token answered with another status and wording."""

    status: ClassVar[int] = 200
    body: ClassVar[Any] = {"status": "ERROR", "msg": "Invalid token"}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == f"Bearer {TOKEN}":
            return super().handle(request)
        if isinstance(self.body, bytes):
            return httpx.Response(self.status, headers={"Content-Type": "text/html"}, content=self.body)
        return _json(self.status, self.body)


class DuplicateWording(InstabaseEmulator):
    """An existing organization refused in other words."""

    msg: ClassVar[str] = "Organization name is already taken"

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "POST" and "already exists" in response.json().get("msg", ""):
            return _json(200, {"status": "ERROR", "msg": self.msg})
        return response


class Other(FlagsDefaultTrue, Chatty, LowerStatus, CreateAnswer):
    """One plausible other implementation, with several of those choices at once."""


VARIANTS = [FlagsDefaultTrue, Sparse, Chatty, LowerStatus, CreateAnswer, Other]


@pytest.fixture(params=VARIANTS, ids=lambda cls: cls.__name__)
def variant(request: pytest.FixtureRequest) -> InstabaseEmulator:
    emulator: InstabaseEmulator = request.param()
    return emulator


@pytest.fixture
def store(variant: InstabaseEmulator) -> Iterator[spacekit.SpaceStore]:
    with variant.connect(**FAST) as opened:
        yield opened


# -- every variant -------------------------------------------------------------------------


def test_list_get_and_create(store: spacekit.SpaceStore, variant: InstabaseEmulator) -> None:
    spaces = {s.id: s for s in store.list()}
    assert set(spaces) == {"alice", "ib_eng"}
    eng = spaces["ib_eng"]
    if isinstance(variant, Sparse):
        assert (eng.name, eng.admins, eng.is_admin) == ("Engineering Organization", (), None)
        assert {r.is_admin for r in eng.subspaces} == {None}
        assert spaces["alice"].name == "alice"  # no display name: the handle names it
    else:
        assert (eng.name, eng.is_admin) == ("Engineering Organization", True)
        assert [r.is_admin for r in eng.subspaces] == [False, False]
    assert eng.kind is SpaceKind.ORGANIZATION
    made = store.create("Data Team", description="made by a variant test")
    assert (made.id, made.name, made.kind) == ("data_team", "Data Team", SpaceKind.ORGANIZATION)
    assert store.get("data_team").description == "made by a variant test"
    with pytest.raises(spacekit.Conflict):
        store.create("Data Team")
    with pytest.raises(spacekit.NotFound):
        store.get("no_such_org")


async def test_async_list_get_create(variant: InstabaseEmulator) -> None:
    async with variant.connect_async(**FAST) as astore:
        assert {s.id async for s in astore.list(query="engineering")} == {"ib_eng"}
        assert (await astore.get("alice")).description == "Alice's private user space"
        with pytest.raises(spacekit.NotFound):
            await astore.get("nobody")
        assert (await astore.create("Async Org")).id == "async_org"


def test_admin_only_keeps_its_meaning(store: spacekit.SpaceStore, variant: InstabaseEmulator) -> None:
    variant.spaces["ib_eng"]["is_admin"] = False
    for repo in variant.spaces["ib_eng"]["repos"]:
        repo["is_admin"] = False
    assert [s.id for s in store.list(admin_only=True)] == ["alice"]


def test_unknown_and_lower_case_kinds() -> None:
    with Chatty().connect(**FAST) as store:
        kinds = {s.id: s.kind for s in store.list()}
        assert kinds == {"alice": SpaceKind.WORKSPACE, "ib_eng": SpaceKind.ORGANIZATION}
        assert store.get("alice").raw["account_type"] == "TEAM"


@pytest.mark.parametrize("variant_cls", [Sparse, Other], ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("direction", ["into", "out of"])
def test_a_migration_into_and_out_of_memory(variant_cls: type[InstabaseEmulator], direction: str) -> None:
    emulator = variant_cls()
    with spacekit.connect("memory") as memory, emulator.connect(**FAST) as remote:
        if direction == "into":
            for index in range(5):
                memory.create(f"Moved Org {index}", description=f"org {index}")
            source, target = memory, remote
        else:
            source, target = remote, memory
        report = spacekit.migrate(source, target, concurrency=2)
        assert report.ok, report.summary()
        assert report.counts["created"] == len(report.items) == (5 if direction == "into" else 2)
        assert spacekit.verify(source, target).ok
        assert spacekit.migrate(source, target).counts["created"] == 0


class TestVariantContract(EmulatorContract):
    missing_id = "no_such_space"

    settings = FAST
    compared_fields = ("provider", "id", "name", "kind", "description", "subspaces", "image_url")

    @pytest.fixture(params=[Sparse, Other], ids=lambda cls: cls.__name__)
    def emulator(self, request: pytest.FixtureRequest) -> InstabaseEmulator:
        emulator: InstabaseEmulator = request.param()
        return emulator


# -- creation answers ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["data", "201 empty", "no status", "201 ok"])
def test_creation_answers_in_other_shapes(shape: str) -> None:
    emulator = type("Shaped", (CreateAnswer,), {"shape": shape})()
    with emulator.connect(**FAST) as store:
        made = store.create("Shape Org", description="shaped")
        again = store.create("Shape Org Two", description="shaped too")
    assert (made.id, made.name, made.description) == ("shape_org", "Shape Org", "shaped")
    assert (again.id, again.name, again.description) == ("shape_org_two", "Shape Org Two", "shaped too")
    methods = [r.method for r in emulator.requests]
    if shape in ("data", "201 ok"):  # says OK: trusted at once
        assert methods == ["POST", "POST"]
    else:  # says nothing: the listing confirms it once, then the same shape is trusted
        assert made.raw["repo_owner"] == "shape_org"  # read from the listing
        assert methods == ["POST", "GET", "POST"]


def test_a_statusless_answer_of_another_shape_is_confirmed_again() -> None:
    emulator = type("Shaped", (CreateAnswer,), {"shape": "no status"})()
    with emulator.connect(**FAST) as store:
        store.create("First Org")
        emulator.shape = "201 empty"
        store.create("Second Org")
        store.create("Third Org")
    assert [r.method for r in emulator.requests] == ["POST", "GET", "POST", "GET", "POST"]


def test_an_unconfirmed_creation_without_ok_is_a_protocol_error() -> None:
    emulator = type("Unlisted", (CreateAnswer,), {"shape": "no status"})()
    emulator.faults.fail(200, method="GET", body=b'{"status": "OK", "spaces": []}')
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ProtocolError, match="no 'status'"):
        store.create("Ghost Org")


# -- refusals ------------------------------------------------------------------------------

BAD_TOKEN_ANSWERS = [
    (401, b"<html><body><h1>401 Authorization Required</h1></body></html>"),
    (401, {"status": "ERROR", "msg": "Unauthorized"}),
    (403, {"status": "ERROR", "msg": "Invalid token"}),
    (200, {"status": "ERROR", "msg": "Invalid token"}),
    (200, {"status": "error", "msg": "Unauthorized"}),
    (200, {"status": "ERROR", "msg": "token expired"}),
    (200, {"status": "ERROR", "msg": "Authentication failed"}),
    (200, {"status": "ERROR", "msg": "Invalid OAuth token"}),
    (200, {"status": "ERROR", "msg": "The access token provided has expired"}),
    (200, {"status": "ERROR", "msg": "Token is not valid"}),
    (200, {"status": "ERROR", "msg": "Unauthenticated"}),
    (200, {"status": "ERROR", "message": "Invalid credentials"}),
]


@pytest.mark.parametrize(("status", "body"), BAD_TOKEN_ANSWERS)
async def test_a_bad_token_is_an_authentication_error(status: int, body: Any) -> None:
    emulator = type("Refusing", (BadTokenWording,), {"status": status, "body": body})()
    secret = "wrong-token-value-0042"
    with (
        emulator.connect(**FAST, token=secret) as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        list(store.list())
    async with emulator.connect_async(**FAST, token=secret) as astore:
        with pytest.raises(spacekit.AuthenticationError):
            await astore.create("Refused Org")
    assert secret not in f"{caught.value} {caught.value.body} {caught.value!r}"


@pytest.mark.parametrize(
    "msg",
    [
        "Organization name is already taken",
        "An organization with that name already exists",
        "org_name already in use",
        "Name is not available",
    ],
)
def test_a_duplicate_in_other_words_is_a_conflict(msg: str) -> None:
    emulator = type("Worded", (DuplicateWording,), {"msg": msg})()
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.Conflict, match=msg):
        store.create("ib_eng")


@pytest.mark.parametrize(
    "msg", ["Organization not found", "Organization does not exist", "No such organization"]
)
def test_an_unknown_organization_is_not_found(msg: str) -> None:
    emulator = InstabaseEmulator()
    emulator.faults.fail(200, method="POST", body=json.dumps({"status": "ERROR", "msg": msg}).encode())
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.NotFound, match=msg):
        store.create("Lost Org")
