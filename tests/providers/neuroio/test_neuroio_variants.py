"""The NeuroIO plugin against other readings of the same documentation.

Someone else's emulator, written from providers.md, may choose differently wherever
the docs are silent or loose. Each class below makes one such choice, as a subclass
of our strict emulator overriding only that behaviour. The plugin must read every
one of them (sync and async, the contract suite, a migration to and from memory),
and where it cannot, fail with a typed error that carries no secret.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import httpx
import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit
from spacekit.testing import EmulatorContract

FAST = {"backoff": 0.01, "retries": 2, "deadline": 5.0}
LIST = "/v1/spaces/"
FULL_LIST = "/v1/lists/spaces/"


def _rewrite(
    response: httpx.Response, status: int, body: Any = None, content: bytes | None = None
) -> httpx.Response:
    if content is None:
        content = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if content else {}
    return httpx.Response(status, headers=headers, content=content)


class CountResults(NeuroIOEmulator):
    """Pages as ``{"count", "results"}`` only, at most 20 whatever ``limit`` says."""

    max_limit = 20

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        return {"count": count, "results": page}


class BareArray(NeuroIOEmulator):
    """Pages as a bare array, at most 20."""

    max_limit = 20

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        return page


class RelativeNext(NeuroIOEmulator):
    """``next`` and ``previous`` as paths, not URLs; pages of 20."""

    max_limit = 20

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        body = super().page_body(request, page, count, limit, offset)
        for key in ("next", "previous"):
            if body[key]:
                body[key] = "/" + body[key].split("/", 3)[3]
        return body


class ForeignNext(NeuroIOEmulator):
    """``next`` on another host (a CDN or a load balancer's own name); pages of 20."""

    max_limit = 20

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        body = super().page_body(request, page, count, limit, offset)
        if body["next"]:
            body["next"] = body["next"].replace("http://localhost", "https://elsewhere.example.net")
        return body


class StringIds(NeuroIOEmulator):
    """Ids as strings, and spaces with keys nobody published."""

    def add_space(self, name: str) -> dict[str, Any]:
        space = super().add_space(name)
        space["id"] = str(space["id"])
        space.update({"created": "2024-01-02T03:04:05Z", "owner": {"id": 7}, "is_default": name == "default"})
        return space


class Delete202(NeuroIOEmulator):
    """DELETE answers 202 with a body, as in the SDK's mocks."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "DELETE" and response.status_code == 204:
            return _rewrite(response, 202, {"status": "accepted"})
        return response


class Delete200(NeuroIOEmulator):
    """DELETE answers 200 with the deleted space."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        before = dict(self.spaces)
        response = super().handle(request)
        if request.method == "DELETE" and response.status_code == 204:
            gone = next(s for k, s in before.items() if k not in self.spaces)
            return _rewrite(response, 200, gone)
        return response


class CaseSensitiveQ(NeuroIOEmulator):
    """``q`` matches names case-sensitively."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params.get("q")
        if request.method != "GET" or request.url.path != LIST or not query:
            return super().handle(request)
        everything = self.spaces
        self.spaces = {k: s for k, s in everything.items() if query in s["name"]}
        try:
            url = request.url.copy_remove_param("q")
            return super().handle(httpx.Request("GET", url, headers=request.headers))
        finally:
            self.spaces = everything


class SearchTerms(NeuroIOEmulator):
    """``q`` as Django REST framework's SearchFilter reads it: split on spaces, a name
    matches when it contains every term, in any order."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params.get("q")
        if request.method != "GET" or request.url.path != LIST or not query:
            return super().handle(request)
        terms = query.casefold().split()
        everything = self.spaces
        self.spaces = {k: s for k, s in everything.items() if all(t in s["name"].casefold() for t in terms)}
        try:
            url = request.url.copy_remove_param("q")
            return super().handle(httpx.Request("GET", url, headers=request.headers))
        finally:
            self.spaces = everything


class PutOnly(NeuroIOEmulator):
    """Updates by PUT only (as the JS SDK sends them); PATCH is 405."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return _rewrite(
                httpx.Response(405),
                405,
                {"error_codes": [1005], "message": "Method not allowed.", "fields": []},
            )
        return super().handle(request)


class PatchNoContent(NeuroIOEmulator):
    """PATCH answers 204 with no body."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if request.method == "PATCH" and response.status_code == 200:
            return _rewrite(response, 204)
        return response


class DrfErrors(NeuroIOEmulator):
    """Errors in Django REST framework's own shapes: ``{"detail"}``, or field lists."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code < 400:
            return response
        body = response.json()
        fields = {f["name"]: [f["message"]] for f in body["fields"]}
        return _rewrite(response, response.status_code, fields or {"detail": body["message"]})


class EmptyErrors(NeuroIOEmulator):
    """Errors with an empty body."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        return _rewrite(response, response.status_code) if response.status_code >= 400 else response


class HtmlErrors(NeuroIOEmulator):
    """Errors as the HTML page of a proxy or a framework's debug screen."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if response.status_code < 400:
            return response
        page = f"<html><body><h1>{response.status_code}</h1></body></html>".encode()
        return httpx.Response(response.status_code, headers={"Content-Type": "text/html"}, content=page)


class TokenShapes(NeuroIOEmulator):
    """Token objects with extra keys, missing keys, or timestamps in other forms."""

    shape: ClassVar[str] = "extra"

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        if not request.url.path.endswith("/tokens/") or response.status_code != 201:
            return response
        token = response.json()
        if self.shape == "extra":
            token.update({"space_id": 1, "permissions": ["read"], "name": None})
        elif self.shape == "minimal":
            token = {"id": token["id"], "key": token["key"]}
        elif self.shape == "no id":
            del token["id"]
        elif self.shape == "epoch":
            token.update({"created": 1700000000, "expires": None})
        elif self.shape == "offset":
            token.update({"created": "2024-01-02T05:04:05+02:00", "expires": "2024-01-03T05:04:05.123+02:00"})
        elif self.shape == "garbled":
            token.update({"created": "yesterday", "expires": "tomorrow"})
        return _rewrite(response, 200 if self.shape == "minimal" else 201, token)


class SlashRedirect(NeuroIOEmulator):
    """Paths without the slash are canonical: a slashed one is 301 to the bare one."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/" and request.url.path.endswith("/"):
            location = str(request.url.copy_with(path=request.url.path.rstrip("/"), query=None))
            return httpx.Response(301, headers={"Location": location}, content=b"<html>Moved</html>")
        return super().handle(request)


class Django(CountResults, StringIds, Delete202, SearchTerms, DrfErrors):
    """Several of those choices at once: one plausible other implementation."""


class Proxied(BareArray, PutOnly, HtmlErrors, Delete200):
    """Another: bare arrays, PUT updates, HTML errors from a proxy."""


class Quiet(ForeignNext, PatchNoContent, EmptyErrors):
    """A third: foreign ``next`` links, empty PATCH answers, empty error bodies."""


VARIANTS: list[type[NeuroIOEmulator]] = [
    CountResults,
    BareArray,
    RelativeNext,
    ForeignNext,
    StringIds,
    Delete202,
    Delete200,
    CaseSensitiveQ,
    SearchTerms,
    PutOnly,
    PatchNoContent,
    DrfErrors,
    EmptyErrors,
    HtmlErrors,
    Django,
    Proxied,
    Quiet,
]
COMBINED = [Django, Proxied, Quiet]


@pytest.fixture(params=VARIANTS, ids=lambda cls: cls.__name__)
def variant(request: pytest.FixtureRequest) -> NeuroIOEmulator:
    emulator: NeuroIOEmulator = request.param()
    for index in range(45):
        emulator.add_space(f"Seeded {index:02d}")
    return emulator


@pytest.fixture
def store(variant: NeuroIOEmulator) -> Iterator[spacekit.SpaceStore]:
    with variant.connect(**FAST) as opened:
        yield opened


@pytest.fixture
async def astore(variant: NeuroIOEmulator) -> AsyncIterator[spacekit.AsyncSpaceStore]:
    async with variant.connect_async(**FAST) as opened:
        yield opened


# -- every variant, through the whole store -----------------------------------------------


def test_the_whole_list_is_read_once(store: spacekit.SpaceStore, variant: NeuroIOEmulator) -> None:
    listed = list(store.list())
    assert [s.name for s in listed] == [s["name"] for s in variant.spaces.values()]
    assert len({s.id for s in listed}) == len(listed) == 46
    assert [r.path for r in variant.requests] == [FULL_LIST]


def test_the_whole_list_is_read_once_by_pages(store: spacekit.SpaceStore, variant: NeuroIOEmulator) -> None:
    variant.serves_full_list = False
    listed = list(store.list())
    assert [s.name for s in listed] == [s["name"] for s in variant.spaces.values()]
    assert len({s.id for s in listed}) == len(listed) == 46
    refused, *pages = variant.requests
    assert refused.path == FULL_LIST
    assert pages and all(r.path == LIST for r in pages)  # never where a `next` link pointed


async def test_async_list_and_crud(astore: spacekit.AsyncSpaceStore, variant: NeuroIOEmulator) -> None:
    assert len([s async for s in astore.list()]) == 46
    made = await astore.create("async made")
    assert (await astore.get(made.id)).name == "async made"
    assert (await astore.update(made.id, name="async renamed")).name == "async renamed"
    await astore.delete(made.id)
    with pytest.raises(spacekit.NotFound):
        await astore.get(made.id)


def test_crud_normalizes(store: spacekit.SpaceStore, variant: NeuroIOEmulator) -> None:
    made = store.create("made here")
    assert isinstance(made.id, str) and made.name == "made here"
    assert store.get(made.id) == made
    renamed = store.update(made.id, name="renamed")
    assert (renamed.id, renamed.name) == (made.id, "renamed")
    store.delete(made.id)
    with pytest.raises(spacekit.NotFound) as caught:
        store.get(made.id)
    assert variant.token not in str(caught.value)
    with pytest.raises(spacekit.NotFound):
        store.delete(made.id)


def test_a_query_finds_exactly_the_names_containing_it(store: spacekit.SpaceStore) -> None:
    # in their own case: a case-sensitive server cannot be asked for more
    assert [s.name for s in store.list(query="Seeded 1")] == [f"Seeded {i}" for i in range(10, 20)]


def test_a_loose_server_search_is_narrowed_to_name_contains() -> None:
    emulator = SearchTerms()
    for name in ("alpha team", "team alpha", "Alpha Team B", "beta"):
        emulator.add_space(name)
    with emulator.connect(**FAST) as store:
        assert [s.name for s in store.list(query="alpha team")] == ["alpha team", "Alpha Team B"]
    assert emulator.requests[-1].params["q"] == "alpha team"


def test_errors_are_typed_and_carry_no_token(variant: NeuroIOEmulator) -> None:
    with variant.connect(**FAST) as good:
        with pytest.raises(spacekit.ValidationError) as invalid:
            good.delete("1")  # the default space is protected: 400
        assert invalid.value.status == 400
    with (
        variant.connect(**FAST, token="wrong-token-value") as bad,
        pytest.raises(spacekit.AuthenticationError) as refused,
    ):
        bad.get("1")
    for error in (invalid.value, refused.value):
        assert variant.token not in f"{error} {error.body} {error!r}"
        assert "wrong-token-value" not in f"{error} {error.body} {error!r}"


def test_validation_errors_keep_the_providers_words(variant: NeuroIOEmulator) -> None:
    if isinstance(variant, (EmptyErrors, HtmlErrors)):
        pytest.skip("this variant says nothing but the status")
    with variant.connect(**FAST) as store, pytest.raises(spacekit.ValidationError) as caught:
        store.delete("1")
    assert "default space cannot be deleted" in str(caught.value)


def test_drf_field_errors_become_fields() -> None:
    emulator = DrfErrors()
    emulator.faults.fail(400, body=b'{"name": ["This field may not be blank."]}', method="POST")
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ValidationError) as caught:
        store.create("looks fine here")
    assert caught.value.fields == {"name": "This field may not be blank."}
    assert "may not be blank" in str(caught.value)


