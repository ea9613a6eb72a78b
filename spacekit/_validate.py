"""Checks on caller input, made locally before any request: one place for each rule."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from ._errors import ConfigError, Unsupported, ValidationError, in_cli_words
from ._exchange import shown_path
from ._model import Capability
from ._redact import shown_url
from ._settings import origin_of

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
    Capability.SUBSPACES: "create or read subspaces",
    Capability.REQUEST: "send requests to other paths of its API",
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
    """An absolute http(s) URL; plain http only for loopback unless explicitly allowed.

    A message shows the URL without its user-info, and never a URL read from a
    reference or the environment (``sourced``): it names where that came from."""
    if not isinstance(url, str) or not url:
        raise ConfigError(f"{setting} must be a URL string")
    shown = repr(url) if origin_of(url) else repr(shown_url(url))
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError(f"{setting} must be an absolute http(s) URL, got {shown}") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigError(f"{setting} must be an absolute http(s) URL, got {shown}")
    if "@" in parts.netloc:
        raise ConfigError(f"{setting} must not carry credentials, got {shown}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{setting} must not carry a query or fragment")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigError(f"{setting} must not contain spaces or control characters (percent-encode them)")
    _check_host(hostname, setting, shown)
    if parts.scheme == "http" and hostname not in LOOPBACK and not allow_insecure_http:
        refusal = f"{setting} {shown} uses plain http to a remote host; use https, or set "
        error = ConfigError(refusal + "allow_insecure_http=True if you really mean it")
        raise in_cli_words(error, refusal + "allow_insecure_http = true if you really mean it")
    return url.rstrip("/")


def _check_host(hostname: str, setting: str, shown: str) -> None:
    """A host name the HTTP client can encode (IDNA), each DNS label 1 to 63 characters."""
    import httpx  # here: importing spacekit does not import httpx

    try:
        url = httpx.URL(f"https://[{hostname}]/" if ":" in hostname else f"https://{hostname}/")
        url.host  # noqa: B018 -- decoding an A-label ("xn--") is where a bad one fails
        raw = url.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise ConfigError(f"{setting} has a host name that is not valid (IDNA), got {shown}") from None
    if ":" in hostname:  # an IPv6 address
        return
    labels = raw.removesuffix(".").split(".")
    if len(raw) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise ConfigError(
            f"{setting} has a host name with an empty part or a part longer than 63 characters, got {shown}"
        )


#: printable ASCII without whitespace; only the schemes our providers use may stand in front
_CREDENTIAL = re.compile(r"(?:(?i:bearer|token) )?[\x21-\x7e]+")


def check_credential(value: object, *, setting: str) -> str:
    """A credential as an HTTP header carries it: printable ASCII without whitespace
    (``Bearer `` or ``Token `` in front, as pasted from a header, is allowed). Never shows the value."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{setting} must be a non-empty string (its value is not shown)")
    if not _CREDENTIAL.fullmatch(value):
        raise ConfigError(
            f"{setting} must be printable ASCII without spaces or control characters, as an "
            "HTTP header carries it (its value is not shown)"
        )
    return value


SUBSPACE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def check_subspace_name(name: object) -> str:
    """A subspace name: 1 to 255 letters, digits, underscores and hyphens (Instabase's rule)."""
    if isinstance(name, str) and SUBSPACE_NAME.fullmatch(name):
        return name
    raise ValidationError(
        f"a subspace name must be 1 to 255 letters, digits, underscores or hyphens, got {name!r}",
        fields={"name": "letters, digits, underscores or hyphens"},
    )


METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})


def check_passthrough(
    method: object, path: object, params: object, body: object, *, base_url: str
) -> tuple[str, str, dict[str, str]]:
    """Check a passthrough request; return its method, path and query parameters.

    The path must stay under ``base_url`` (its origin and its path prefix): an
    absolute URL, a scheme-relative ``//host``, a backslash, or a ``.``/``..``
    segment (even percent-encoded, once or more) is refused. Nothing is sent for a
    refused request, so credentials never go anywhere else.
    """
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValidationError(f"method must be one of {', '.join(sorted(METHODS))}, got {method!r}")
    query = _query(params, body)
    return method.upper(), check_request_path(path, base_url, query), query


