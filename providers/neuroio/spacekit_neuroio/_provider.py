"""NeuroIO's IAM spaces API, described without I/O for spacekit's HTTP engine.

What is sent follows the documentation exactly (``Authorization: Token <key>``,
paths with their trailing slash, ``PATCH`` with ``{"name"}``); what is read is
taken liberally: ids as numbers or strings, extra keys kept in ``raw``, and the
three list envelopes seen in the wild (``{"count", "next", "previous",
"results"}``, ``{"count", "results"}`` and a bare array), error bodies in
NeuroIO's envelope or Django REST framework's (``{"detail"}``, field lists).
Where the service's own rules are unpublished the plugin settles them: ``q``
results are narrowed to names containing the query (ignoring case), an update
refused with 405 is sent again as PUT (as the JS SDK does), and an empty update
answer is read back.

Listing without a query is one request, ``GET /v1/lists/spaces/`` (every space,
unpaginated), read one space at a time so that memory does not grow with the
account; where that list is refused (404, 405, 403...) or unreadable before its
first space, the store lists by pages from then on. Listing with a query pages
through ``GET /v1/spaces/?q=``, 100 at a time.

NeuroIO spaces have an id and a name, nothing else (``writable_fields`` says so).
A description given to ``create`` or ``update`` is treated alike: left out of the
request, with a ``spacekit.FieldDroppedWarning`` from the store saying so (as for
every store whose ``writable_fields`` lack it). An update that changes only the
description sends nothing and reads the space back. Migrations ask
``writable_fields`` first and report the description as lost.

``check()`` reads ``GET /v1/whoami/`` (the caller's identity); ``request()`` sends
any other call of the API with the store's token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from spacekit import (
    Capability,
    ProtocolError,
    ProviderError,
    Space,
    SpacekitError,
    SpaceToken,
)
from spacekit.plugin import (
    ListOperation,
    Operation,
    Provider,
    Request,
    Response,
    Setting,
    error_for_status,
    field_errors,
    load_json,
    parse_datetime,
    quote_id,
)

from ._wire import FullList

log = logging.getLogger("spacekit.neuroio")

PAGE_SIZE = 100
"""Spaces asked for per page. No maximum is published; the offset advances by what
actually came back, so a server that caps pages lower is still read in full."""

SPACES = "/v1/spaces/"
FULL_LIST = "/v1/lists/spaces/"
#: statuses that say the full list is not served here: pages are asked for instead
REFUSALS = frozenset({400, 403, 404, 405, 406, 410, 413, 414, 422, 501})
WHOAMI = "/v1/whoami/"


class NeuroIOProvider(Provider):
    """NeuroIO spaces on the IAM service."""

    name = "neuroio"
    capabilities = frozenset(
        {
            Capability.LIST,
            Capability.SEARCH,
            Capability.GET,
            Capability.CREATE,
            Capability.UPDATE,
            Capability.DELETE,
            Capability.TOKENS,
            Capability.REQUEST,
        }
    )
    default_base_url = "https://iam.neuroio.com"
    settings: ClassVar[Mapping[str, Setting]] = {
        "token": Setting("token", required=True, secret=True, help="a NeuroIO API token"),
    }
    writable_fields = frozenset({"name"})

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        #: set once the full list was refused: this store then lists by pages only
        self._pages_only = False

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Token {self.config['token']}"}

    def error(self, response: Response) -> SpacekitError:
        """Read NeuroIO's envelope: ``{"error_codes", "message", "fields": [...]}``."""
        message, fields = _envelope(response)
        where = f"{response.request.method} {response.request.path.split('?')[0]}"
        return error_for_status(
            response.status,
            f"{where}: {message}" if message else f"{where} failed",
            provider=self.name,
            body=response.text,
            fields=fields,
            request_id=response.headers.get("x-request-id"),
        )

    # -- operations -------------------------------------------------------------------

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        needle = query.casefold() if query else None
        offset: int | None = 0
        if not query and not self._pages_only:
            offset = yield from self._full_list()
        if offset is not None:
            yield from self._pages(query, needle, offset)

    def _full_list(self) -> Generator[Request | Space, Response | None, int | None]:
        """Every space from ``GET /v1/lists/spaces/``, read one at a time; returns None
        when that was all, else the offset the paged listing goes on from (0 when the
        full list is refused, and this store then asks for pages only)."""
        try:
            response = yield Request("GET", FULL_LIST)
        except SpacekitError as exc:
            status = getattr(exc, "status", None)
            if not isinstance(exc, ProtocolError) and status not in REFUSALS:
                raise  # a bad token, an outage, a rate limit: pages would fare no better
            log.info("GET %s refused (%s); listing page by page", FULL_LIST, status or type(exc).__name__)
            self._pages_only = True
            return 0
        assert response is not None  # the engine answers every request it is given
        listing = FullList(response)
        given = 0
        try:
            for item in listing.items():
                given += 1
                yield self._parse(response, item)
        except ProtocolError:
            if given:
                raise
            log.info("GET %s answered no list; listing page by page", FULL_LIST)
            self._pages_only = True
            return 0
        if listing.complete(given):
            return None
        # A first page after all (an envelope with a next page): the rest by pages.
        return given

    def _pages(self, query: str | None, needle: str | None, offset: int) -> ListOperation:
        while True:
            params = {"limit": str(PAGE_SIZE), "offset": str(offset)}
            if query:
                params["q"] = query
            response = yield Request("GET", SPACES, params=params)
            assert response is not None  # the engine answers every request it is given
            items, has_more = _read_page(response)
            for item in items:
                space = self._parse(response, item)
                if _matches(space, needle):
                    yield space
            offset += len(items)
            if not items or not has_more(offset):
                return

    def get(self, space_id: str) -> Operation[Space]:
        response = yield Request("GET", _space_path(space_id))
        return self._parse(response, response.json())

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        response = yield Request("POST", SPACES, json={"name": name})
        return self._parse(response, response.json())

    def check(self) -> Operation[None]:
        yield Request("GET", WHOAMI)  # any 2xx: the shape of the answer is unpublished

    def update(self, space_id: str, changes: Mapping[str, Any]) -> Operation[Space]:
        path = _space_path(space_id)
        if "name" not in changes:  # a description NeuroIO cannot hold changes nothing
            return (yield from self.get(space_id))
        body = {"name": changes["name"]}
        try:
            response = yield Request("PATCH", path, json=body)
        except ProviderError as exc:
            if exc.status != 405:
                raise
            # A service that takes updates as the JS SDK sends them: PUT, the same body.
            response = yield Request("PUT", path, json=body)
        if not response.content.strip():  # a 204: the change is made, read it back
            return (yield from self.get(space_id))
        return self._parse(response, response.json())

    def delete(self, space_id: str) -> Operation[None]:
        yield Request("DELETE", _space_path(space_id))  # any 2xx will do: 204, or 202 in the SDK's mocks

    def protected(self, space: Space) -> str | None:
        if space.name == "default":  # documented: a space named default always exists
            return "NeuroIO's default space always exists"
        return super().protected(space)

    def create_token(self, space_id: str, permanent: bool) -> Operation[SpaceToken]:
        path = f"{_space_path(space_id)}tokens/"
        response = yield Request("POST", path, json={"permanent": permanent})
        try:
            return parse_token(load_json(response.content), space_id, permanent)
        except ValueError as exc:
            # Not response.protocol_error: the body would carry the new token's key.
            raise ProtocolError(
                f"POST {path}: unreadable token answer ({exc.__class__.__name__})",
                provider=self.name,
                status=response.status,
            ) from None

    def _parse(self, response: Response, item: object) -> Space:
        try:
            return parse_space(item, provider=self.name)
        except ValueError as exc:
            raise response.protocol_error(str(exc)) from None


