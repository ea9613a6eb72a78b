"""Batches of requests (``Requests``): a listing asks for several at once, the engine
sends them together, each as a lone request, and answers them in order.

The proofs of concurrency use no clock: the transport holds requests at a barrier
(or makes each wait for the next one's answer), so that an engine sending them one
at a time fails instead of passing slowly.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast

import httpx
import pytest
from toy import TOKEN, ToyEmulator, ToyProvider

import spacekit
from spacekit import ProtocolError, Space
from spacekit._engine import BATCH_IN_FLIGHT
from spacekit._listing import guarded
from spacekit.plugin import ListOperation, RemotePlugin, Request, Requests, Response, Responses, quote_id

# -- a provider whose listing is one batch: GET /spaces/{id}/ for each id asked ----------


class BatchProvider(ToyProvider):
    list_options = frozenset({"ids", "missing"})

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        ids = options["ids"]
        batch = Requests(Request("GET", f"/spaces/{quote_id(i)}/") for i in ids)
        answers = cast(Responses, (yield batch))
        assert len(answers) == len(ids)
        for number in range(len(answers)):
            try:
                response = answers[number]
            except spacekit.NotFound:
                if options.get("missing") != "skip":
                    raise
                continue
            yield self.parse(response.json())


batch_plugin = RemotePlugin(BatchProvider)


def seeded(count: int) -> ToyEmulator:
    emulator = ToyEmulator()
    for number in range(1, count + 1):
        emulator.spaces[number] = {"id": number, "name": f"space {number}"}
    return emulator


def open_store(transport: Any, **settings: Any) -> spacekit.SpaceStore:
    base = {"token": TOKEN, "base_url": "http://localhost", "transport": transport, "backoff": 0.001}
    return batch_plugin.open({**base, **settings})


def open_async_store(transport: Any, **settings: Any) -> spacekit.AsyncSpaceStore:
    base = {"token": TOKEN, "base_url": "http://localhost", "transport": transport, "backoff": 0.001}
    return batch_plugin.open_async({**base, **settings})


class Rendezvous(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Every request waits until ``parties`` requests are in flight together, and the
    most ever in flight at once is kept. Requests sent one at a time never meet: the
    wait fails (after 5 s, not a timing assertion) with a ``RuntimeError``."""

    def __init__(self, emulator: ToyEmulator, parties: int) -> None:
        self.inner = emulator.transport
        self.parties = parties
        self.barrier = threading.Barrier(parties, timeout=5)
        self.async_barrier: asyncio.Barrier | None = None
        self.lock = threading.Lock()
        self.in_flight = self.most = 0

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            raise RuntimeError("the batch's requests were not in flight together") from None
        finally:
            self._leave()
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.async_barrier is None:
            self.async_barrier = asyncio.Barrier(self.parties)
        self._enter()
        try:
            async with asyncio.timeout(5):
                await self.async_barrier.wait()
        except TimeoutError:
            raise RuntimeError("the batch's requests were not in flight together") from None
        finally:
            self._leave()
        return await self.inner.handle_async_request(request)


def batch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("spacekit-batch")]


# -- the seam's values -----------------------------------------------------------------


def test_a_batch_holds_requests_only_and_at_least_one() -> None:
    with pytest.raises(ValueError):
        Requests(())
    with pytest.raises(TypeError):
        Requests([Request("GET", "/a/"), "GET /b/"])  # type: ignore[list-item]
    batch = Requests([Request("GET", "/a/?secret=1"), Request("GET", "/b/")])
    assert batch == (Request("GET", "/a/?secret=1"), Request("GET", "/b/"))
    assert "secret" not in repr(batch) and "GET /a/" in repr(batch)


def test_answers_are_read_in_order_and_a_failure_is_raised_in_its_place() -> None:
    ok = Response(200, {}, b"{}", Request("GET", "/a/"))
    failure = spacekit.NotFound("GET /b/: not found", provider="toy", status=404)
    answers = Responses([ok, failure, ok])
    assert len(answers) == 3 and answers.failed and answers[0] is ok and answers[-1] is ok
    read: list[Response] = []
    with pytest.raises(spacekit.NotFound) as caught:
        read.extend(answers)
    assert read == [ok] and caught.value is failure
    assert not Responses([ok]).failed and "404" not in repr(answers) and "NotFound" in repr(answers)


# -- the sync engine -------------------------------------------------------------------


def test_the_requests_of_a_batch_are_in_flight_together() -> None:
    emulator = seeded(4)
    transport = Rendezvous(emulator, 4)
    with open_store(transport) as store:
        assert [s.id for s in store.list(ids=["1", "2", "3", "4"])] == ["1", "2", "3", "4"]
    assert transport.most == 4


def test_a_batch_larger_than_the_bound_is_sent_a_bound_at_a_time() -> None:
    count = 2 * BATCH_IN_FLIGHT
    emulator = seeded(count)
    transport = Rendezvous(emulator, BATCH_IN_FLIGHT)
    ids = [str(n) for n in range(1, count + 1)]
    with open_store(transport) as store:
        assert [s.id for s in store.list(ids=ids)] == ids
        assert [s.id for s in store.list(ids=ids)] == ids  # the same threads, again
        assert 0 < len(batch_threads()) <= BATCH_IN_FLIGHT
    assert transport.most == BATCH_IN_FLIGHT


