"""Paged NeuroIO listings fetch the pages left ahead, once a page tells the count.

Searches (``q``) page through ``GET /v1/spaces/``; so does an unfiltered listing
where the full list is refused. Once the first page gives the ``count``, the rest
are asked for in batches of ``PAGES_AHEAD``, sent together. Without a clock, the
transports below prove it: pages wait at a barrier, or each waits for a later page's
answer, so that a listing asking one page at a time fails (after 5 s) instead of
passing slowly. Everything else is as page by page: the number of requests, the
order of the spaces, the errors, what a listing that changes meanwhile shows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import FAST
from spacekit_neuroio._emulator import NeuroIOEmulator
from spacekit_neuroio._provider import PAGES_AHEAD

import spacekit
from spacekit.testing import json_response

PAGE = 100  # what the plugin asks for, and what the emulator serves at most


def seed(emulator: NeuroIOEmulator, count: int, prefix: str = "space") -> list[str]:
    """``count`` spaces whose names hold ``prefix``; their ids, in listing order."""
    return [str(emulator.add_space(f"{prefix} {n:05d}")["id"]) for n in range(count)]


def offset_of(request: httpx.Request) -> int | None:
    """The offset of a page request, None for any other request."""
    if request.method != "GET" or request.url.path != "/v1/spaces/":
        return None
    return int(request.url.params.get("offset", "0"))


def page_offsets(emulator: NeuroIOEmulator) -> list[int]:
    return [int(r.params.get("offset", "0")) for r in emulator.requests if r.path == "/v1/spaces/"]


class NextOnly(NeuroIOEmulator):
    """Pages as ``{"next", "previous", "results"}``: no count, so read one at a time."""

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        body = super().page_body(request, page, count, limit, offset)
        del body["count"]
        return body


class BareArray(NeuroIOEmulator):
    serves_full_list = False

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        return page


# -- transports that tell concurrent pages from pages in turn ---------------------------------


class Meeting(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Pages after the first wait until ``parties`` of them are in flight together; the
    most page requests ever in flight at once is kept (``most``)."""

    def __init__(self, emulator: NeuroIOEmulator, parties: int | None) -> None:
        self.inner = emulator.transport
        self.parties = parties
        self.barrier = threading.Barrier(parties or 1, timeout=5)
        self.async_barrier: asyncio.Barrier | None = None
        self.lock = threading.Lock()
        self.in_flight = self.most = 0

    def _count(self, step: int) -> None:
        with self.lock:
            self.in_flight += step
            self.most = max(self.most, self.in_flight)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        offset = offset_of(request)
        self._count(1)
        try:
            if self.parties and offset:
                self.barrier.wait()
            return self.inner.handle_request(request)
        except threading.BrokenBarrierError:
            raise RuntimeError("the pages ahead were not in flight together") from None
        finally:
            self._count(-1)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        offset = offset_of(request)
        self._count(1)
        try:
            if self.parties and offset:
                self.async_barrier = self.async_barrier or asyncio.Barrier(self.parties)
                async with asyncio.timeout(5):
                    await self.async_barrier.wait()
            return await self.inner.handle_async_request(request)
        except TimeoutError:
            raise RuntimeError("the pages ahead were not in flight together") from None
        finally:
            self._count(-1)