def _matches(space: Space, needle: str | None) -> bool:
    """Whether a space answers ``query`` as every store reads it: its name contains it,
    ignoring case. ``q``'s own rule is unpublished (a search filter may split terms)."""
    return needle is None or needle in space.name.casefold()


def _space_path(space_id: str) -> str:
    return f"{SPACES}{quote_id(space_id)}/"


# -- reading what comes back ----------------------------------------------------------


def parse_space(item: object, *, provider: str = "neuroio") -> Space:
    """A NeuroIO space object as a ``Space``; ``ValueError`` if it is not one."""
    if not isinstance(item, Mapping):
        raise ValueError(f"a space must be a JSON object, not {type(item).__name__}")
    name = item.get("name")
    if not isinstance(name, str):
        raise ValueError("a space needs a string 'name'")
    return Space(provider=provider, id=_identifier(item.get("id"), "space"), name=name, raw=item)


def parse_token(item: object, space_id: str, permanent: bool) -> SpaceToken:
    """A token object ``{id, key, is_active, created, expires}`` as a ``SpaceToken``.

    Only ``key`` is required; other keys may be missing or unreadable (kept in ``raw``).
    """
    if not isinstance(item, Mapping):
        raise ValueError(f"a token must be a JSON object, not {type(item).__name__}")
    key = item.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("a token needs a string 'key'")
    active = item.get("is_active")
    said_permanent = item.get("permanent")
    token_id = item.get("id")
    return SpaceToken(
        # The key is what matters: a token without a readable id is still usable.
        id=str(token_id) if isinstance(token_id, (int, str)) and not isinstance(token_id, bool) else "",
        space_id=space_id,
        key=key,
        permanent=said_permanent if isinstance(said_permanent, bool) else permanent,
        is_active=active if isinstance(active, bool) else None,
        created_at=_moment(item.get("created")),
        expires_at=_moment(item.get("expires")),
        raw=item,
    )


