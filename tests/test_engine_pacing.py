"""The engine's pacing and connections, through the toy provider: one pool of
connections shared by every thread of a store, and 429s that slow the store's
shared pace rather than stopping it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from toy import ToyEmulator, plugin

import spacekit


@pytest.fixture
def emulator() -> ToyEmulator:
    emulator = ToyEmulator()
    emulator.spaces[1] = {"id": 1, "name": "one"}
    emulator.next_id = 2
    return emulator


def test_every_worker_of_a_migration_reuses_the_stores_connections(
    spacekit_emulator: Callable[[str], Any],
) -> None:
    neuroio, datablist = spacekit_emulator("neuroio"), spacekit_emulator("datablist")
    for i in range(299):
        neuroio.add_space(f"space {i}")
    datablist.faults.latency = 0.02  # so that the workers' requests overlap
    with neuroio.serve() as source_url, datablist.serve() as target_url:
        source = spacekit.connect("neuroio", **neuroio.connect_settings(source_url))
        target = spacekit.connect("datablist", **datablist.connect_settings(target_url))
        with source, target:
            report = spacekit.migrate(source, target, concurrency=64)
    assert report.ok and report.counts["created"] == 300
    # One connection per worker at most, kept open between requests (with httpx's
    # default pool, which keeps 20 idle, this run opened several hundred).
    assert datablist.connections <= 64


def test_async_tasks_reuse_the_stores_connections(emulator: ToyEmulator) -> None:
    emulator.faults.latency = 0.005

    async def run(url: str) -> list[str]:
        async with plugin.open_async(emulator.connect_settings(url)) as store:
            spaces = []
            for _ in range(4):
                spaces += await asyncio.gather(*(store.get("1") for _ in range(40)))
        return [space.name for space in spaces]

    with emulator.serve() as url:
        assert asyncio.run(run(url)) == ["one"] * 160
    assert emulator.connections <= 40  # opened by the first round, reused by the others


def test_a_lone_429_slows_the_store_but_does_not_stop_it_for_the_retry_after(emulator: ToyEmulator) -> None:
    store = emulator.open(backoff=0.001)
    for _ in range(50):
        store.get("1")
    emulator.faults.throttle(1, retry_after=1, method="GET")
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: store.get("1").name, range(8))) == ["one"] * 8
    limiter = store._engine.policy.limiter
    assert limiter.rate is not None  # paced now, at what the provider answered
    assert limiter.reserve() < 0.5  # the others were not held for the second asked of the refused one


def test_a_rate_limited_provider_is_paced_after_its_first_refusals(emulator: ToyEmulator) -> None:
    emulator.faults.rate_limit = 40
    store = emulator.open(backoff=0.001)
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda _: store.get("1").name, range(120)))
    assert names == ["one"] * 120
    refused = len(emulator.requests) - 120
    # The provider's first window refuses what is in flight when it runs out (one
    # per thread at most); once the pace is learned, nothing or nearly nothing.
    assert refused <= 8 + 4
    rate = store._engine.policy.limiter.rate
    assert rate is not None and rate <= 40


def test_a_client_side_rate_limit_is_never_exceeded(emulator: ToyEmulator) -> None:
    store = emulator.open(rate_limit=5)
    limiter = store._engine.policy.limiter
    assert limiter.rate == 5
    waits = [limiter.reserve() for _ in range(3)]
    assert waits[2] == pytest.approx(0.4, abs=0.05)


def test_no_wait_for_a_rate_limit_slot_crosses_the_deadline(emulator: ToyEmulator) -> None:
    # rate_limit=0.05: the second request's slot is 20 s away, past the 2 s deadline.
    with emulator.open(rate_limit=0.05, deadline=2) as store:
        store.get("1")
        with pytest.raises(spacekit.RateLimited) as caught:
            store.get("1")
    assert caught.value.retry_after == pytest.approx(20, abs=0.5)
    assert "rate_limit is 0.05" in str(caught.value) and "before the deadline of 2 s" in str(caught.value)


def test_threads_waiting_for_slots_give_up_those_past_the_deadline(emulator: ToyEmulator) -> None:
    # 10 a second for 1 s: about 10 slots before the deadline for 20 requests; the
    # others are refused at once (they used to sleep past the deadline, then fail)
    with emulator.open(rate_limit=10, deadline=1) as store, ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(lambda _: _outcome(lambda: store.get("1")), range(20)))
    refused = [o for o in outcomes if isinstance(o, spacekit.RateLimited)]
    assert len(refused) >= 5
    assert all(
        isinstance(o, (spacekit.Space, spacekit.RateLimited, spacekit.ProviderUnavailable)) for o in outcomes
    )


async def test_async_tasks_waiting_for_slots_give_up_those_past_the_deadline(emulator: ToyEmulator) -> None:
    async with emulator.open_async(rate_limit=10, deadline=1) as store:
        outcomes = await asyncio.gather(*(store.get("1") for _ in range(20)), return_exceptions=True)
    assert len([o for o in outcomes if isinstance(o, spacekit.RateLimited)]) >= 5


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except spacekit.SpacekitError as error:
        return error
