"""Pacing: how long to wait before the next request.

``parse_retry_after`` reads a server's ``Retry-After``; ``RateLimiter`` is one
store's shared pace (a client-side requests-per-second limit, and a pause for every
caller after the server asked to wait). Neither sleeps: callers wait in their own
way, so the same code serves threads and asyncio tasks.
"""

from __future__ import annotations

import email.utils
import threading
import time


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RateLimiter:
    """A shared pace for one store: at most ``rate`` requests a second, and a pause
    for everyone when the server says ``Retry-After``. ``reserve`` is non-blocking
    (callers sleep in their own way), so it serves threads and tasks alike."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Claim the next slot; return how long to wait for it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            self._next = slot + self._interval
            return slot - now

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
