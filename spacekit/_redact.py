"""Redaction: the one place that removes secrets from text shown to anyone."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
_MIN = 4  # shorter values would mask innocent text; no real credential is this short


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redact_error(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """Scrub an error's message and body in place, and return it."""
    values = [s for s in secrets if s]
    if not values:
        return error
    error.args = tuple(redact(a, values) if isinstance(a, str) else a for a in error.args)
    body = getattr(error, "body", None)
    if isinstance(body, str):
        error.body = redact(body, values)  # type: ignore[attr-defined]
    return error