@pytest.mark.parametrize("variant_cls", COMBINED, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("direction", ["into", "out of"])
def test_a_migration_into_and_out_of_memory(variant_cls: type[NeuroIOEmulator], direction: str) -> None:
    emulator = variant_cls()
    with spacekit.connect("memory") as memory, emulator.connect(**FAST) as remote:
        if direction == "into":
            for index in range(25):
                memory.create(f"moved {index}", description="dropped: NeuroIO keeps none")
            source, target = memory, remote
        else:
            for index in range(25):
                emulator.add_space(f"moved {index}")
            source, target = remote, memory
        report = spacekit.migrate(source, target, concurrency=4)
        assert report.ok, report.summary()
        assert report.counts["created"] == len(report.items) == 25 + (direction == "out of")
        assert spacekit.verify(source, target).ok
        again = spacekit.migrate(source, target)
        assert again.counts["created"] == 0


# -- the contract, against each combined variant ------------------------------------------


class TestVariantContract(EmulatorContract):
    settings = FAST

    @pytest.fixture(params=COMBINED, ids=lambda cls: cls.__name__)
    def emulator(self, request: pytest.FixtureRequest) -> NeuroIOEmulator:
        emulator: NeuroIOEmulator = request.param()
        return emulator


# -- space tokens --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["extra", "minimal", "no id", "epoch", "offset", "garbled"])
async def test_token_answers_are_read_liberally(shape: str) -> None:
    emulator = type("Shaped", (TokenShapes,), {"shape": shape})()
    with emulator.connect(**FAST) as store:
        token = store.create_token("1", permanent=True)
    async with emulator.connect_async(**FAST) as astore:
        again = await astore.create_token("1", permanent=False)
    for issued, permanent in ((token, True), (again, False)):
        assert issued.key and issued.space_id == "1" and issued.permanent is permanent
        assert issued.key not in repr(issued)
    if shape == "offset":
        assert token.created_at is not None and token.created_at.utcoffset() is not None
        assert token.created_at.hour == 3 and token.expires_at is not None
    if shape in ("epoch", "garbled", "minimal"):
        assert again.expires_at is None or again.expires_at.tzinfo is not None
        assert dict(again.raw).keys() >= {"key"}


def test_a_token_answer_without_a_key_is_a_protocol_error_without_secrets() -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(201, body=b'[{"id": 3, "key": "s3cr3t-minted-value"}]', method="POST")
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ProtocolError) as caught:
        store.create_token("1")
    assert "s3cr3t-minted-value" not in f"{caught.value} {caught.value.body} {caught.value!r}"


# -- a redirect is not followed ------------------------------------------------------------


@pytest.fixture
def redirected() -> Iterator[spacekit.SpaceStore]:
    with SlashRedirect().connect(**FAST) as store:
        yield store


def test_a_trailing_slash_redirect_is_a_clear_protocol_error(redirected: spacekit.SpaceStore) -> None:
    with pytest.raises(spacekit.ProtocolError, match=r"redirect \(status 301\)") as caught:
        redirected.get("1")
    assert caught.value.status == 301
    assert "redirects are not followed" in str(caught.value)


def test_the_redirect_error_names_its_target(redirected: spacekit.SpaceStore) -> None:
    with pytest.raises(spacekit.ProtocolError) as caught:
        redirected.get("1")
    assert "/v1/spaces/1" in str(caught.value).split("redirect", 1)[1]
