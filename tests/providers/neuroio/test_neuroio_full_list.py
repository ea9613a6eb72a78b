"""The unfiltered listing: one ``GET /v1/lists/spaces/``, read one space at a time,
in any of the envelopes NeuroIO might use; pages only where the full list is refused
(and from then on), where it turns out to be a first page, or to filter by name."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit

FAST = {"backoff": 0.001, "retries": 2, "deadline": 5.0}


class Envelope(NeuroIOEmulator):
    """The full list in an envelope instead of a bare array."""

    shape = "drf"

    def full_list_body(self, request: httpx.Request, spaces: list[dict[str, Any]]) -> Any:
        if self.shape == "count":
            return {"results": spaces, "count": len(spaces)}  # count after the results
        return {"count": len(spaces), "next": None, "previous": None, "results": spaces}


class FirstPageOnly(NeuroIOEmulator):
    """The "full" list is paginated after all: the first 100, and a next link."""

    shape = "next"

    def full_list_body(self, request: httpx.Request, spaces: list[dict[str, Any]]) -> Any:
        body: dict[str, Any] = {"count": len(spaces), "results": spaces[:100]}
        if self.shape == "next":
            body["next"] = "http://localhost/v1/lists/spaces/?page=2"
        return body


def seeded(emulator: NeuroIOEmulator, count: int) -> list[str]:
    return ["1"] + [str(emulator.add_space(f"space {i}")["id"]) for i in range(count - 1)]


def routes(emulator: NeuroIOEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests]


@pytest.mark.parametrize("count", [1, 250])
@pytest.mark.parametrize("cls", [NeuroIOEmulator, Envelope], ids=["array", "envelope"])
def test_an_unfiltered_listing_is_one_request(cls: type[NeuroIOEmulator], count: int) -> None:
    emulator = cls()
    ids = seeded(emulator, count)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/"]
    assert emulator.requests[0].query == ""  # strictly unpaginated: no limit, offset or q


def test_count_before_or_after_the_results_is_read() -> None:
    emulator = Envelope()
    emulator.shape = "count"
    ids = seeded(emulator, 30)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids
    assert len(emulator.requests) == 1


async def test_the_async_store_reads_the_full_list_too() -> None:
    emulator = Envelope()
    ids = seeded(emulator, 40)
    async with emulator.connect_async() as store:
        assert [s.id async for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/"]


@pytest.mark.parametrize("status", [400, 403, 404, 405, 501])
def test_a_refused_full_list_falls_back_to_pages_once_for_the_store(status: int) -> None:
    emulator = NeuroIOEmulator()
    emulator.max_limit = 40
    ids = seeded(emulator, 90)
    emulator.faults.fail(status, times=100, path="^/v1/lists/spaces/$", body='{"message": "no"}')
    with emulator.connect(**FAST) as store:
        assert [s.id for s in store.list()] == ids
        assert [s.id for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/"] + ["GET /v1/spaces/"] * 6


def test_an_emulator_without_the_full_list_is_listed_by_pages() -> None:
    emulator = NeuroIOEmulator()
    emulator.serves_full_list = False
    ids = seeded(emulator, 150)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/", "GET /v1/spaces/", "GET /v1/spaces/"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, spacekit.AuthenticationError), (503, spacekit.ProviderUnavailable)],
)
def test_a_bad_token_or_an_outage_is_not_taken_for_a_refusal(status: int, error: type[Exception]) -> None:
    emulator = NeuroIOEmulator()
    emulator.faults.fail(status, times=100, path="^/v1/lists/spaces/$")
    with emulator.connect(**FAST) as store, pytest.raises(error):
        list(store.list())
    assert {r.path for r in emulator.requests} == {"/v1/lists/spaces/"}


def test_an_answer_that_is_no_list_falls_back_to_pages_before_any_space_is_given() -> None:
    emulator = NeuroIOEmulator()
    ids = seeded(emulator, 12)
    emulator.faults.malformed(1, path="^/v1/lists/spaces/$")  # an HTML page with status 200
    with emulator.connect(**FAST) as store:
        assert [s.id for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/", "GET /v1/spaces/"]


def test_a_list_cut_short_after_some_spaces_is_a_protocol_error() -> None:
    emulator = NeuroIOEmulator()
    seeded(emulator, 50)
    emulator.faults.malformed(1, truncate=True, path="^/v1/lists/spaces/$")
    given: list[str] = []
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ProtocolError, match="not valid JSON"):
        given.extend(s.id for s in store.list())
    assert 0 < len(given) < 50  # what was read before the cut was handed out, once


@pytest.mark.parametrize("shape", ["next", "count"])
def test_a_full_list_that_is_a_first_page_is_read_on_by_pages(shape: str) -> None:
    emulator = FirstPageOnly()
    emulator.shape = shape
    ids = seeded(emulator, 230)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids
    assert routes(emulator) == ["GET /v1/lists/spaces/", "GET /v1/spaces/", "GET /v1/spaces/"]
    assert [r.params["offset"] for r in emulator.requests[1:]] == ["100", "200"]


@pytest.mark.parametrize(
    "body",
    [b"42", b'"spaces"', b"null", b'{"spaces": []}', b'{"count": "3", "results": []}', b'{"next": 5}'],
)
def test_an_unreadable_full_list_falls_back_to_pages(body: bytes) -> None:
    emulator = NeuroIOEmulator()
    ids = seeded(emulator, 5)
    emulator.faults.malformed(1, body=body, path="^/v1/lists/spaces/$")
    with emulator.connect(**FAST) as store:
        assert [s.id for s in store.list()] == ids


def test_a_filtered_listing_uses_the_paged_search() -> None:
    emulator = NeuroIOEmulator()
    for i in range(5):
        emulator.add_space(f"match {i}")
        emulator.add_space(f"other {i}")
    with emulator.connect() as store:
        assert [s.name for s in store.list(query="MATCH")] == [f"match {i}" for i in range(5)]
    assert routes(emulator) == ["GET /v1/spaces/"]
    assert emulator.requests[0].params["q"] == "MATCH"


def test_the_emulator_serves_the_full_list_strictly() -> None:
    emulator = NeuroIOEmulator()
    seeded(emulator, 3)
    auth = {"Authorization": f"Token {emulator.token}"}
    with httpx.Client(transport=emulator.transport, base_url="http://localhost", headers=auth) as http:
        assert [s["id"] for s in http.get("/v1/lists/spaces/").json()] == [1, 2, 3]
        for params in ({"limit": "1"}, {"offset": "0"}, {"q": "space"}):
            refused = http.get("/v1/lists/spaces/", params=params)
            assert refused.status_code == 400
            assert refused.json()["fields"][0]["name"] == next(iter(params))
        assert http.post("/v1/lists/spaces/", json={}).status_code == 405
        assert http.get("/v1/lists/spaces").status_code == 404
        emulator.serves_full_list = False
        assert http.get("/v1/lists/spaces/").status_code == 404
    with httpx.Client(transport=emulator.transport, base_url="http://localhost") as anonymous:
        assert anonymous.get("/v1/lists/spaces/").status_code == 401
