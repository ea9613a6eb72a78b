"""Paged listing tolerates the three list envelopes seen in NeuroIO's SDK mocks, and
stops safely on a server that does not advance.

An unfiltered listing asks ``/v1/lists/spaces/`` first (see test_neuroio_full_list);
these emulators refuse it (404), as a deployment without it would, so that the
store lists by pages: every request count below includes that one refusal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from spacekit_neuroio._emulator import NeuroIOEmulator

from spacekit import ProtocolError


class Paged(NeuroIOEmulator):
    """Our emulator without the full list."""

    serves_full_list = False


class CountOnly(Paged):
    """Pages as ``{"count", "results"}``."""

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        return {"count": count, "results": page}


class BareArray(Paged):
    """Pages as a bare JSON array."""

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        return page


class Stuck(Paged):
    """A server that ignores ``offset``: every page is the first one, forever."""

    def __init__(self, envelope: str) -> None:
        super().__init__()
        self.envelope = envelope

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        first = [dict(s) for s in list(self.spaces.values())[:limit]]
        if self.envelope == "array":
            return first
        if self.envelope == "count":
            return {"count": count, "results": first}
        return {
            "count": count,
            "next": "http://localhost/v1/spaces/?limit=5&offset=5",
            "previous": None,
            "results": first,
        }


class Overlapping(Paged):
    """Each page starts one space early, as when a space before the offset was added."""

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        start = max(0, offset - 1)
        results = [dict(s) for s in list(self.spaces.values())[start : start + limit]]
        return {"count": count, "results": results}


def _seed(emulator: NeuroIOEmulator, n: int) -> list[str]:
    return ["1"] + [str(emulator.add_space(f"space {i}")["id"]) for i in range(n - 1)]


@pytest.mark.parametrize("cls", [Paged, CountOnly, BareArray], ids=["full", "count", "array"])
@pytest.mark.parametrize("total", [1, 7, 10, 23])
def test_every_envelope_is_read_to_the_end(cls: type[NeuroIOEmulator], total: int) -> None:
    emulator = cls()
    emulator.max_limit = 5
    ids = _seed(emulator, total)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids
    pages = -(-total // 5)
    # a bare array says nothing of what is left: it is read on to the first empty page
    assert len(emulator.requests) == 1 + (pages + 1 if cls is BareArray else pages)


@pytest.mark.parametrize("envelope", ["full", "count", "array"])
def test_a_page_that_does_not_advance_stops_the_listing(envelope: str) -> None:
    emulator = Stuck(envelope)
    emulator.max_limit = 5
    ids = _seed(emulator, 12)
    listed: list[str] = []
    with emulator.connect() as store, pytest.raises(ProtocolError, match="already listed"):
        listed.extend(s.id for s in store.list())
    assert listed == ids[:5]
    if envelope == "array":  # no count: the second page repeated the first, stop, loudly
        assert len(emulator.requests) == 1 + 2
    else:  # the count says two pages are left, asked for together: the first of them stops it
        assert len(emulator.requests) == 1 + 1 + 2


async def test_the_async_store_reads_every_envelope() -> None:
    for cls in (CountOnly, BareArray):
        emulator = cls()
        emulator.max_limit = 3
        ids = _seed(emulator, 8)
        async with emulator.connect_async() as store:
            assert [s.id async for s in store.list()] == ids


def test_a_space_seen_on_the_previous_page_is_not_repeated() -> None:
    """Offsets shift when others write meanwhile; a space seen twice is yielded once."""
    emulator = Overlapping()
    emulator.max_limit = 5
    ids = _seed(emulator, 12)
    with emulator.connect() as store:
        assert [s.id for s in store.list()] == ids


def test_a_query_is_kept_on_every_page() -> None:
    emulator = NeuroIOEmulator()
    emulator.max_limit = 2
    for i in range(5):
        emulator.add_space(f"match {i}")
        emulator.add_space(f"other {i}")
    with emulator.connect() as store:
        assert [s.name for s in store.list(query="MATCH")] == [f"match {i}" for i in range(5)]
    assert {r.params["q"] for r in emulator.requests} == {"MATCH"}
