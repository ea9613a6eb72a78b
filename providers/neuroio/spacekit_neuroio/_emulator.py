"""A strict, stateful emulator of NeuroIO's IAM spaces API, from providers.md.

It serves what the official SDK calls (and only that): ``/v1/spaces/`` (list,
create), ``/v1/spaces/{id}/`` (get, PATCH or PUT ``{"name"}``, delete),
``/v1/spaces/{id}/tokens/`` and the unpaginated ``/v1/lists/spaces/``. It is strict
where the documentation is: ``Authorization: Token <key>`` is required, every
path ends with ``/`` (a missing slash is 404), names are non-blank strings of at
most 255 characters, unknown body fields are refused with 400 ``"Validation
error."``, a space may hold at most five permanent tokens, and temporary tokens
expire 24 hours after the emulator's clock issued them. Every error uses
NeuroIO's envelope ``{"error_codes", "message", "fields"}``.

Where the documentation is silent the emulator makes a choice and says so here:
pages are ``{"count", "next", "previous", "results"}`` with absolute URLs, 20
spaces by default and at most 100 (a larger ``limit`` is cut to 100, as Django
REST framework does; a non-numeric or non-positive ``limit`` or a negative
``offset`` is 400); ``q`` keeps names containing it, ignoring case; the full list
``/v1/lists/spaces/`` is a bare array of every space and refuses any query
parameter with 400 (it is neither paginated nor filtered, and an adapter that
thinks otherwise would miss spaces without noticing); the
``default`` space (id 1) cannot be deleted (400), since the service promises it
always exists.

Its snapshot (``GET /_spacekit/spaces``, a state file) holds the spaces, the tokens
issued without their keys (enough to count a space's permanent tokens), and the
next ids.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeGuard
from urllib.parse import urlencode

import httpx

from spacekit.testing import Emulator, Router, json_response

MAX_NAME = 255
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_PERMANENT_TOKENS = 5
TOKEN_LIFETIME = timedelta(hours=24)

# Our own numbering: NeuroIO publishes no list of error codes.
VALIDATION, AUTHENTICATION, NOT_FOUND, TOKEN_LIMIT, PROTECTED = 1000, 1001, 1004, 1010, 1011
THROTTLED, UNAVAILABLE = 1029, 1050
REQUIRED, INVALID, BLANK, TOO_LONG, UNKNOWN = 2001, 2002, 2003, 2004, 2005

_NUMERIC = re.compile(r"[0-9]{1,18}")


class Refused(Exception):
    """An answer in NeuroIO's error envelope, raised from anywhere in a handler."""

    def __init__(
        self, status: int, message: str, code: int, fields: Iterable[tuple[str, str, int]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {
            "error_codes": [code],
            "message": message,
            "fields": [{"name": n, "message": m, "error_code": c} for n, m, c in fields],
        }


def _invalid(field: str, message: str, code: int) -> Refused:
    return Refused(400, "Validation error.", VALIDATION, [(field, message, code)])


class NeuroIOEmulator(Emulator):
    """NeuroIO's spaces on the IAM service, in memory."""

    provider = "neuroio"
    router = Router()
    #: the largest page served; a larger ``limit`` is cut to it (tests lower it)
    max_limit = MAX_LIMIT
    #: whether ``GET /v1/lists/spaces/`` is served; False answers it 404, as a
    #: deployment without it would (tests turn it off to exercise paging)
    serves_full_list = True

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token or f"neuroio-emulator-{secrets.token_urlsafe(18)}"
        self.spaces: dict[int, dict[str, Any]] = {}
        #: tokens issued, by space id: the token object plus whether it is permanent
        self.tokens: dict[int, list[tuple[dict[str, Any], bool]]] = {}
        self._next_space_id = 1
        self._next_token_id = 1
        self.add_space("default")

    def connect_settings(self, base_url: str) -> dict[str, Any]:
        return {"token": self.token, "base_url": base_url}

    def set_credential(self, credential: str) -> None:
        self.token = credential

    def add_space(self, name: str) -> dict[str, Any]:
        """Put a space straight into the state (for seeding large tests); returns it."""
        with self.lock:
            space_id = self._next_space_id
            self._next_space_id += 1
            space: dict[str, Any] = {"id": space_id, "name": name}
            self.spaces[space_id] = space
            return space

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "spaces": [dict(space) for space in self.spaces.values()],
                "tokens": [
                    {"space": key, "permanent": permanent, **{k: v for k, v in token.items() if k != "key"}}
                    for key, issued in self.tokens.items()
                    for token, permanent in issued
                ],
                "next_space_id": self._next_space_id,
                "next_token_id": self._next_token_id,
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        listed = _items(snapshot, "spaces", _is_space)
        spaces = {space["id"]: dict(space) for space in listed}
        if len(spaces) != len(listed):
            raise ValueError("two spaces have the same id")
        if 1 not in spaces:
            raise ValueError("the default space (id 1) is missing, and the service promises it")
        tokens: dict[int, list[tuple[dict[str, Any], bool]]] = {}
        for token in _items(snapshot, "tokens", _is_token):
            if token["space"] not in spaces:
                raise ValueError(f"a token of space {token['space']}, which is not in the state")
            kept = {k: v for k, v in token.items() if k not in ("space", "permanent")}
            tokens.setdefault(token["space"], []).append((kept, token["permanent"]))
        next_space, next_token = snapshot.get("next_space_id"), snapshot.get("next_token_id")
        if not (_is_id(next_space) and _is_id(next_token)):
            raise ValueError("next_space_id and next_token_id must be positive whole numbers")
        if max(spaces) >= next_space:
            raise ValueError("next_space_id must be above every space's id")
        with self.lock:
            self.spaces, self.tokens = spaces, tokens
            self._next_space_id, self._next_token_id = next_space, next_token

    def error_response(self, status: int, message: str) -> httpx.Response:
        codes = {400: VALIDATION, 401: AUTHENTICATION, 404: NOT_FOUND, 429: THROTTLED}
        return json_response(status, Refused(status, message, codes.get(status, UNAVAILABLE)).body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            if request.headers.get("Authorization") != f"Token {self.token}":
                raise Refused(401, "Invalid token.", AUTHENTICATION)
            response = self.router.dispatch(self, request)
            if response is None:
                raise Refused(404, "Not found.", NOT_FOUND)
            return response
        except Refused as refused:
            return json_response(refused.status, refused.body)

    def page_body(
        self, request: httpx.Request, page: list[dict[str, Any]], count: int, limit: int, offset: int
    ) -> Any:
        """The JSON of one page of the list; tests override it to try other envelopes."""
        return {
            "count": count,
            "next": _page_url(request, limit, offset + limit) if offset + limit < count else None,
            "previous": _page_url(request, limit, max(0, offset - limit)) if offset > 0 else None,
            "results": page,
        }

    def full_list_body(self, request: httpx.Request, spaces: list[dict[str, Any]]) -> Any:
        """The JSON of the full list (a bare array); tests override it to try envelopes."""
        return spaces

    # -- spaces -------------------------------------------------------------------------

    @router.route("GET", r"/v1/spaces/")
    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        limit = min(_number(params, "limit", DEFAULT_LIMIT, minimum=1), self.max_limit)
        offset = _number(params, "offset", 0, minimum=0)
        query = params.get("q", "").casefold()
        if query:
            matching = [s for s in self.spaces.values() if query in s["name"].casefold()]
        else:
            matching = list(self.spaces.values())
        page = [dict(s) for s in matching[offset : offset + limit]]
        return json_response(200, self.page_body(request, page, len(matching), limit, offset))

    @router.route("GET", r"/v1/whoami/")
    def _whoami(self, request: httpx.Request) -> httpx.Response:
        # The real shape is unpublished: the caller's identity, as some object.
        return json_response(200, {"id": 1, "username": "emulator", "token_type": "account"})

    @router.route("GET", r"/v1/lists/spaces/")
    def _full_list(self, request: httpx.Request) -> httpx.Response:
        if not self.serves_full_list:
            raise Refused(404, "Not found.", NOT_FOUND)
        unknown = sorted(request.url.params.keys())
        if unknown:  # an adapter that pages or filters here would miss spaces silently
            raise Refused(
                400,
                "Validation error.",
                VALIDATION,
                [
                    (key, "Unknown parameter: this list is neither paginated nor filtered.", UNKNOWN)
                    for key in unknown
                ],
            )
        return json_response(200, self.full_list_body(request, [dict(s) for s in self.spaces.values()]))

    @router.route("POST", r"/v1/spaces/")
    def _create(self, request: httpx.Request) -> httpx.Response:
        body = _json_object(request, allowed={"name"})
        return json_response(201, dict(self.add_space(_name(body))))

    @router.route("GET", r"/v1/spaces/(?P<sid>[^/]+)/")
    def _get(self, request: httpx.Request, sid: str) -> httpx.Response:
        return json_response(200, dict(self._space(sid)))

    @router.route("PATCH", r"/v1/spaces/(?P<sid>[^/]+)/")
    def _patch(self, request: httpx.Request, sid: str) -> httpx.Response:
        space = self._space(sid)
        body = _json_object(request, allowed={"name"})
        if "name" in body:
            space["name"] = _name(body)
        return json_response(200, dict(space))

    @router.route("PUT", r"/v1/spaces/(?P<sid>[^/]+)/")
    def _put(self, request: httpx.Request, sid: str) -> httpx.Response:
        space = self._space(sid)
        space["name"] = _name(_json_object(request, allowed={"name"}))
        return json_response(200, dict(space))

    @router.route("DELETE", r"/v1/spaces/(?P<sid>[^/]+)/")
    def _delete(self, request: httpx.Request, sid: str) -> httpx.Response:
        key = self._key(sid)
        if key == 1:
            raise Refused(400, "The default space cannot be deleted.", PROTECTED)
        del self.spaces[key]
        self.tokens.pop(key, None)
        return httpx.Response(204)

    @router.route("POST", r"/v1/spaces/(?P<sid>[^/]+)/tokens/")
    def _token(self, request: httpx.Request, sid: str) -> httpx.Response:
        key = self._key(sid)
        permanent = _json_object(request, allowed={"permanent"}).get("permanent", False)
        if not isinstance(permanent, bool):
            raise _invalid("permanent", "Must be a valid boolean.", INVALID)
        issued = self.tokens.setdefault(key, [])
        if permanent and sum(1 for _, kept in issued if kept) >= MAX_PERMANENT_TOKENS:
            raise Refused(
                400, f"A space can have at most {MAX_PERMANENT_TOKENS} permanent tokens.", TOKEN_LIMIT
            )
        now = self.clock.now()
        token_id, self._next_token_id = self._next_token_id, self._next_token_id + 1
        token = {
            "id": token_id,
            "key": secrets.token_hex(20),
            "is_active": True,
            "created": _iso(now),
            "expires": None if permanent else _iso(now + TOKEN_LIFETIME),
        }
        issued.append((token, permanent))
        return json_response(201, token)

    def _key(self, sid: str) -> int:
        """The key of a space in ``spaces`` (not its payload's ``id``, which tests may retype)."""
        if not _NUMERIC.fullmatch(sid) or int(sid) not in self.spaces:
            raise Refused(404, "Not found.", NOT_FOUND)
        return int(sid)

    def _space(self, sid: str) -> dict[str, Any]:
        return self.spaces[self._key(sid)]


# -- reading snapshots ------------------------------------------------------------------


def _items(snapshot: Mapping[str, Any], key: str, valid: Callable[[Any], bool]) -> list[dict[str, Any]]:
    items = snapshot.get(key)
    if not isinstance(items, list):
        raise ValueError(f"{key} must be a list")
    for item in items:
        if not valid(item):
            raise ValueError(f"not a valid entry of {key}: {json.dumps(item)[:200]}")
    return items


def _is_id(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_space(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and _is_id(item.get("id"))
        and isinstance(item.get("name"), str)
        and bool(item["name"].strip())
        and len(item["name"]) <= MAX_NAME
    )


def _is_token(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and _is_id(item.get("space"))
        and _is_id(item.get("id"))
        and isinstance(item.get("permanent"), bool)
    )


# -- reading requests ---------------------------------------------------------------------


def _json_object(request: httpx.Request, *, allowed: set[str]) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "JSON parse error.", VALIDATION) from None
    if not isinstance(body, dict):
        raise Refused(
            400, "Validation error.", VALIDATION, [("non_field_errors", "Expected an object.", INVALID)]
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Refused(400, "Validation error.", VALIDATION, [(k, "Unknown field.", UNKNOWN) for k in unknown])
    return body


def _name(body: Mapping[str, Any]) -> str:
    if "name" not in body:
        raise _invalid("name", "This field is required.", REQUIRED)
    name = body["name"]
    if not isinstance(name, str):
        raise _invalid("name", "Not a valid string.", INVALID)
    if not name.strip():
        raise _invalid("name", "This field may not be blank.", BLANK)
    if len(name) > MAX_NAME:
        raise _invalid("name", f"Ensure this field has no more than {MAX_NAME} characters.", TOO_LONG)
    return name


def _number(params: httpx.QueryParams, key: str, default: int, *, minimum: int) -> int:
    text = params.get(key)
    if text is None:
        return default
    if not _NUMERIC.fullmatch(text) or int(text) < minimum:
        raise _invalid(key, f"Must be an integer of at least {minimum}.", INVALID)
    return int(text)


def _page_url(request: httpx.Request, limit: int, offset: int) -> str:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    query = request.url.params.get("q")
    if query:
        params["q"] = query
    return str(request.url.copy_with(query=urlencode(params).encode()))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