class Backwards(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The pages at ``offsets`` are answered last first: each waits for the answer of
    the one after it (a listing asking in turn waits forever, and fails after 5 s)."""

    def __init__(self, emulator: NeuroIOEmulator, offsets: list[int]) -> None:
        self.inner = emulator.transport
        self.offsets = offsets
        self.done = {offset: threading.Event() for offset in offsets}
        self.async_done: dict[int, asyncio.Event] = {}
        self.answered: list[int] = []

    def _later(self, offset: int | None) -> int | None:
        if offset not in self.offsets or offset == self.offsets[-1]:
            return None
        return self.offsets[self.offsets.index(offset) + 1]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        offset = offset_of(request)
        later = self._later(offset)
        if later is not None and not self.done[later].wait(timeout=5):
            raise RuntimeError(f"the page at {later} was not asked for while the one at {offset} was")
        response = self.inner.handle_request(request)
        if offset in self.done:
            self.answered.append(offset)
            self.done[offset].set()
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.async_done:
            self.async_done = {offset: asyncio.Event() for offset in self.offsets}
        offset = offset_of(request)
        later = self._later(offset)
        if later is not None:
            try:
                async with asyncio.timeout(5):
                    await self.async_done[later].wait()
            except TimeoutError:
                raise RuntimeError(f"the page at {later} was not asked for with {offset}") from None
        response = await self.inner.handle_async_request(request)
        if offset in self.async_done:
            self.answered.append(offset)
            self.async_done[offset].set()
        return response


def listed(store: Any, query: str | None = "space") -> list[str]:
    return [space.id for space in store.list(query=query)]


async def alisted(store: Any, query: str | None = "space") -> list[str]:
    return [space.id async for space in store.list(query=query)]


# -- concurrency, proved without a clock ------------------------------------------------


def test_the_pages_left_are_in_flight_together() -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, 3 * PAGE)
    transport = Meeting(emulator, parties=2)  # the first page, then the two left, together
    with emulator.connect(transport=transport, **FAST) as store:
        assert listed(store) == ids
    assert sorted(page_offsets(emulator)) == [0, 100, 200]
    assert transport.most == 2


async def test_the_async_store_sends_the_pages_left_together() -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, 3 * PAGE + 50)
    transport = Meeting(emulator, parties=3)
    async with emulator.connect_async(transport=transport, **FAST) as store:
        assert await alisted(store) == ids
    assert sorted(page_offsets(emulator)) == [0, 100, 200, 300]


def test_pages_answered_out_of_order_still_give_spaces_in_offset_order() -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, 4 * PAGE)
    transport = Backwards(emulator, [100, 200, 300])
    with emulator.connect(transport=transport, **FAST) as store:
        assert listed(store) == ids
    assert transport.answered == [300, 200, 100]


async def test_async_pages_answered_out_of_order_still_give_spaces_in_offset_order() -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, 4 * PAGE - 1)
    transport = Backwards(emulator, [100, 200, 300])
    async with emulator.connect_async(transport=transport, **FAST) as store:
        assert await alisted(store) == ids
    assert transport.answered == [300, 200, 100]


def test_an_unfiltered_listing_by_pages_fetches_ahead_too() -> None:
    emulator = NeuroIOEmulator()
    emulator.serves_full_list = False
    ids = ["1", *seed(emulator, 2 * PAGE)]  # and the default space: three pages
    transport = Meeting(emulator, parties=2)
    with emulator.connect(transport=transport, **FAST) as store:
        assert listed(store, query=None) == ids
    assert len(emulator.requests) == 1 + 3  # the refused full list, then the pages


@pytest.mark.parametrize("cls", [NextOnly, BareArray], ids=["next-only", "array"])
def test_pages_without_a_count_are_read_one_at_a_time(cls: type[NeuroIOEmulator]) -> None:
    emulator = cls()
    ids = seed(emulator, 3 * PAGE + 1)
    transport = Meeting(emulator, parties=None)
    with emulator.connect(transport=transport, **FAST) as store:
        assert listed(store) == ids
    assert transport.most == 1
    pages = [0, 100, 200, 300] + ([301] if cls is BareArray else [])  # an array ends on an empty page
    assert page_offsets(emulator) == pages


# -- as few requests as the pages need, at most one batch held ------------------------------


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 250, 1000, 1234])
def test_a_listing_asks_for_exactly_the_pages_needed(count: int) -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, count)
    emulator.add_space("other")  # not a match: q narrows the count
    with emulator.connect(**FAST) as store:
        assert listed(store) == ids
    assert sorted(page_offsets(emulator)) == list(range(0, max(count, 1), PAGE))
    assert {r.params["q"] for r in emulator.requests} == {"space"}


def test_a_server_capping_pages_at_37_is_read_in_full() -> None:
    emulator = NeuroIOEmulator()
    emulator.max_limit = 37
    ids = seed(emulator, 1000)
    transport = Meeting(emulator, parties=None)
    with emulator.connect(transport=transport, **FAST) as store:
        assert listed(store) == ids
    assert sorted(page_offsets(emulator)) == list(range(0, 1000, 37))  # 28 pages, each once
    assert transport.most <= PAGES_AHEAD


async def test_the_async_store_reads_a_capped_server_in_full() -> None:
    emulator = NeuroIOEmulator()
    emulator.max_limit = 37
    ids = seed(emulator, 500)
    async with emulator.connect_async(**FAST) as store:
        assert await alisted(store) == ids
    assert sorted(page_offsets(emulator)) == list(range(0, 500, 37))


def test_no_more_than_one_batch_is_asked_for_ahead_of_the_reader() -> None:
    emulator = NeuroIOEmulator()
    seed(emulator, 20 * PAGE)
    with emulator.connect(**FAST) as store:
        spaces = store.list(query="space")
        for _ in range(PAGE + 1):  # into the first batch
            next(spaces)
        assert len(page_offsets(emulator)) == 1 + PAGES_AHEAD
        for _ in range(PAGES_AHEAD * PAGE - 1):  # to the end of that batch: nothing more asked
            next(spaces)
        assert len(page_offsets(emulator)) == 1 + PAGES_AHEAD
        next(spaces)
        assert len(page_offsets(emulator)) == 1 + 2 * PAGES_AHEAD


def test_the_query_is_kept_and_names_are_matched_ignoring_case() -> None:
    emulator = NeuroIOEmulator()
    ids = seed(emulator, 250, prefix="Match")
    seed(emulator, 250, prefix="other")
    with emulator.connect(**FAST) as store:
        assert listed(store, query="mATCH") == ids
    assert {r.params["q"] for r in emulator.requests} == {"mATCH"}
    assert sorted(page_offsets(emulator)) == [0, 100, 200]


# -- a page failing mid-batch: the same error as page by page, and the listing stops ---------


class Failing(NeuroIOEmulator):
    """The page at ``fail_at`` answers ``failure()`` every time it is asked for."""

    fail_at = 300

    def __init__(self, failure: Callable[[], httpx.Response]) -> None:
        super().__init__()
        self.failure = failure

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        response = super().dispatch(request)
        return self.failure() if offset_of(request) == self.fail_at else response


class FailingNextOnly(Failing, NextOnly):
    """The same, read one page at a time (no count): what the listing did before."""


FAILURES: dict[str, tuple[Callable[[], httpx.Response], type[spacekit.SpacekitError]]] = {
    "500 until retries run out": (
        lambda: json_response(500, {"error_codes": [1], "message": "boom", "fields": []}),
        spacekit.ProviderUnavailable,
    ),
    "401": (
        lambda: json_response(401, {"error_codes": [1001], "message": "Invalid token.", "fields": []}),
        spacekit.AuthenticationError,
    ),
    "malformed body": (
        lambda: httpx.Response(200, headers={"Content-Type": "application/json"}, content=b"<html>"),
        spacekit.ProtocolError,
    ),
}


def _fail(cls: type[Failing], failure: str) -> tuple[list[str], BaseException, list[int]]:
    emulator = cls(FAILURES[failure][0])
    seed(emulator, 6 * PAGE)
    got: list[str] = []
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.SpacekitError) as caught:
        got.extend(space.id for space in store.list(query="space"))
    return got, caught.value, page_offsets(emulator)


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_page_failing_mid_batch_raises_as_page_by_page_and_stops(failure: str) -> None:
    got, error, offsets = _fail(Failing, failure)
    before, before_error, _ = _fail(FailingNextOnly, failure)
    assert type(error) is type(before_error) is FAILURES[failure][1]
    assert str(error) == str(before_error)
    assert got == before and len(got) == 300  # every page before the failing one, none after
    assert sorted(set(offsets)) == [0, 100, 200, 300, 400, 500]  # one batch, nothing after it
    if failure == "500 until retries run out":
        assert offsets.count(300) == 1 + FAST["retries"] and error.status == 500  # type: ignore[attr-defined]


async def test_a_page_failing_mid_batch_raises_in_the_async_store_too() -> None:
    emulator = Failing(FAILURES["401"][0])
    seed(emulator, 6 * PAGE)
    got: list[str] = []
    async with emulator.connect_async(**FAST) as store:
        with pytest.raises(spacekit.AuthenticationError):
            async for space in store.list(query="space"):
                got.append(space.id)
    assert len(got) == 300
    assert sorted(set(page_offsets(emulator))) == [0, 100, 200, 300, 400, 500]


# -- a listing that changes while it is read -------------------------------------------------


class Changing(NeuroIOEmulator):
    """Runs ``change(self)`` once, right after building the page at offset ``at``."""

    def __init__(self, at: int, change: Callable[[Changing], None]) -> None:
        super().__init__()
        self.at, self.change, self.changed = at, change, False

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        body = super().page_body(request, page, count, limit, offset)
        if offset == self.at and not self.changed:
            self.changed = True
            self.change(self)
        return body


def grow(emulator: Changing) -> None:
    seed(emulator, 150, prefix="late space")


def shrink_at_the_end(emulator: Changing) -> None:
    for key in list(emulator.spaces)[-150:]:
        del emulator.spaces[key]


def shrink_ahead(emulator: Changing) -> None:
    for key in list(emulator.spaces)[250:260]:  # on a page not read yet
        del emulator.spaces[key]


def present(emulator: NeuroIOEmulator) -> list[str]:
    return [str(key) for key, space in emulator.spaces.items() if "space" in space["name"]]


@pytest.mark.parametrize("change", [grow, shrink_at_the_end, shrink_ahead])
def test_a_count_that_changes_after_the_first_page_lists_everything_present(
    change: Callable[[Changing], None],
) -> None:
    emulator = Changing(0, change)
    seed(emulator, 1000)
    with emulator.connect(**FAST) as store:
        got = listed(store)
    assert got == present(emulator)  # in order, each once, none skipped


@pytest.mark.parametrize("change", [grow, shrink_at_the_end])
async def test_the_async_store_lists_a_changing_count_in_full(change: Callable[[Changing], None]) -> None:
    emulator = Changing(0, change)
    seed(emulator, 1000)
    async with emulator.connect_async(**FAST) as store:
        assert await alisted(store) == present(emulator)


def test_a_listing_growing_while_a_batch_is_served_lists_everything() -> None:
    """Which pages of the batch see the new count depends on the order they are
    served in; wherever it is noticed, the rest is read page by page."""
    emulator = Changing(300, grow)
    seed(emulator, 1000)
    with emulator.connect(**FAST) as store:
        got = listed(store)
    assert got == present(emulator) and len(got) == 1150


def test_a_listing_shrinking_while_a_batch_is_served_repeats_and_skips_nothing_present() -> None:
    emulator = Changing(300, shrink_at_the_end)
    first = seed(emulator, 1000)
    with emulator.connect(**FAST) as store:
        got = listed(store)
    assert len(got) == len(set(got)) and set(present(emulator)) <= set(got) <= set(first)
    assert got == sorted(got, key=int)  # offset order
