"""Pacing: Retry-After parsing and the shared, learning rate limiter.

The limiter runs on an injected clock: every test here is deterministic. The last
tests drive it through a discrete-event simulation of workers against three kinds
of server-side limit (fixed windows, a token bucket, a sliding log), the way a
migration's workers drive it against a provider.
"""

from __future__ import annotations

import collections
import email.utils
import heapq
import math

import pytest

from spacekit._pacing import Ticket
from spacekit.plugin import RateLimiter, parse_retry_after


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answered(limiter: RateLimiter, clock: Clock, count: int, over: float) -> None:
    """``count`` requests answered 200, spread evenly over the next ``over`` seconds
    (or at the limiter's pace, if that is slower)."""
    for _ in range(count):
        limiter.observe(limiter.acquire(sleep=clock.sleep), 200)
        clock.now += over / count


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"asked to sleep {seconds}")


def test_client_side_rate_limit_spaces_requests() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    limiter.pause(2)
    assert limiter.reserve() == pytest.approx(2)


def test_unpaced_until_the_first_429() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    assert [limiter.reserve() for _ in range(100)] == [0] * 100
    assert limiter.rate is None


def test_the_first_429_sets_the_pace_and_holds_until_the_providers_window_is_over() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    started = clock.now
    answered(limiter, clock, 50, over=0.2)  # a burst, then the provider's window is spent
    limiter.observe(limiter.acquire(sleep=_no_sleep), 429, 1.0)
    assert limiter.rate == pytest.approx(50 * 0.95)
    # That window began at the earliest with the first answer: it is over a second later.
    assert clock.now + limiter.reserve() == pytest.approx(started + 1.0)
    assert limiter.reserve() == pytest.approx(started + 1.0 + 1 / 47.5 - clock.now)  # then the pace


def test_a_lone_429_after_a_long_run_holds_for_a_few_intervals_not_a_second() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    answered(limiter, clock, 2000, over=5.0)  # 400 a second, never refused
    limiter.observe(limiter.acquire(sleep=_no_sleep), 429, 1.0)
    assert limiter.rate == pytest.approx(400 * 0.95, rel=0.01)
    assert limiter.reserve() == pytest.approx(3 / limiter.rate, rel=0.01)


def test_429s_to_requests_scheduled_before_the_change_are_old_news() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    answered(limiter, clock, 50, over=0.1)
    in_flight = [limiter.acquire(sleep=_no_sleep) for _ in range(16)]
    for ticket in in_flight:
        limiter.observe(ticket, 429, 1.0)
    assert limiter.rate == pytest.approx(47.5)  # one change, not sixteen
    assert limiter.reserve() == pytest.approx(0.9)  # and one hold


def test_a_429_while_paced_slows_the_pace_and_holds_for_a_few_intervals_only() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    answered(limiter, clock, 80, over=0.1)  # the burst straddled two of the provider's windows
    limiter.observe(limiter.acquire(sleep=_no_sleep), 429, 1.0)
    assert limiter.rate == pytest.approx(76)
    clock.now += 1.0
    answered(limiter, clock, 50, over=50 / 76)  # paced at 76, the provider answered 50...
    limiter.observe(limiter.acquire(sleep=clock.sleep), 429, 1.0)  # ...then refused
    assert limiter.rate == pytest.approx(50 * 0.95, rel=0.03)
    hold = limiter.reserve()
    assert 0 < hold <= 3 / limiter.rate + 1e-9  # not the whole second Retry-After says
    # refused again after the hold: the same spell, so a longer hold, the same pace
    clock.now += hold
    rate = limiter.rate
    limiter.observe(limiter.acquire(sleep=clock.sleep), 429, 1.0)
    assert limiter.rate == rate
    assert limiter.reserve() == pytest.approx(6 / rate, rel=0.05)


def test_a_hold_also_stops_requests_already_waiting_for_their_slot() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    waiting = limiter.ticket()
    assert limiter.wait(waiting) == 0
    late = limiter.ticket()
    assert limiter.wait(late) == pytest.approx(0.1)
    limiter.pause(5)
    clock.now += 0.1
    assert limiter.wait(late) == pytest.approx(4.9)  # its slot was given before the hold


def test_the_pace_grows_back_after_a_calm_spell_within_the_cap() -> None:
    clock = Clock()
    limiter = RateLimiter(40, clock=clock)
    answered(limiter, clock, 40, over=1.0)
    limiter.observe(limiter.acquire(sleep=clock.sleep), 429, 1.0)
    lowered = limiter.rate
    assert lowered is not None and lowered < 40
    clock.now += 4.0
    assert limiter.rate == lowered
    clock.now += 20.0
    assert lowered < (limiter.rate or 0) <= 40


def test_a_retry_after_beyond_the_hold_limit_holds_nobody() -> None:
    clock = Clock()
    limiter = RateLimiter(max_hold=60, clock=clock)
    answered(limiter, clock, 10, over=1.0)
    limiter.observe(limiter.acquire(sleep=_no_sleep), 429, 3600)
    assert limiter.reserve() == 0
    assert limiter.rate is None


def test_a_429_with_nothing_answered_before_holds_without_guessing_a_pace() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    limiter.observe(limiter.acquire(sleep=_no_sleep), 429, 2.0)
    assert limiter.rate is None
    assert limiter.reserve() == pytest.approx(2.0)


