"""Redaction: the one place that removes secrets from text shown to anyone.

``redact`` masks secret values in a text; ``cut`` shortens a text that was already
redacted, masking a tail that could be the start of a secret (so that a secret
straddling the cut leaves no part behind); ``redact_error`` does both to an error,
to every string it carries (message, ``body``, ``fields``, any attribute), and to
the errors it was raised from, and detaches the foreign exceptions of its chain
(an httpx error holds the request, and so its ``Authorization`` header).
``shown_url`` writes a URL without its user-info.

A secret is matched as it is and as an answer may echo it: JSON-escaped (``\\/``
for ``/``, ``\\\\`` for a backslash) and percent-encoded (either case of hex digits).

``LogScrubber`` is a logging filter on httpx's and httpcore's loggers
(``scrub_library_logs``): at DEBUG, httpcore logs the answer's headers, and a server
that echoes a credential header would otherwise print it. It redacts every record of
theirs with the secrets of every store open at the time (``watch``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

MASK = "***"
BODY_LIMIT = 2000
"""The characters of a response body an error keeps, once secrets are removed."""
_MIN = 4  # shorter values would mask innocent text; no real credential is this short


def _usable(secrets: Iterable[str]) -> list[str]:
    """The forms to mask, longest first: each secret as it is and as it may be echoed."""
    forms = {form for s in secrets if s and len(s) >= _MIN for form in _forms(s)}
    return sorted(forms, key=len, reverse=True)


_HEX = re.compile(r"%[0-9A-F]{2}")


def _forms(secret: str) -> set[str]:
    """``secret`` as it is, JSON-escaped (``/`` escaped or not) and percent-encoded."""
    escaped = json.dumps(secret)[1:-1]
    encoded = {quote(secret, safe=""), quote(secret, safe="/")}
    lower = {_HEX.sub(lambda m: m.group().lower(), form) for form in encoded}
    return {secret, escaped, escaped.replace("/", "\\/"), *encoded, *lower}


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
    """``url`` without its user-info: ``ftp://***@host/path`` for ``ftp://bob:pw@host/path``.

    Nothing before an ``@`` is shown, even where Python's parser finds no user-info
    but a lenient one would (``https:\\\\bob:pw@host``, read with backslashes as
    slashes, as browsers do; ``https://bob:p/w@host``, a password with a slash)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a malformed URL>"
    if "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=f"{MASK}@{host}").geturl()
    if "@" not in url:
        return url
    scheme = f"{parts.scheme}://" if parts.scheme else ""
    return f"{scheme}{MASK}@{url.rpartition('@')[2]}"


#: what ``LogScrubber`` asks for the secrets of the stores open now
_SOURCES: weakref.WeakSet[Any] = weakref.WeakSet()
_SOURCES_LOCK = threading.Lock()
#: the loggers of the HTTP libraries under the engine (a filter is not inherited)
LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def watch(source: Any) -> None:
    """Have ``LogScrubber`` mask ``source.secrets_now()`` while ``source`` lives."""
    with _SOURCES_LOCK:
        _SOURCES.add(source)


def _live_secrets() -> list[str]:
    with _SOURCES_LOCK:
        sources: list[Any] = list(_SOURCES)
    values: list[str] = []
    for source in sources:
        secrets: Callable[[], Iterable[str]] = source.secrets_now
        values.extend(secrets())
    return values


class LogScrubber(logging.Filter):
    """A filter that redacts a record's message with the secrets of every open store."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _live_secrets()
        if secrets:
            try:
                message = record.getMessage()
            except Exception:  # its arguments do not fit: shown as they are, redacted
                message = f"{record.msg!s} (arguments: {record.args!r})"
            cleaned = redact(message, secrets)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


_SCRUBBER = LogScrubber()


def scrub_library_logs() -> None:
    """Put ``LogScrubber`` on the HTTP libraries' loggers (once)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _SCRUBBER not in logger.filters:
            logger.addFilter(_SCRUBBER)


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
