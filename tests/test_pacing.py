"""Pacing: Retry-After parsing and the shared rate limiter."""

from __future__ import annotations

import email.utils

import pytest

from spacekit.plugin import RateLimiter, parse_retry_after


def test_client_side_rate_limit_spaces_requests() -> None:
    limiter = RateLimiter(10)
    waits = [limiter.reserve() for _ in range(5)]
    assert waits[0] == pytest.approx(0, abs=0.01)
    assert waits[4] == pytest.approx(0.4, abs=0.02)
    limiter.pause(2)
    assert limiter.reserve() == pytest.approx(2, abs=0.05)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1000.0 + 30, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == pytest.approx(30)