def _moment(value: object) -> datetime | None:
    """An ISO 8601 timestamp, or epoch seconds; anything unreadable stays in ``raw`` only."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _identifier(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
        raise ValueError(f"a {what} needs an 'id' (a number or a string)")
    return str(value)


def _envelope(response: Response) -> tuple[str, dict[str, str]]:
    """The message and field errors of an error body, where it has NeuroIO's shape."""
    try:
        body = response.json()
    except SpacekitError:  # an HTML error page, say: the status alone says enough
        return "", {}
    if not isinstance(body, Mapping):
        return "", {}
    words = [body.get(key) for key in ("message", "detail", "error")]
    message = next((w for w in words if isinstance(w, str)), "")
    fields = body.get("fields")
    details = field_errors(fields) if isinstance(fields, list) else _framework_fields(body)
    if details:
        message = f"{message} " + "; ".join(f"{k}: {v}" for k, v in details.items())
    return str(message).strip(), details


def _framework_fields(body: Mapping[str, Any]) -> dict[str, str]:
    """Django REST framework's own shape, ``{"name": ["This field may not be blank."]}``."""
    return {
        str(key): "; ".join(value)
        for key, value in body.items()
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    }


def _read_page(response: Response) -> tuple[list[Any], Callable[[int], bool]]:
    """A page's items, and a test ``has_more(next_offset)`` fitting its envelope."""
    body = response.json()
    if isinstance(body, list):  # a bare array: read on until an empty page
        return body, lambda _next: True
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise response.protocol_error("a page of spaces must be a list or an object with 'results'")
    items: list[Any] = body["results"]
    if "next" in body:
        if body["next"] is not None and not isinstance(body["next"], str):
            raise response.protocol_error("'next' must be a URL or null")
        more = body["next"] is not None
        return items, lambda _next: more
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise response.protocol_error("a page without 'next' needs an integer 'count'")
    return items, lambda next_offset: next_offset < count
