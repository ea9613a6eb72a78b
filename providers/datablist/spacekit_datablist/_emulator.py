"""A strict, stateful emulator of Datablist's workspace API and its token exchange.

Written from the docs (see ``providers.md``), rejecting what they say is rejected:

- ``POST /token`` with exactly ``{"apiKey"}`` answers a JWT-shaped token (three
  base64url parts, signed, with ``exp``) plus ``expires_in`` and ``expires_at``; an
  unknown key is 401. Tokens expire by the emulator's clock (``clock.advance``).
- Every request must accept ``application/json`` or ``application/ld+json`` (else
  406) and a body must be sent as one of them (else 415).
- A missing, unknown, expired or revoked token is 401.
- ``POST /`` needs exactly ``{"name": non-empty string, "@type": "Workspace"}``;
  ``PATCH /{id}`` only known fields, ``PUT /{id}`` the whole object: anything else
  is 400 with ``{"code", "message"}``. PATCH, PUT and DELETE answer 204 with an empty
  body; an unknown id is 404. Timestamps carry no offset, as in the docs.
- Without the privilege (``privileged = False``) create and delete answer 403.

Both hosts are one emulator. In-process the transport sees each full URL: the token
exchange is served on any host but the data host, workspaces on any host but the
account host. On loopback both URLs point at the same port.

Its snapshot (``GET /_spacekit/spaces``, a state file) is the workspaces, under
``"spaces"``; access tokens are not kept (a client exchanges its key again after a
restart, as it would after expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

import httpx

from spacekit.testing import Emulator, Router, json_response

API_KEY = "datablist-emulator-api-key-7Q2xLm"
USER_ID = "auth0|5f0476c976004400139bb58a"
DATA_HOST = "data.datablist.com"
AUTH_HOST = "account.datablist.com"
#: the docs elide the JSON-LD context ("{...}"); it is left empty here rather than invented
CONTEXT: Mapping[str, Any] = {}
MEDIA_TYPES = frozenset({"application/json", "application/ld+json"})
ID_ALPHABET = string.ascii_letters + string.digits

#: the docs' "Retrieve a workspace" example, made valid JSON
DOCUMENTED_WORKSPACE: Mapping[str, Any] = {
    "@id": "xbDsSfcswWPoYnUN8vJ",
    "@type": "Workspace",
    "user_id": "auth0|5f04po976078900139bb58a",
    "name": "Acme Workspace",
    "createdAt": "2020-07-08T09:31:10.303945",
    "updatedAt": "2020-07-08T09:31:10.303961",
}
#: the docs' "List all workspaces" item (it has no @type in the list)
DOCUMENTED_LIST_ITEM: Mapping[str, Any] = {
    "@id": "xbDnos4GHeCO7YnUN8vJ",
    "@type": "Workspace",
    "user_id": "auth0|5f0476c976004400139bb58a",
    "name": "Acme Workspace",
    "createdAt": "2020-07-08T09:31:10.303945",
    "updatedAt": "2020-07-08T09:31:10.303961",
}


def _error(status: int, code: str, message: str) -> httpx.Response:
    return json_response(status, {"code": code, "message": message})


class _Refused(Exception):
    """Raised by a handler to answer an error at once."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _media_types(value: str) -> set[str]:
    return {part.split(";", 1)[0].strip().lower() for part in value.split(",") if part.strip()}