MAX_TARGET = 8192
"""The longest path and query a passthrough request is sent with, in characters
(servers commonly refuse longer request lines with 414)."""
MAX_DECODES = 16
"""Percent-decodings a path is followed through; one still encoded after that is refused."""


def check_request_path(path: object, base_url: str, query: Mapping[str, str] | None = None) -> str:
    """A path relative to ``base_url`` that cannot leave it, as ``/a/b`` (a query kept);
    with the ``query`` parameters it is sent with, at most ``MAX_TARGET`` characters."""
    if not isinstance(path, str):
        raise ValidationError(f"path must be a string, not {type(path).__name__}")

    def refuse(why: str) -> ValidationError:
        shown = shown_path(path)
        return ValidationError(f"path {shown!r} refused: {why}; nothing was sent", fields={"path": why})

    target = len(path) + len(urlencode(query or {}))
    if target > MAX_TARGET:
        raise refuse(f"with its query it is {target} characters long; at most {MAX_TARGET} are sent")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in path):
        raise refuse("it contains control characters")
    if "#" in path:
        raise refuse("a fragment is never sent")
    route, mark, rest = path.partition("?")
    decoded = _decoded(route, refuse)
    if "\\" in decoded:
        raise refuse("backslashes are read as slashes by some servers")
    if any(unicodedata.category(c) == "Cc" for c in decoded):
        raise refuse("it contains percent-encoded control characters")
    if route.startswith("//") or urlsplit(route).scheme or urlsplit(route).netloc:
        raise refuse("it must be a path under the store's base URL, not an absolute URL")
    # "..;x" is ".." to servlet containers (";" starts a segment's parameters)
    if any(segment.split(";", 1)[0] in (".", "..") for segment in decoded.split("/")):
        raise refuse("'.' and '..' segments could leave the base URL")
    normalized = "/" + route.lstrip("/") + (mark + rest if mark else "")
    _stays_under(normalized, base_url, refuse)
    return normalized


def _decoded(route: str, refuse: Any) -> str:
    """``route`` percent-decoded until it no longer changes: a path decoded several
    times on its way (a proxy, then the app) is no safer; too many times is refused."""
    decoded = route
    for _ in range(MAX_DECODES):
        try:
            decoded, previous = unquote(decoded, errors="strict"), decoded
        except UnicodeDecodeError:  # "%c0%ae" is "." to a server that reads overlong UTF-8
            raise refuse("it percent-encodes bytes that are not UTF-8") from None
        if decoded == previous:
            return decoded
    raise refuse(f"it is percent-encoded more than {MAX_DECODES} times over")


def _stays_under(path: str, base_url: str, refuse: Any) -> None:
    """Check, as httpx will join them, that the URL keeps the base's origin and prefix."""
    import httpx  # here: importing spacekit does not import httpx

    base = httpx.URL(base_url.rstrip("/") + "/")
    try:
        joined = httpx.URL(str(base).rstrip("/") + path)
    except httpx.InvalidURL as exc:
        raise refuse(f"not a valid URL path ({exc})") from None
    if (joined.scheme, joined.host, joined.port) != (base.scheme, base.host, base.port):
        raise refuse("it would leave the store's origin")
    if not joined.raw_path.startswith(base.raw_path):
        raise refuse("it would leave the base URL's path")


def _query(params: object, body: object) -> dict[str, str]:
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationError(f"params must be a mapping, not {type(params).__name__}")
    query: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError(
                f"params must map names to strings or numbers, got {key!r}: {value!r} "
                "(spell booleans as the API does, 'true' or 'True')"
            )
        try:
            query[key] = str(value)
            (key + query[key]).encode("utf-8")  # as it is sent
        except UnicodeEncodeError:
            raise ValidationError(
                f"params hold a character UTF-8 cannot carry in {key!r} (a lone surrogate)"
            ) from None
        except ValueError:  # an integer of more digits than Python writes out
            raise ValidationError(f"params {key!r} is an integer of too many digits to send") from None
    try:
        json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")  # as httpx sends it
    except RecursionError:
        raise ValidationError("json nests too deeply to be sent") from None
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"json holds a character UTF-8 cannot carry ({exc.object[exc.start : exc.end]!r}, "
            "a lone surrogate)"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"json must be JSON data: {str(exc)[:200]}") from None
    return query
