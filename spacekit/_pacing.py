"""Pacing: how long to wait before the next request.

``parse_retry_after`` reads a server's ``Retry-After``; ``RateLimiter`` is one
store's shared pace, used by every thread or task of that store. Neither sleeps:
callers wait in their own way, so the same code serves threads and asyncio tasks.

The limiter learns the provider's rate instead of being told it. Until the first
429 it does not pace at all (unless a client-side ``rate_limit`` caps it). The
first 429 says the provider allows about what it answered over its window (a
second, or the ``Retry-After`` if longer): the pace becomes 95 % of that, and
callers hold off until that window, which began at the earliest with the first of
those answers, is over; after a long unrefused run that moment is past, and the
hold is a few pacing intervals. A 429 while paced means the pace was a little
high: it drops to 95 % of what the provider answered over the last second (at
most to half, at least by a tenth), and callers hold off for a few intervals
only, doubling while refusals continue, never beyond ``Retry-After``: a 429
slows the store down, it does not stop it for a whole second. 429s answering
requests that were given their slot before the pace last changed are old news
and change nothing. After a calm spell the pace creeps back up, so a pace lowered
by a passing refusal does not stay low for the rest of a long run.

The refused request itself is retried by the engine after its own
``Retry-After``, in a slot of the new pace.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import math
import threading
import time
from collections.abc import Callable
from typing import Any

MARGIN = 0.95
"""The share of the provider's learned rate that is used."""
DECREASE = 0.9
"""The pace after a 429 when the last second does not say what the provider allows."""
PROBE_INTERVALS = 3
"""A 429 while paced holds everyone for this many pacing intervals (doubling per repeat)."""
CALM = 5.0
"""Seconds without a 429 before the pace starts growing again."""
GROWTH = 0.005
"""How fast the pace grows after a calm spell: this share of itself per second."""
_BUCKET = 0.1  # seconds of answers counted together
_HISTORY = 60.0  # seconds of answers remembered


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Answers:
    """How many requests were answered (not 429) recently, in ``_BUCKET``-wide buckets."""

    def __init__(self) -> None:
        # [bucket number, answers in it, when the first of them came]
        self._buckets: collections.deque[list[Any]] = collections.deque()

    def add(self, now: float) -> None:
        index = math.floor(now / _BUCKET)
        if self._buckets and self._buckets[-1][0] == index:
            self._buckets[-1][1] += 1
        else:
            self._buckets.append([index, 1, now])
            while self._buckets[0][0] < index - _HISTORY / _BUCKET:
                self._buckets.popleft()

    def since(self, moment: float) -> tuple[int, float]:
        """How many were answered since ``moment`` (to a bucket), and when the first of them was."""
        start = math.floor(moment / _BUCKET)
        total, first = 0, moment
        for index, count, when in reversed(self._buckets):
            if index < start:
                break
            total, first = total + count, when
        return total, max(moment, first)


class Ticket:
    """One request's place in the pace: its slot, and the pace it was given under.

    ``slot`` is None for a ticket that was refused one (``wait`` with ``until``);
    ``delay`` is then how long it would have waited."""

    __slots__ = ("delay", "epoch", "slot")

    def __init__(self) -> None:
        self.slot: float | None = None
        self.epoch = -1
        self.delay = 0.0


