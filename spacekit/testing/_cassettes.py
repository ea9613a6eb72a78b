"""Cassettes: the vcrpy configuration every provider's recorded tests share.

Record mode is ``none`` unless asked (``--record-mode`` of pytest-recording), so
an unrecorded request fails instead of reaching out. Requests match on method,
scheme, host, port, path, query and body (two POSTs to one URL are told apart by
their bodies). Secrets are scrubbed before anything is written: credential
headers (request and response, compared case-insensitively), credential query
parameters, and credential keys in JSON bodies both ways.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"

SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"})
SECRET_KEYS = frozenset(
    {"key", "token", "access_token", "refresh_token", "apikey", "api_key", "password", "secret"}
)

TOKEN_SHAPES = (
    re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*"),  # a JWT
    re.compile(r"\b(?:Bearer|Token)\s+(?!REDACTED\b)[\w.~+/=-]{8,}"),  # a credential header value
    re.compile(r"\b[0-9a-f]{32,}\b"),  # a long hex key
)
"""What a credential looks like; the cassette scan fails on any match."""


def vcr_config(record_mode: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR`` (or pytest-recording's ``vcr_config`` fixture)."""
    config: dict[str, Any] = {
        "match_on": ("method", "scheme", "host", "port", "path", "query", "body"),
        "filter_headers": [(name, REDACTED) for name in sorted(SECRET_HEADERS)],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
    }
    if record_mode:
        config["record_mode"] = record_mode
    return config


def scrub_request(request: Any) -> Any:
    """Remove secrets from a vcrpy request before it is recorded (or matched)."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            request.headers[name] = REDACTED
    request.uri = _scrub_url(request.uri)
    if request.body:
        request.body = scrub_body(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Remove secrets from a vcrpy response dict before it is recorded."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [REDACTED]
    body = response.get("body", {})
    if body.get("string"):
        body["string"] = scrub_body(body["string"])
    return response


def scrub_body(body: bytes | str) -> bytes | str:
    """A JSON body with the values of credential keys replaced; other bodies unchanged."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return body
    cleaned = json.dumps(_scrub_json(data))
    return cleaned.encode() if isinstance(body, bytes) else cleaned


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k.lower() in SECRET_KEYS and isinstance(v, str) else _scrub_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _scrub_url(uri: str) -> str:
    parts = urlsplit(uri)
    if not parts.query:
        return uri
    query = [(k, REDACTED if k.lower() in SECRET_KEYS else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def find_secrets(text: str) -> list[str]:
    """Every token-shaped string in ``text``."""
    return [m.group(0) for shape in TOKEN_SHAPES for m in shape.finditer(text)]
