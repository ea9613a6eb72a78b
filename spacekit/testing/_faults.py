"""Faults an emulator can inject, each for the next N matching requests.

``Faults`` is a queue of planned failures (a status, a status after the write was
committed, a dropped connection before or after the commit, a malformed or truncated
body), plus three standing settings: latency on every request, a
requests-per-second limit answered with 429, and random failures (a fraction of
requests answered with one status, drawn from a seeded generator so that a run
can be repeated). The emulator asks it, for each request, which fault applies.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from typing import Any, Protocol

import attrs


class _Seen(Protocol):
    """What a fault looks at in a request (an emulator's ``LoggedRequest``)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...


@attrs.define
class _Fault:
    #: "status", "status_after_commit", "drop", "drop_after_commit", "malformed", or
    #: "random" (a random failure: the emulator writes the body, as its provider would)
    kind: str
    remaining: int
    method: str | None
    path: re.Pattern[str] | None
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = attrs.field(factory=dict)

    def matches(self, request: _Seen) -> bool:
        if self.method and request.method != self.method.upper():
            return False
        return not (self.path and not self.path.search(request.path))


class Faults:
    """Faults to inject; each applies to the next ``times`` matching requests.

    ``method`` and ``path`` (a regular expression searched in the raw path) narrow
    which requests a fault hits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []
        self.latency = 0.0
        self.rate_limit: float | None = None
        self._window = (0, 0)
        self.failure_rate = 0.0
        self.failure_status = 503
        self._random = random.Random()

    def _add(self, kind: str, times: int, method: str | None, path: str | None, **kw: Any) -> None:
        pattern = re.compile(path) if path else None
        with self._lock:
            self._queue.append(_Fault(kind, times, method, pattern, **kw))

    def fail(
        self,
        status: int = 503,
        times: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        body: bytes | str = b'{"message": "injected fault"}',
        headers: dict[str, str] | None = None,
        after_commit: bool = False,
    ) -> None:
        """Answer ``status`` with ``body`` instead of handling the request; with
        ``after_commit``, handle it first (the write happens, the answer says it failed)."""
        data = body.encode() if isinstance(body, str) else body
        kind = "status_after_commit" if after_commit else "status"
        self._add(kind, times, method, path, status=status, body=data, headers=dict(headers or {}))

    def throttle(
        self,
        times: int = 1,
        retry_after: float | str = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer 429 with ``Retry-After`` (seconds, or an HTTP date string)."""
        value = retry_after if isinstance(retry_after, str) else seconds(retry_after)
        self.fail(429, times, method=method, path=path, headers={"Retry-After": value})

    def drop(
        self,
        times: int = 1,
        *,
        after_commit: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Close the connection without answering; ``after_commit`` handles the
        request first (the write happens, the client never learns it)."""
        self._add("drop_after_commit" if after_commit else "drop", times, method, path)

    def malformed(
        self,
        times: int = 1,
        *,
        body: bytes = b"<html><body>Bad Gateway</body></html>",
        truncate: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Handle the request but replace its body: ``body``, or the real body cut in half."""
        self._add("malformed", times, method, path, body=b"" if truncate else body)

    def fail_randomly(self, rate: float, status: int = 503, *, seed: int | None = None) -> None:
        """Answer ``status`` to a fraction ``rate`` (0 to 1) of the requests, at random;
        the same ``seed`` draws the same requests again (for one client at a time)."""
        if not 0 <= rate <= 1:
            raise ValueError(f"the failure rate must be between 0 and 1, not {rate}")
        with self._lock:
            self.failure_rate, self.failure_status = rate, status
            self._random = random.Random(seed)

    def armed(self) -> list[dict[str, Any]]:
        """The faults waiting for requests, in order, as JSON-ready data."""
        with self._lock:
            return [
                {
                    "kind": fault.kind,
                    "status": fault.status if fault.kind.startswith("status") else None,
                    "times": fault.remaining,
                    "method": fault.method.upper() if fault.method else None,
                    "path": fault.path.pattern if fault.path else None,
                }
                for fault in self._queue
            ]

    def disarm(self) -> None:
        """Forget the faults waiting for requests; latency, the rate limit and random
        failures stay."""
        with self._lock:
            self._queue.clear()

    def clear(self) -> None:
        """Back to no fault at all."""
        with self._lock:
            self._queue.clear()
            self.latency = 0.0
            self.rate_limit = None
            self.failure_rate = 0.0

    def take(self, request: _Seen) -> _Fault | None:
        """The first fault matching ``request``, counted as used; else, by the failure
        rate, a random failure."""
        with self._lock:
            for fault in self._queue:
                if fault.matches(request):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._queue.remove(fault)
                    return fault
            if self.failure_rate and self._random.random() < self.failure_rate:
                return _Fault("random", 0, None, None, status=self.failure_status)
        return None

    def over_limit(self) -> float | None:
        """Seconds until the current one-second window ends, if its quota is spent."""
        if not self.rate_limit:
            return None
        now = time.monotonic()
        second = int(now)
        with self._lock:
            start, count = self._window
            if start != second:
                start, count = second, 0
            if count >= self.rate_limit:
                self._window = (start, count)
                return second + 1 - now
            self._window = (start, count + 1)
        return None


def seconds(value: float) -> str:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(value)))