def test_closing_the_store_leaves_no_batch_thread_running() -> None:
    emulator = seeded(3)
    before = set(batch_threads())
    store = open_store(emulator.transport)
    assert len(list(store.list(ids=["1", "2", "3"]))) == 3
    assert set(batch_threads()) - before
    store.close()
    assert set(batch_threads()) <= before


def test_each_request_of_a_batch_is_retried_on_its_own() -> None:
    emulator = seeded(3)
    emulator.faults.fail(503, times=2, path=r"^/spaces/2/$")
    with open_store(emulator.transport, retries=3) as store:
        assert [s.id for s in store.list(ids=["1", "2", "3"])] == ["1", "2", "3"]
    assert sorted(r.path for r in emulator.requests) == ["/spaces/1/"] + ["/spaces/2/"] * 3 + ["/spaces/3/"]
    assert all(r.headers["Authorization"] == f"Token {TOKEN}" for r in emulator.requests)


def test_a_failure_reaches_the_provider_where_it_reads_the_answer() -> None:
    emulator = seeded(4)
    del emulator.spaces[2]
    with open_store(emulator.transport) as store:
        # the provider catches it, as it would catch it around a lone request
        assert [s.id for s in store.list(ids=["1", "2", "3"], missing="skip")] == ["1", "3"]
        listed: list[str] = []
        with pytest.raises(spacekit.NotFound) as caught:
            listed.extend(s.id for s in store.list(ids=["1", "2", "3"]))
    assert listed == ["1"]  # the answer before the failure is not lost, none after it is given
    assert caught.value.status == 404 and caught.value.provider == "toy"


def test_a_failed_batch_request_is_redacted_as_a_lone_one() -> None:
    emulator = seeded(2)
    emulator.faults.fail(400, path=r"^/spaces/2/$", body=f'{{"message": "bad {TOKEN}"}}')
    with open_store(emulator.transport) as store, pytest.raises(spacekit.ValidationError) as caught:
        list(store.list(ids=["1", "2"]))
    assert TOKEN not in str(caught.value) + repr(caught.value) + str(caught.value.body)


# -- the async engine ------------------------------------------------------------------


async def test_the_async_engine_sends_a_batch_together_within_the_bound() -> None:
    count = 2 * BATCH_IN_FLIGHT
    emulator = seeded(count)
    transport = Rendezvous(emulator, BATCH_IN_FLIGHT)
    ids = [str(n) for n in range(1, count + 1)]
    async with open_async_store(transport) as store:
        assert [s.id async for s in store.list(ids=ids)] == ids
    assert transport.most == BATCH_IN_FLIGHT


async def test_the_async_engine_answers_failures_in_their_place() -> None:
    emulator = seeded(4)
    del emulator.spaces[3]
    emulator.faults.fail(503, times=1, path=r"^/spaces/1/$")
    async with open_async_store(emulator.transport) as store:
        assert [s.id async for s in store.list(ids=["1", "3", "4"], missing="skip")] == ["1", "4"]
        listed: list[str] = []
        with pytest.raises(spacekit.NotFound):
            async for space in store.list(ids=["1", "4", "3", "2"]):
                listed.append(space.id)
    assert listed == ["1", "4"]


# -- the listing guard -------------------------------------------------------------------


def drive_batches(listing: ListOperation) -> Iterator[str]:
    """Run a listing as the engine does, answering every request 200 with no body."""
    item = next(listing)
    try:
        while True:
            if isinstance(item, Requests):
                item = listing.send(Responses(Response(200, {}, b"", r) for r in item))
            elif isinstance(item, Request):
                item = listing.send(Response(200, {}, b"", item))
            else:
                yield item.id
                item = listing.send(None)
    except StopIteration:
        return


def batched_pages(*pages: list[str], swallow: bool = False) -> ListOperation:
    """A listing that asks for all its pages in one batch and reads them in order."""
    answers = cast(Responses, (yield Requests(Request("GET", f"/p/{n}/") for n in range(len(pages)))))
    for number, ids in enumerate(pages):
        try:
            answers[number]
        except ProtocolError:
            if not swallow:
                raise
        for space_id in ids:
            yield Space("fake", space_id, space_id)


def test_the_guard_passes_a_batch_through_and_drops_repeated_ids() -> None:
    listing = guarded(batched_pages(["1", "2"], ["2", "3"], ["4"]), "fake")
    assert list(drive_batches(listing)) == ["1", "2", "3", "4"]


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "caught by the provider"])
def test_a_page_of_a_batch_holding_only_seen_ids_stops_the_listing(swallow: bool) -> None:
    listed: list[str] = []
    listing = guarded(batched_pages(["1", "2"], ["3"], ["1", "2"], ["5"], swallow=swallow), "fake")
    with pytest.raises(ProtocolError, match="only spaces already listed") as caught:
        listed.extend(drive_batches(listing))
    assert listed == ["1", "2", "3"]  # the repeated page is told apart from the new ones around it
    assert "GET /p/" in str(caught.value)


def test_the_last_page_of_a_batch_is_checked_when_the_listing_ends() -> None:
    listing = guarded(batched_pages(["1"], ["1"]), "fake")
    with pytest.raises(ProtocolError, match="only spaces already listed"):
        list(drive_batches(listing))
