"""The plugin seam: what a provider plugin gives spacekit, and what it is given.

A plugin registers one ``Plugin`` object in the entry-point group
``spacekit.providers``. Remote providers do not write stores: they describe their
API as a ``Provider``, a sans-I/O object whose operations are generators. An
operation yields a ``Request`` and is sent back the ``Response``; a listing may
also yield ``Space`` objects, which reach the caller one at a time::

    def get(self, space_id):
        response = yield Request("GET", f"/v1/spaces/{quote_id(space_id)}/")
        return parse_space(response.json())

The HTTP engine runs the same generator over ``httpx.Client`` or
``httpx.AsyncClient``, so sync and async share every line of provider logic. The
engine owns authentication headers, timeouts, retries, rate limits and redaction.
A response with status >= 400 is turned into an error by ``Provider.error`` and
thrown into the generator (which may catch it, say to treat 404 as "absent").

A listing that knows several requests it will need (the remaining pages, once the
first page gave the count) may yield them together as ``Requests``; the engine sends
them concurrently, a few at a time (each as a lone request: credentials, retries,
rate limit, its own deadline), and sends back ``Responses``, the answers in the
batch's order. A request that failed raises its error where its answer is read::

    answers = yield Requests(Request("GET", "/v1/items/", params={"page": str(n)}) for n in pages)
    for answer in answers:  # in order; the first failure is raised at its place
        yield from parse_page(answer)
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from ._errors import SpacekitError, error_for_status
from ._exchange import (
    IDEMPOTENT,
    MAX_JSON_DEPTH,
    Request,
    Requests,
    Response,
    Responses,
    check_json_depth,
    load_json,
)
from ._model import Capability, Space, SpaceKind, SpaceToken, Subspace
from ._settings import Setting, check_option_values, check_settings, option_specs

if TYPE_CHECKING:
    from ._store import AsyncSpaceStore, SpaceStore

__all__ = [
    "IDEMPOTENT",
    "MAX_JSON_DEPTH",
    "EmulatorLike",
    "ListOperation",
    "Operation",
    "Plugin",
    "Provider",
    "Request",
    "Requests",
    "Response",
    "Responses",
    "Setting",
    "Stated",
    "check_json_depth",
    "check_option_values",
    "check_settings",
    "load_json",
    "option_specs",
]

T = TypeVar("T")


class EmulatorLike(Protocol):
    """What the seam knows of an emulator (``spacekit.testing.Emulator`` is one):
    enough to serve it and to connect to it, without importing the testing kit."""

    provider: ClassVar[str]

    def connect_settings(self, base_url: str) -> dict[str, Any]: ...

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> contextlib.AbstractContextManager[str]: ...


Operation = Generator[Request, Response, T]
"""An operation: yields requests, is sent their responses, returns its result."""


class Stated:
    """How many spaces a listing says it holds, as the provider states it: ``yield
    Stated(count)`` (sent None) whenever a page tells the total (NeuroIO's ``count``).

    The listing guard counts the distinct spaces the provider yields (before any name
    filter) and, once the listing ends, raises a ``ProtocolError`` if they fall short
    of the last count stated (a count that changed between pages: the listing changed
    while it was read, and its last page tells what it holds now): a listing that ends early (``next`` null, an empty or
    short page) is never taken as complete. Yield the count the provider states for
    what the listing asks (the matches of a query, for a search), never an estimate.
    """

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"Stated needs a count of 0 or more, not {count!r}")
        self.count = count

    def __repr__(self) -> str:
        return f"Stated({self.count})"


ListOperation = Generator[Request | Requests | Space | Stated, Response | Responses | None, None]
"""A listing: yields requests (sent their responses), batches of requests (sent
``Responses``, the answers in order), spaces (sent None) and, where the provider
states how many spaces there are, ``Stated`` counts (sent None)."""


class Provider(abc.ABC):
    """A remote provider's API, described without doing any I/O.

    Subclasses set the class attributes and write the operations their
    ``capabilities`` promise; the engine never calls an operation outside them.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    default_base_url: ClassVar[str]
    #: provider settings beyond the engine's (credentials, other URLs)
    settings: ClassVar[Mapping[str, Setting]] = {}
    writable_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    list_options: ClassVar[frozenset[str]] = frozenset()
    #: the keyword options ``create`` accepts, declared once: the store checks them
    #: (name and kind) before any request, and the CLI offers each configurable one
    #: as ``spaces create --NAME`` (a plain set of names is read as untyped options)
    create_options: ClassVar[Mapping[str, Setting] | frozenset[str]] = {}

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.config = dict(settings)
        self.base_url: str = settings["base_url"]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    # -- authentication -------------------------------------------------------------

    def headers(self) -> Mapping[str, str]:
        """Headers for every authenticated request (the credential, usually)."""
        return {}

    def secrets(self) -> Iterable[str]:
        """Every secret value the engine must scrub from errors and logs."""
        return [
            str(v) for k, v in self.config.items() if v and k in self.settings and self.settings[k].secret
        ]

    def needs_authentication(self) -> bool:
        """True when ``authenticate`` must run before the next request."""
        return False

    def authenticate(self) -> Operation[None]:
        """Obtain credentials (a token exchange). The engine runs at most one at a time."""
        raise NotImplementedError
        yield  # pragma: no cover

    def forget_authentication(self) -> bool:
        """Called after a 401: drop cached credentials; True if ``authenticate`` may help."""
        return False

    def caller(self) -> str | None:
        """Who the credential acts for, exactly as the provider writes it in
        ``Space.owner`` (a user id a token exchange answered, say); None where unknown.

        Override where the API says it: after a create whose answer was lost, the
        migration engine never takes a space owned by someone else for its result.
        """
        return None

    def account(self) -> str | None:
        """The account the credentials act for, where the provider names it (a token
        exchange's answer may), else None. Asked after ``authenticate`` has run if
        ``needs_authentication`` said so; it does no I/O. Two credentials naming one
        account are one account to the migration lock, so that they wait for each
        other. The default names none.
        """
        return None

    # -- names ------------------------------------------------------------------------

    def stored_name(self, name: str) -> str:
        """``name`` as the provider stores it when a space is created with it.

        Override only where the provider rewrites names (trims whitespace, cuts at a
        length): the migration engine recognises a write whose answer was lost by
        this exact form, never by resemblance. The default keeps the name as sent.
        """
        return name

    # -- errors -----------------------------------------------------------------------

    def error(self, response: Response) -> SpacekitError:
        """The error for a response with status >= 400. Override to read the body."""
        detail = _detail(response)
        return error_for_status(
            response.status,
            f"{response.label} failed" + (f": {detail}" if detail else ""),
            provider=self.name,
            body=response.text,
            request_id=response.headers.get("x-request-id"),
        )

    # -- operations -------------------------------------------------------------------

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        raise NotImplementedError

    def get(self, space_id: str) -> Operation[Space]:
        raise NotImplementedError

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        raise NotImplementedError

    def update(self, space_id: str, changes: Mapping[str, Any]) -> Operation[Space]:
        raise NotImplementedError

    def delete(self, space_id: str) -> Operation[None]:
        raise NotImplementedError

    def create_token(self, space_id: str, permanent: bool) -> Operation[SpaceToken]:
        raise NotImplementedError

    def protected(self, space: Space) -> str | None:
        """Why the provider will not let ``space`` be deleted (None: it may be); syncs
        never plan such a delete. The default protects a user's own space."""
        return "a user's own space" if space.kind is SpaceKind.USER else None

    def create_subspace(
        self, space_id: str, name: str, description: str, private: bool
    ) -> Operation[Subspace]:
        """Only where ``Capability.SUBSPACES``; the name and flags are checked already."""
        raise NotImplementedError

    def get_subspace(self, space_id: str, name: str) -> Operation[Subspace]:
        raise NotImplementedError

    def request(self, call: Request) -> Operation[Response]:
        """A passthrough request (``store.request``), already checked to stay under
        the base URL. The default sends it as it is; override it to add headers the
        API wants or to read an error convention the status does not show."""
        return (yield call)

    def check(self) -> Operation[None]:
        """The cheapest authenticated request the API offers (``store.check``).

        The default sends the first request of a listing and reads its answer;
        override it where the API has something cheaper (a "who am I" endpoint).
        """
        listing = self.list(None, {})
        try:
            item = next(listing)
            if isinstance(item, Request):
                listing.send((yield item))  # reading the answer raises what it says
            elif isinstance(item, Requests):
                yield item[0]  # a batch to begin with: its first request says enough
        except StopIteration:
            pass
        finally:
            listing.close()


def _detail(response: Response) -> str:
    """The provider's own words from an error body, where it uses a common key."""
    try:
        body = load_json(response.content)
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("message", "msg", "detail", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])[:300]
    return ""


class Plugin(abc.ABC):
    """What the entry point ``spacekit.providers`` names: a factory of stores."""

    name: str
    summary: str = ""
    capabilities: frozenset[Capability] = frozenset()
    settings: Mapping[str, Setting] = {}
    #: the options its stores' ``create`` accepts (see ``Provider.create_options``)
    create_options: Mapping[str, Setting] = {}

    @abc.abstractmethod
    def open(self, settings: Mapping[str, Any]) -> SpaceStore:
        """A store from checked settings (see ``check_settings``)."""

    @abc.abstractmethod
    def open_async(self, settings: Mapping[str, Any]) -> AsyncSpaceStore:
        """The asynchronous store from the same settings."""

    def emulator(self) -> EmulatorLike | None:
        """A fresh emulator of this provider's API, where the plugin ships one."""
        return None

    def check_settings(self, values: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
        """Coerce and complete settings; unknown, mistyped or missing ones are a ``ConfigError``."""
        return check_settings(self.settings, values, provider=self.name, where=where)