class RateLimiter:
    """A shared pace for one store, learned from the provider's 429 answers.

    ``rate`` caps it client-side (requests per second; None: no cap). Each request
    takes a ``ticket()`` and waits while ``wait(ticket)`` says so (``acquire`` and
    ``acquire_async`` do both), is sent, and its answer is reported with
    ``observe(ticket, status, retry_after)``. A ticket whose slot was given before
    the pace changed (a hold, a slower pace) is given a new slot when it asks again,
    so a hold also stops requests that were already waiting for their turn.
    ``clock`` is a monotonic clock in seconds (tests pass their own).
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        adaptive: bool = True,
        max_hold: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cap = rate if rate and rate > 0 else None
        self.adaptive = adaptive
        self.max_hold = max_hold
        self._clock = clock
        self._lock = threading.Lock()
        self._rate = self.cap  # the pace set at the last change; None: unpaced
        self._changed = -math.inf  # when the pace last changed
        self._epoch = 0  # counts changes of pace or holds; tickets of older ones ask again
        self._next = -math.inf  # the next free slot
        self._held_until = -math.inf
        self._strikes = 0  # 429s in a row while paced
        self._answers = _Answers()

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second; None while unpaced."""
        with self._lock:
            return self._current(self._clock())

    def ticket(self) -> Ticket:
        return Ticket()

    def wait(self, ticket: Ticket, until: float | None = None) -> float:
        """How long ``ticket`` must still wait (0: go now), giving it a slot if needed.

        With ``until`` (a moment on the limiter's clock, a call's deadline), a slot
        after it is not given: the ticket is left without one (``ticket.slot`` None,
        so nobody queues behind a request that will not be sent) and the wait it
        would have had is returned."""
        with self._lock:
            now = self._clock()
            if ticket.slot is None or ticket.epoch != self._epoch:
                slot = max(now, self._next, self._held_until)
                if until is not None and now < slot and until <= slot:
                    ticket.slot, ticket.delay = None, slot - now
                    return ticket.delay
                rate = self._current(slot)
                if rate is not None:
                    self._next = slot + 1.0 / rate
                ticket.slot, ticket.epoch = slot, self._epoch
            return max(0.0, ticket.slot - now)

    def acquire(self, sleep: Callable[[float], object] = time.sleep, *, until: float | None = None) -> Ticket:
        """Wait (in this thread) for a slot; the ticket to ``observe`` the answer with.
        With ``until``, a slot after it is not waited for: the ticket comes back at
        once without one (``ticket.slot`` None, ``ticket.delay`` the wait refused)."""
        ticket = Ticket()
        while (delay := self.wait(ticket, until)) > 0 and ticket.slot is not None:
            sleep(delay)
        return ticket

    async def acquire_async(self, *, until: float | None = None) -> Ticket:
        """Wait (in this task) for a slot; the ticket to ``observe`` the answer with
        (``until`` as for ``acquire``)."""
        ticket = Ticket()
        while (delay := self.wait(ticket, until)) > 0 and ticket.slot is not None:
            await asyncio.sleep(delay)
        return ticket

    def reserve(self) -> float:
        """Claim the next slot; return how long to wait for it."""
        return self.wait(Ticket())

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds``."""
        with self._lock:
            self._hold(self._clock(), seconds)

    def observe(self, ticket: Ticket, status: int, retry_after: float | None = None) -> None:
        """Learn from the answer (``status``, ``Retry-After`` in seconds) to the
        request sent with ``ticket``."""
        with self._lock:
            now = self._clock()
            current = ticket.epoch == self._epoch
            if status != 429:
                self._answers.add(now)
                if current:
                    self._strikes = 0
                return
            if not self.adaptive or not current:
                return  # scheduled before the pace last changed: already accounted for
            wait = 1.0 if retry_after is None else retry_after
            if wait > self.max_hold:
                return  # the caller gives up at once; nobody else is held that long
            rate = self._current(now)
            if rate is None:
                self._first_refusal(now, wait)
            else:
                self._refusal_while_paced(now, rate, wait)

    def _first_refusal(self, now: float, wait: float) -> None:
        window = min(max(wait, 1.0), _HISTORY)
        answered, first = self._answers.since(now - window)
        if answered < 2:  # nothing to learn from yet: wait as the provider says
            self._hold(now, wait)
            return
        rate = answered / window * MARGIN
        self._set(now, rate)
        # The provider's window began at the earliest when the first of these was
        # answered, so it has started afresh by ``first + window``: hold until then,
        # or for a few intervals if that is past (never beyond ``Retry-After``).
        self._strikes = 1
        self._hold(now, min(wait, max(PROBE_INTERVALS / rate, first + window - now)))

    def _refusal_while_paced(self, now: float, rate: float, wait: float) -> None:
        if self._strikes == 0:
            # What the provider answered over the last second bounds what it allows
            # (it may overstate it by what was answered before its window began).
            answered, _ = self._answers.since(now - 1.0)
            rate = max(rate * 0.5, min(rate * DECREASE, answered * MARGIN))
            self._set(now, rate)
        # A few intervals (doubling while refusals continue) find the provider's
        # window reset without losing a whole Retry-After to it.
        hold = min(wait, PROBE_INTERVALS * 2**self._strikes / rate)
        self._strikes += 1
        self._hold(now, hold)

    def _set(self, now: float, rate: float) -> None:
        self._rate = min(rate, self.cap) if self.cap else rate
        self._changed = now
        self._restart(now)

    def _hold(self, now: float, seconds: float) -> None:
        self._held_until = max(self._held_until, now + seconds)
        self._restart(now)

    def _restart(self, now: float) -> None:
        """Every slot given so far is void: waiting tickets ask again, in the new pace."""
        self._epoch += 1
        self._next = max(now, self._held_until)

    def _current(self, now: float) -> float | None:
        """The pace at ``now``: the last one set, grown after a calm spell, within the cap."""
        rate = self._rate
        if rate is None or not self.adaptive:
            return rate
        calm = now - self._changed - CALM
        if calm > 0:
            rate *= 1.0 + GROWTH * calm
        return min(rate, self.cap) if self.cap else rate