class DatablistEmulator(Emulator):
    """Datablist's workspaces and token exchange, in memory."""

    provider = "datablist"
    router = Router()

    def __init__(self) -> None:
        super().__init__()
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.api_key = API_KEY
        self.api_keys: dict[str, str] = {API_KEY: USER_ID}
        self.privileged = True
        self.token_lifetime = 86400
        self._signing_key = secrets.token_bytes(32)
        self._serial = itertools.count(1)
        self._revoked_below = 0
        self._caller = ""

    def connect_settings(self, base_url: str) -> dict[str, Any]:
        return {"api_key": self.api_key, "base_url": base_url, "auth_url": base_url}

    def set_credential(self, credential: str) -> None:
        with self.lock:
            self.api_keys = {credential: USER_ID}
            self.api_key = credential

    # -- for tests --------------------------------------------------------------------

    def add_workspace(self, name: str, **fields: Any) -> dict[str, Any]:
        """Store a workspace directly (fields override the defaults); return it."""
        now = self._timestamp()
        item = {"@id": self._new_id(), "@type": "Workspace", "user_id": USER_ID, "name": name}
        item.update({"createdAt": now, "updatedAt": now, **fields})
        with self.lock:
            self.workspaces[item["@id"]] = item
        return item

    def add_space(self, name: str) -> dict[str, Any]:
        """A workspace named ``name`` (what ``seed_spaces`` adds)."""
        return self.add_workspace(name)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"spaces": [dict(item) for item in self.workspaces.values()]}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        items = snapshot.get("spaces")
        if not isinstance(items, list) or not all(_is_workspace(item) for item in items):
            raise ValueError('spaces must be a list of workspaces, each with a string "@id" and "name"')
        restored = {item["@id"]: dict(item) for item in items}
        if len(restored) != len(items):
            raise ValueError('two workspaces have the same "@id"')
        with self.lock:
            self.workspaces = restored

    def error_response(self, status: int, message: str) -> httpx.Response:
        codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
        return _error(status, codes.get(status, "too_many_requests" if status == 429 else "error"), message)

    def revoke_tokens(self) -> None:
        """Every token issued so far answers 401 from now on."""
        with self.lock:
            self._revoked_below = next(self._serial)

    def token_exchanges(self) -> int:
        """How many token exchanges the emulator has seen."""
        return sum(1 for r in self.requests if r.method == "POST" and r.path == "/token")

    # -- the API ----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        path = request.url.raw_path.split(b"?", 1)[0]
        refusal = self._negotiate(request)
        if refusal is not None:
            return refusal
        if request.method == "POST" and path == b"/token" and host != DATA_HOST:
            return self._exchange(request)
        if host == AUTH_HOST:
            return _error(404, "not_found", "no such path")
        refusal = self._authorize(request)
        if refusal is not None:
            return refusal
        try:
            return self.router.dispatch(self, request) or _error(404, "not_found", "no such path")
        except _Refused as refused:
            return refused.response

    def _negotiate(self, request: httpx.Request) -> httpx.Response | None:
        if not _media_types(request.headers.get("Accept", "")) & MEDIA_TYPES:
            return _error(406, "not_acceptable", "Accept must be application/json or application/ld+json")
        content_type = request.headers.get("Content-Type")
        if (request.content or content_type) and not _media_types(content_type or "") & MEDIA_TYPES:
            return _error(415, "unsupported_media_type", "send application/json or application/ld+json")
        return None

    def _exchange(self, request: httpx.Request) -> httpx.Response:
        try:
            body = _json_object(request)
        except _Refused as refused:
            return refused.response
        if set(body) != {"apiKey"} or not isinstance(body["apiKey"], str):
            return _bad('the body must be exactly {"apiKey": "<your API key>"}')
        user_id = self.api_keys.get(body["apiKey"])
        if user_id is None:
            return _error(401, "invalid_api_key", "unknown API key")
        issued = int(self.clock.time())
        expires = issued + int(self.token_lifetime)
        claims = {"sub": user_id, "iat": issued, "exp": expires, "jti": next(self._serial)}
        return json_response(
            200,
            {
                "access_token": self._sign(claims),
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime),
                "expires_at": expires,
                "account_id": "acc-" + user_id.rsplit("|", 1)[-1][:12],
                "user_id": user_id,
                "scope": "data:read data:write",
            },
        )

    def _sign(self, claims: Mapping[str, Any]) -> str:
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._signing_key, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        return f"{head}.{payload}.{_b64(signature)}"

    def _authorize(self, request: httpx.Request) -> httpx.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        claims = self._verify(token) if scheme == "Bearer" else None
        if claims is None:
            return _error(401, "unauthorized", "a valid access token is required")
        if claims["exp"] <= self.clock.time():
            return _error(401, "token_expired", "the access token has expired")
        if claims["jti"] < self._revoked_below:
            return _error(401, "unauthorized", "the access token was revoked")
        self._caller = str(claims["sub"])
        return None

    def _verify(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self._signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(parts[2]), expected):
                return None
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    # -- workspaces -------------------------------------------------------------------

    @router.route("GET", r"/")
    def _list(self, request: httpx.Request) -> httpx.Response:
        items = [{k: v for k, v in w.items() if k != "@type"} for w in self.workspaces.values()]
        return json_response(200, {"@context": dict(CONTEXT), "data": items})

    @router.route("POST", r"/")
    def _create(self, request: httpx.Request) -> httpx.Response:
        if not self.privileged:
            return _forbidden("creating")
        body = _checked(request, required={"name", "@type"}, types={"Workspace"})
        item = self.add_workspace(body["name"], user_id=self._caller)
        return json_response(201, {"@id": item["@id"]})

    @router.route("GET", r"/(?P<wid>[^/]+)")
    def _get(self, request: httpx.Request, wid: str) -> httpx.Response:
        item = self.workspaces.get(wid)
        if item is None:
            return _missing(wid)
        return json_response(200, {"@context": dict(CONTEXT), **item})

    @router.route("PATCH", r"/(?P<wid>[^/]+)")
    def _patch(self, request: httpx.Request, wid: str) -> httpx.Response:
        body = _checked(request, allowed={"name"})
        if not body:
            return _bad("send at least one field to change")
        return self._apply(wid, body)

    @router.route("PUT", r"/(?P<wid>[^/]+)")
    def _put(self, request: httpx.Request, wid: str) -> httpx.Response:
        # The docs' own PUT example says "@type": "Space"; both are taken.
        body = _checked(request, required={"name", "@type"}, types={"Workspace", "Space"})
        return self._apply(wid, {"name": body["name"]})

    @router.route("DELETE", r"/(?P<wid>[^/]+)")
    def _delete(self, request: httpx.Request, wid: str) -> httpx.Response:
        if not self.privileged:
            return _forbidden("deleting")
        if self.workspaces.pop(wid, None) is None:
            return _missing(wid)
        return httpx.Response(204)

    def _apply(self, wid: str, changes: Mapping[str, Any]) -> httpx.Response:
        item = self.workspaces.get(wid)
        if item is None:
            return _missing(wid)
        item.update(changes)
        item["updatedAt"] = self._timestamp()
        return httpx.Response(204)

    def _timestamp(self) -> str:
        return self.clock.now().replace(tzinfo=None).isoformat(timespec="microseconds")

    def _new_id(self) -> str:
        while True:
            candidate = "".join(secrets.choice(ID_ALPHABET) for _ in range(19))
            if candidate not in self.workspaces:
                return candidate