def test_a_fixed_pace_is_not_adapted() -> None:
    clock = Clock()
    limiter = RateLimiter(20, adaptive=False, clock=clock)
    answered(limiter, clock, 10, over=1.0)
    limiter.observe(limiter.acquire(sleep=clock.sleep), 429, 1.0)
    assert limiter.rate == 20


async def test_acquire_async_waits_for_the_slot() -> None:
    limiter = RateLimiter(100)
    first = await limiter.acquire_async()
    second = await limiter.acquire_async()
    assert first.slot is not None and second.slot is not None
    assert second.slot - first.slot == pytest.approx(0.01)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("-4") == 0
    date = email.utils.formatdate(1000.0 + 30, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == pytest.approx(30)


# -- the limiter against simulated providers -----------------------------------------


class FixedWindow:
    """``limit`` requests per aligned one-second window; Retry-After is the rest of it."""

    def __init__(self, limit: int, phase: float) -> None:
        self.limit, self.phase = limit, phase
        self.counts: collections.Counter[int] = collections.Counter()

    def decide(self, t: float) -> tuple[int, float | None]:
        window = math.floor(t + self.phase)
        if self.counts[window] >= self.limit:
            return 429, max(1, math.ceil(window + 1 - (t + self.phase)))
        self.counts[window] += 1
        return 200, None


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.t = rate, burst, burst, 0.0

    def decide(self, t: float) -> tuple[int, float | None]:
        self.tokens = min(self.burst, self.tokens + (t - self.t) * self.rate)
        self.t = t
        if self.tokens >= 1:
            self.tokens -= 1
            return 200, None
        return 429, max(1, math.ceil((1 - self.tokens) / self.rate))


class SlidingLog:
    """At most ``limit`` requests in any one second."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.log: collections.deque[float] = collections.deque()

    def decide(self, t: float) -> tuple[int, float | None]:
        while self.log and self.log[0] <= t - 1:
            self.log.popleft()
        if len(self.log) >= self.limit:
            return 429, max(1, math.ceil(self.log[0] + 1 - t))
        self.log.append(t)
        return 200, None


def simulate(
    server: FixedWindow | TokenBucket | SlidingLog, jobs: int, workers: int, latency: float
) -> tuple[float, int, int]:
    """``workers`` threads each sending one request at a time, as the engine does (a
    429 is retried after its Retry-After). Returns jobs per second, 429s, requests."""
    clock = Clock(0.0)
    limiter = RateLimiter(clock=clock)
    events: list[tuple[float, int, str, Ticket | None, int, float]] = []
    order = 0
    left, done, refused, sent, finished = jobs, 0, 0, 0, 0.0

    def at(when: float, what: str, ticket: Ticket | None = None, status: int = 0, wait: float = 0) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (when, order, what, ticket, status, wait))

    for _ in range(min(workers, jobs)):
        left -= 1
        at(0.0, "wait")
    while events:
        clock.now, _, what, ticket, status, wait = heapq.heappop(events)
        ticket = ticket or limiter.ticket()
        if what == "wait":
            delay = limiter.wait(ticket)
            at(clock.now + delay, "wait" if delay > 0 else "send", ticket)
        elif what == "send":
            sent += 1
            status, retry_after = server.decide(clock.now + latency)
            at(clock.now + latency, "answer", ticket, status, retry_after or 0)
        else:
            limiter.observe(ticket, status, wait)
            if status == 429:
                refused += 1
                at(clock.now + wait, "wait")
            else:
                done, finished = done + 1, clock.now
                if left:
                    left -= 1
                    at(clock.now, "wait")
    return done / finished, refused, sent


SERVERS = {
    "fixed-0": lambda: FixedWindow(50, 0.0),
    "fixed-0.37": lambda: FixedWindow(50, 0.37),
    "fixed-0.95": lambda: FixedWindow(50, 0.95),  # the first burst straddles two windows
    "bucket": lambda: TokenBucket(50, 50),
    "sliding": lambda: SlidingLog(50),
}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("workers", [8, 16, 64])
def test_a_50_per_second_limit_is_used_to_at_least_90_percent(server: str, workers: int) -> None:
    rate, refused, sent = simulate(SERVERS[server](), jobs=1000, workers=workers, latency=0.02)
    assert rate >= 45
    # The provider's first window refuses what is in flight when it runs out (at
    # most one per worker); after that, hardly anything.
    assert refused <= workers + 6
    assert refused / sent < 0.025


def test_a_slot_after_until_is_refused_at_once_and_kept_for_others() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    first = limiter.acquire(sleep=_no_sleep, until=clock.now + 3)
    assert first.slot == clock.now
    late = limiter.acquire(sleep=_no_sleep, until=clock.now + 0.2)
    assert late.slot is None and late.delay == pytest.approx(0.5)
    # the refused ticket took nothing: the next caller gets the slot it would have had
    assert limiter.wait(Ticket()) == pytest.approx(0.5)


def test_a_hold_past_until_refuses_a_ticket_already_waiting() -> None:
    clock = Clock()
    limiter = RateLimiter(10, clock=clock)
    limiter.acquire(sleep=_no_sleep)
    waiting = Ticket()
    assert limiter.wait(waiting, until=clock.now + 1) == pytest.approx(0.1)
    limiter.pause(30)  # a hold changes the pace: the ticket asks again
    assert limiter.wait(waiting, until=clock.now + 1) == pytest.approx(30)
    assert waiting.slot is None
