"""The one error tree of spacekit.

Every failure a caller can see is one of these::

    SpacekitError
    ├── ConfigError            unknown store, bad URL or setting, missing credential
    ├── Unsupported            the store lacks that capability (raised before any request)
    ├── ValidationError        bad input, found locally or answered 400 (also a ValueError)
    └── ProviderError          provider, status, request id, a redacted body
        ├── AuthenticationError   401, or a provider's "bad token" answer
        ├── PermissionDenied      403
        ├── NotFound              404 or unknown id (also a LookupError)
        ├── Conflict              409, duplicate
        ├── RateLimited           429 still after retries; retry_after
        ├── ProviderUnavailable   5xx or network failure still after retries
        └── ProtocolError         a response the plugin cannot read

Third-party exceptions (httpx, json, sqlite3) are translated where they are caught,
with ``raise ... from exc``; none reaches a caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

E = TypeVar("E", bound=BaseException)


class SpacekitError(Exception):
    """The root of every error spacekit raises."""


class FieldDroppedWarning(UserWarning):
    """A field given to ``create`` or ``update`` that the store cannot keep was left out.

    Stores keep what they can hold (``writable_fields``) and say so with this
    warning, the same way for ``create`` and ``update``. Turn it into an error with
    ``warnings.simplefilter("error", spacekit.FieldDroppedWarning)``.
    """


class ConfigError(SpacekitError):
    """A store, setting, URL or credential is unknown, malformed or missing."""


class Unsupported(SpacekitError):
    """The store lacks the capability an operation needs; raised before any request."""


class ValidationError(SpacekitError, ValueError):
    """Bad input: found locally, or answered 400 by the provider.

    ``fields`` maps a field name to what was wrong with it, where that is known;
    ``provider``, ``status`` and ``body`` are set when the provider answered 400.
    """

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        provider: str | None = None,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = dict(fields or {})
        self.provider = provider
        self.status = status
        self.body = body


class ProviderError(SpacekitError):
    """The provider refused or failed an operation.

    Carries the provider's name, the HTTP status (None for network failures), the
    request id when the provider gave one, and the response body. The engine
    removes secrets from every text of the error, then cuts ``body`` to a readable
    length (in that order, so that no part of a secret survives the cut).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        body: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.body = body
        self.fields: dict[str, str] = dict(fields or {})

    def __str__(self) -> str:
        text = super().__str__()
        context = [f"provider={self.provider}"] if self.provider else []
        if self.status is not None and f"(HTTP {self.status})" not in text:  # not said twice
            context.append(f"status={self.status}")
        if self.request_id:
            context.append(f"request_id={self.request_id}")
        return f"{text} ({', '.join(context)})" if context else text


class AuthenticationError(ProviderError):
    """The credential was refused (401, or the provider's own "bad token" answer)."""


class PermissionDenied(ProviderError):
    """The credential is valid but may not do this (403)."""


class NotFound(ProviderError, LookupError):
    """No such space (404, or an id the provider does not know)."""


class Conflict(ProviderError):
    """The operation clashes with what exists (409, a duplicate)."""


class RateLimited(ProviderError):
    """Still throttled after retries; ``retry_after`` is the server's wait in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """A 5xx answer or a network failure, still after retries.

    ``maybe_applied`` is True when a write may have reached the provider before the
    connection failed: its outcome is unknown, so look before writing again.
    """

    def __init__(self, message: str, *, maybe_applied: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_applied = maybe_applied


class ProtocolError(ProviderError):
    """A response the plugin cannot read: not JSON, truncated, or the wrong shape."""


_BY_STATUS: Mapping[int, type[ProviderError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def in_cli_words(error: E, message: str) -> E:
    """``error``, carrying how the command line says it: the flags and config keys its
    user types (``--force``), where ``str(error)`` names Python's arguments
    (``force=True``). The command line shows ``cli_message(error)``."""
    error.cli_text = message  # type: ignore[attr-defined]
    return error


def cli_message(error: BaseException) -> str:
    """What the command line shows for ``error``: its own words if it has them."""
    return str(getattr(error, "cli_text", None) or error)


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str | None = None,
    request_id: str | None = None,
    body: str | None = None,
    fields: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> SpacekitError:
    """The error class for an HTTP status: the one mapping from status to class.

    400 and 422 are a ``ValidationError`` (input the provider refused), which also
    carries the provider's context as attributes.
    """
    if status in (400, 422):
        return ValidationError(
            f"{message} (provider={provider}, status={status})",
            fields=fields,
            provider=provider,
            status=status,
            body=body,
        )
    kwargs: dict[str, Any] = dict(
        provider=provider, status=status, request_id=request_id, body=body, fields=fields
    )
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **kwargs)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ProviderUnavailable if status >= 500 or status == 408 else ProviderError
    return cls(message, **kwargs)


def field_errors(items: Sequence[Mapping[str, Any]] | None) -> dict[str, str]:
    """Turn a list of ``{"name", "message"}`` entries into a field-to-message map."""
    result: dict[str, str] = {}
    for item in items or ():
        if isinstance(item, Mapping) and "name" in item:
            result[str(item["name"])] = str(item.get("message", ""))
    return result