def _is_workspace(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and all(isinstance(item.get(key), str) for key in ("@id", "@type", "name", "user_id"))
        and bool(item["@id"])
        and "/" not in item["@id"]
    )


def _json_object(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise _Refused(_bad("the body must be a JSON object"))
    return body


def _checked(
    request: httpx.Request,
    *,
    required: frozenset[str] | set[str] = frozenset(),
    allowed: frozenset[str] | set[str] = frozenset(),
    types: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """The body, if it has every required field, no unknown one, and valid values; else 400."""
    body = _json_object(request)
    extra = set(body) - set(required) - set(allowed)
    if extra:
        raise _Refused(_bad(f"unknown field(s): {', '.join(sorted(extra))}"))
    missing = set(required) - set(body)
    if missing:
        raise _Refused(_bad(f"missing field(s): {', '.join(sorted(missing))}"))
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        raise _Refused(_bad("name must be a non-empty string"))
    if "@type" in body and body["@type"] not in types:
        raise _Refused(_bad(f"@type must be one of: {', '.join(sorted(types))}"))
    return body


def _bad(message: str) -> httpx.Response:
    return _error(400, "bad_request", message)


def _missing(wid: str) -> httpx.Response:
    return _error(404, "not_found", f"no workspace {wid!r}")


def _forbidden(action: str) -> httpx.Response:
    return _error(
        403, "forbidden", f"{action} workspaces through the API requires a special privilege; contact us"
    )
