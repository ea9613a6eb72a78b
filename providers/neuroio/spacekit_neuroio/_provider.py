"""NeuroIO's IAM spaces API, described without I/O for spacekit's HTTP engine.

What is sent follows the documentation exactly (``Authorization: Token <key>``,
paths with their trailing slash, ``PATCH`` with ``{"name"}``); what is read is
taken liberally: ids as numbers or strings, extra keys kept in ``raw``, and the
three list envelopes seen in the wild (``{"count", "next", "previous",
"results"}``, ``{"count", "results"}`` and a bare array), error bodies in
NeuroIO's envelope or Django REST framework's (``{"detail"}``, field lists).
Where the service's own rules are unpublished the plugin settles them: ``q``
results are narrowed to names containing the query (ignoring case, by the listing
guard every store passes through), an update
refused with 405 is sent again as PUT (as the JS SDK does), and an empty update
answer is read back.

Listing without a query is one request, ``GET /v1/lists/spaces/`` (every space,
unpaginated), read one space at a time so that memory does not grow with the
account; where that list is refused (404, 405, 403...) or unreadable before its
first space, the store lists by pages from then on. Listing with a query pages
through ``GET /v1/spaces/?q=``, 100 at a time.

Pages are asked for one at a time until one tells the ``count``; from then on the
offsets left are known, and the next ``PAGES_AHEAD`` pages are asked for at once
(``Requests``, sent concurrently by the engine), stepping by what that page held (a
server that serves fewer than asked is still read in full), their spaces yielded in
offset order. A page of a batch that is not what the count promised (shorter or
longer, or with another count: spaces were added or deleted meanwhile) ends the
batch there: its spaces are given and the rest is read one page at a time, each
from where the previous one ended, so nothing is skipped that a page-by-page reading
would have shown. Pages without a count (a bare array, ``next`` links only) are read
one at a time.

Every ``count`` a page or the full list tells is handed to spacekit as a ``Stated``
count: a listing that ends (``next`` null, an empty or short page) with fewer
distinct spaces than the provider said is not taken as complete.

NeuroIO spaces have an id and a name, nothing else (``writable_fields`` says so).
A description given to ``create`` or ``update`` is treated alike: left out of the
request, with a ``spacekit.FieldDroppedWarning`` from the store saying so (as for
every store whose ``writable_fields`` lack it). An update that changes only the
description sends nothing and reads the space back. Migrations ask
``writable_fields`` first and report the description as lost.

``check()`` reads ``GET /v1/whoami/`` (the caller's identity, which the SDK uses but
the spaces API does not document); where that answers 404 or 405, it asks for one
space (``GET /v1/spaces/?limit=1``), the cheapest documented authenticated call.
``request()`` sends any other call of the API with the store's token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple, cast

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
    Requests,
    Response,
    Responses,
    Setting,
    Stated,
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

PAGES_AHEAD = 8
"""Pages asked for at once where the count says they are there: at most this many
pages of spaces are held at a time."""

SPACES = "/v1/spaces/"
FULL_LIST = "/v1/lists/spaces/"
#: statuses that say the full list is not served here: pages are asked for instead
REFUSALS = frozenset({400, 403, 404, 405, 406, 410, 413, 414, 422, 501})
WHOAMI = "/v1/whoami/"
#: statuses that say whoami is not served here (not found, not allowed, gone, not
#: implemented): the token is checked by the cheapest documented call instead
NO_WHOAMI = frozenset({404, 405, 410, 501})


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
        where = response.label
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
        offset: int | None = 0
        if not query and not self._pages_only:
            offset = yield from self._full_list()
        if offset is not None:
            yield from self._pages(query, offset)

    def _full_list(self) -> Generator[Request | Space | Stated, Response | None, int | None]:
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
        if listing.count is not None:
            yield Stated(listing.count)
        if listing.complete(given):
            return None
        # A first page after all (an envelope with a next page): the rest by pages.
        return given

    def _pages(self, query: str | None, offset: int) -> ListOperation:
        """Pages from ``offset`` on: one at a time until one tells the count, then the
        offsets left in batches of ``PAGES_AHEAD`` (see the module's docstring)."""
        ahead = True  # until a batch finds the listing changed: then one page at a time
        while True:
            response = cast(Response, (yield _page_request(query, offset)))
            page = _read_page(response)
            yield from self._spaces(response, page)
            offset += len(page.items)
            if not page.items or not page.more(offset):
                return
            if ahead and page.total is not None and offset < page.total:
                ahead = False
                left = yield from self._ahead(query, offset, page.total, len(page.items))
                if left is None:
                    return
                offset = left

    def _ahead(
        self, query: str | None, offset: int, count: int, step: int
    ) -> Generator[Request | Requests | Space | Stated, Response | Responses | None, int | None]:
        """The pages from ``offset`` to ``count``, ``step`` spaces each, asked for
        ``PAGES_AHEAD`` at a time, their spaces yielded in offset order. Returns None
        when the listing is over, else the offset to read on from one page at a time
        (a page was not what the count promised)."""
        while offset < count:
            offsets = range(offset, count, step)[:PAGES_AHEAD]
            answers = cast(Responses, (yield Requests(_page_request(query, at) for at in offsets)))
            for at, response in zip(offsets, answers, strict=True):  # a failure is raised in its place
                page = _read_page(response)
                yield from self._spaces(response, page)
                offset = at + len(page.items)
                if (
                    page.total != count
                    or len(page.items) != min(step, count - at)
                    or page.more(offset) != (offset < count)
                ):
                    log.info("GET %s: the listing changed under its pages; reading on one at a time", SPACES)
                    return offset if page.items and page.more(offset) else None
        return None

    def _spaces(self, response: Response, page: _Page) -> Iterator[Space | Stated]:
        """A page's spaces, every one (the guard keeps those a query asks for), and the
        count the page tells."""
        for item in page.items:
            yield self._parse(response, item)
        if page.total is not None:
            yield Stated(page.total)

    def get(self, space_id: str) -> Operation[Space]:
        response = yield Request("GET", _space_path(space_id))
        return self._parse(response, response.json())

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        response = yield Request("POST", SPACES, json={"name": name})
        return self._parse(response, response.json())

    def check(self) -> Operation[None]:
        try:
            yield Request("GET", WHOAMI)  # any 2xx: the shape of the answer is unpublished
        except ProviderError as exc:
            if exc.status not in NO_WHOAMI:
                raise
            # A server of the documented spaces API without whoami: the token is
            # still checked, by the cheapest call it documents.
            yield Request("GET", SPACES, params={"limit": "1", "offset": "0"})

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


def _page_request(query: str | None, offset: int) -> Request:
    params = {"limit": str(PAGE_SIZE), "offset": str(offset)}
    if query:
        params["q"] = query
    return Request("GET", SPACES, params=params)


class _Page(NamedTuple):
    """One page: its items, ``total``, the ``count`` it tells (None: it tells none, or
    not as an integer), and ``more(next_offset)``, whether its envelope says pages follow."""

    items: list[Any]
    total: int | None
    more: Callable[[int], bool]


def _read_page(response: Response) -> _Page:
    """A page's items, its count, and a test ``more(next_offset)`` fitting its envelope."""
    body = response.json()
    if isinstance(body, list):  # a bare array: read on until an empty page
        return _Page(body, None, lambda _next: True)
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise response.protocol_error("a page of spaces must be a list or an object with 'results'")
    items: list[Any] = body["results"]
    count = body.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        count = None
    if "next" in body:
        if body["next"] is not None and not isinstance(body["next"], str):
            raise response.protocol_error("'next' must be a URL or null")
        more = body["next"] is not None
        return _Page(items, count, lambda _next: more)
    if count is None:
        raise response.protocol_error("a page without 'next' needs an integer 'count'")
    total = count
    return _Page(items, count, lambda next_offset: next_offset < total)
