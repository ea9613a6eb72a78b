"""Checks on caller input, made locally before any request: one place for each rule."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ._errors import ConfigError, Unsupported, ValidationError
from ._model import Capability
from ._redact import shown_url

MAX_NAME = 255


def check_name(name: object, *, field: str = "name") -> str:
    """A display name: a non-blank string of at most 255 characters, no control characters."""
    if not isinstance(name, str):
        raise ValidationError(
            f"{field} must be a string, not {type(name).__name__}", fields={field: "not a string"}
        )
    if not name.strip():
        raise ValidationError(f"{field} must not be empty or blank", fields={field: "blank"})
    if len(name) > MAX_NAME:
        raise ValidationError(
            f"{field} is {len(name)} characters long; at most {MAX_NAME} are allowed",
            fields={field: "too long"},
        )
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ValidationError(
            f"{field} contains the control character {bad!r}", fields={field: "control character"}
        )
    return name


def check_description(description: object) -> str | None:
    """A description: None, or a string without control characters other than newlines and tabs."""
    if description is None:
        return None
    if not isinstance(description, str):
        raise ValidationError("description must be a string or None", fields={"description": "not a string"})
    bad = next(
        (c for c in description if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t\r"), None
    )
    if bad is not None:
        raise ValidationError(
            f"description contains the control character {bad!r}",
            fields={"description": "control character"},
        )
    return description


def check_id(space_id: object) -> str:
    """A space id: a non-empty string (ints are accepted and turned into strings)."""
    if isinstance(space_id, bool) or not isinstance(space_id, (str, int)):
        raise ValidationError(f"a space id must be a string, not {type(space_id).__name__}")
    text = str(space_id)
    if not text.strip():
        raise ValidationError("a space id must not be empty")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValidationError(f"a space id must not contain control characters: {text!r}")
    return text


def quote_id(space_id: str) -> str:
    """Percent-encode an id for use as one path segment.

    Everything outside unreserved characters is encoded, and so are the dots of ``.``
    and ``..`` (which HTTP clients would otherwise resolve), so that no id can reach
    another endpoint.
    """
    encoded = quote(check_id(space_id), safe="")
    if encoded in (".", ".."):
        encoded = encoded.replace(".", "%2E")
    return encoded


_DOING = {
    Capability.LIST: "list spaces",
    Capability.SEARCH: "search spaces by name",
    Capability.GET: "get a space",
    Capability.CREATE: "create spaces",
    Capability.UPDATE: "update spaces",
    Capability.DELETE: "delete spaces",
    Capability.TOKENS: "issue space tokens",
}


def describe(capability: Capability) -> str:
    """What a capability lets a store do, in words."""
    return _DOING[capability]


def require(capabilities: frozenset[Capability], capability: Capability, provider: str) -> None:
    """Raise ``Unsupported`` unless the store has that capability."""
    if capability not in capabilities:
        raise Unsupported(f"the {provider} store cannot {describe(capability)}")


def check_options(options: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    """Refuse keyword options a store does not know."""
    unknown = set(options) - allowed
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise ValidationError(f"unknown option(s) for {what}: {', '.join(sorted(unknown))} (known: {known})")


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def check_base_url(url: object, *, setting: str = "base_url", allow_insecure_http: bool = False) -> str:
    """An absolute http(s) URL; plain http only for loopback unless explicitly allowed."""
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{setting} must be a URL string")
    shown = shown_url(url)
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError(f"{setting} must be an absolute http(s) URL, got {shown!r}") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigError(f"{setting} must be an absolute http(s) URL, got {shown!r}")
    if "@" in parts.netloc:
        raise ConfigError(f"{setting} must not carry credentials, got {shown!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{setting} must not carry a query or fragment")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigError(f"{setting} must not contain spaces or control characters (percent-encode them)")
    if parts.scheme == "http" and hostname not in LOOPBACK and not allow_insecure_http:
        raise ConfigError(
            f"{setting} {shown!r} uses plain http to a remote host; use https, "
            "or set allow_insecure_http=True if you really mean it"
        )
    return url.rstrip("/")


_CREDENTIAL = re.compile(r"(?:[A-Za-z]+ )?[\x21-\x7e]+")


def check_credential(value: object, *, setting: str) -> str:
    """A credential as an HTTP header carries it: printable ASCII without whitespace
    (an auth scheme in front, such as ``Bearer ``, is allowed). Never shows the value."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{setting} must be a non-empty string (its value is not shown)")
    if not _CREDENTIAL.fullmatch(value):
        raise ConfigError(
            f"{setting} must be printable ASCII without spaces or control characters, as an "
            "HTTP header carries it (its value is not shown)"
        )
    return value
