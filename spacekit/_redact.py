"""Redaction: the one place that removes secrets from text shown to anyone.

``redact`` masks secret values in a text; ``cut`` shortens a text that was already
redacted, masking a tail that could be the start of a secret (so that a secret
straddling the cut leaves no part behind); ``redact_error`` does both to an error,
to every string it carries (message, ``body``, ``fields``, any attribute), and to
the errors it was raised from, and detaches the foreign exceptions of its chain
(an httpx error holds the request, and so its ``Authorization`` header).
``shown_url`` writes a URL without its user-info.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
BODY_LIMIT = 2000
"""The characters of a response body an error keeps, once secrets are removed."""
_MIN = 4  # shorter values would mask innocent text; no real credential is this short


def _usable(secrets: Iterable[str]) -> list[str]:
    return sorted({s for s in secrets if s and len(s) >= _MIN}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for secret in _usable(secrets):
        text = text.replace(secret, MASK)
    return text


def cut(text: str, secrets: Iterable[str], limit: int = BODY_LIMIT) -> str:
    """A redacted ``text`` cut to ``limit`` characters; a tail that begins a secret is masked."""
    if len(text) <= limit:
        return text
    kept = text[:limit]
    for secret in _usable(secrets):
        for size in range(min(len(secret), len(kept)), 0, -1):
            if kept.endswith(secret[:size]):
                kept = kept[:-size] + MASK
                break
    return kept + "..."


def shown_url(url: str) -> str:
    """``url`` without its user-info: ``ftp://***@host/path`` for ``ftp://bob:pw@host/path``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a malformed URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{MASK}@{host}").geturl()


def redact_error(error: BaseException, secrets: Iterable[str]) -> BaseException:
    """Scrub an error and the spacekit errors it was raised from, in place; return it.

    Every string it carries is redacted (``body`` is also cut to ``BODY_LIMIT``), and
    a link of its chain (``__cause__``, ``__context__``) to an exception that is not
    a spacekit error is dropped.
    """
    from ._errors import SpacekitError  # the error tree uses this module's limit

    values = _usable(secrets)
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub(current, values, pending)
        for link in ("__cause__", "__context__"):
            linked = getattr(current, link)
            if linked is None:
                continue
            if isinstance(linked, SpacekitError):
                pending.append(linked)
            else:
                setattr(current, link, None)
                current.__suppress_context__ = True
    return error


def _scrub(error: BaseException, values: list[str], pending: list[BaseException]) -> None:
    error.args = tuple(_clean(a, values, pending) for a in error.args)
    for name, value in list(vars(error).items()):
        if name.startswith("__") and name != "__notes__":
            continue
        cleaned = _clean(value, values, pending)
        if name == "body" and isinstance(cleaned, str):
            cleaned = cut(cleaned, values)
        if cleaned is not value:
            setattr(error, name, cleaned)


def _clean(value: Any, values: list[str], pending: list[BaseException]) -> Any:
    if isinstance(value, str):
        redacted = redact(value, values)
        return value if redacted == value else redacted
    if isinstance(value, BaseException):
        pending.append(value)
        return value
    if isinstance(value, Mapping):
        return {_clean(k, values, pending): _clean(v, values, pending) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, values, pending) for v in value]
    if type(value) is tuple:
        return tuple(_clean(v, values, pending) for v in value)
    return value
