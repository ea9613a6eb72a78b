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
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
from collections.abc import Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import attrs

from ._errors import ConfigError, ProtocolError, SpacekitError, ValidationError, error_for_status
from ._model import Capability, Space, SpaceKind, SpaceToken, Subspace

if TYPE_CHECKING:
    from ._store import AsyncSpaceStore, SpaceStore

T = TypeVar("T")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_JSON_DEPTH = 100
"""How deeply an answer's JSON may nest; no provider's payload comes near it."""


class EmulatorLike(Protocol):
    """What the seam knows of an emulator (``spacekit.testing.Emulator`` is one):
    enough to serve it and to connect to it, without importing the testing kit."""

    provider: ClassVar[str]

    def connect_settings(self, base_url: str) -> dict[str, Any]: ...

    def serve(self, port: int = 0, host: str = "127.0.0.1") -> contextlib.AbstractContextManager[str]: ...


@attrs.frozen
class Setting:
    """One setting a plugin accepts, from keywords, the environment or the config file."""

    name: str
    kind: type = str
    default: Any = None
    required: bool = False
    secret: bool = False
    help: str = ""
    #: False for values only a program can give (an httpx transport, say)
    configurable: bool = True


@attrs.frozen(repr=False)
class Request:
    """What an operation wants sent. ``path`` is relative to the base URL (ids in it
    encoded with ``quote_id``) or an absolute URL; ``json`` None means no body.

    Its ``repr`` shows the method and the path without its query: bodies, headers
    and queries may carry secrets (a token exchange's API key, say).
    """

    method: str
    path: str
    params: Mapping[str, str] = attrs.field(factory=dict)
    json: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    #: False for requests that must not carry the store's credentials (a token exchange)
    authenticated: bool = True
    #: True when repeating the request is harmless whatever its method (a token
    #: exchange, say); None decides by the method
    retry_safe: bool | None = None

    def __repr__(self) -> str:
        return f"<Request {self.method} {_without_query(self.path)}>"

    @property
    def idempotent(self) -> bool:
        """Whether the engine may repeat this request after it may have been sent."""
        if self.retry_safe is not None:
            return self.retry_safe
        return self.method.upper() in IDEMPOTENT


@attrs.frozen(repr=False)
class Response:
    """What came back, decoded lazily: ``status``, ``headers``, ``content`` (bytes),
    ``text`` and ``json()``; ``request`` is what was sent.

    ``store.request`` returns one (``spacekit.Response``). Its ``repr`` shows the
    status, method and path only: never a header, a body or a query.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    request: Request
    provider: str = ""

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.request.method} {_without_query(self.request.path)}>"

    @property
    def ok(self) -> bool:
        """True for a status below 400 (the only ones a store returns)."""
        return self.status < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as strict JSON; an unreadable body is a ``ProtocolError``.

        Unreadable means: not UTF-8, not JSON, ``NaN`` or ``Infinity``, an integer of
        more digits than Python converts, or nesting deeper than ``MAX_JSON_DEPTH``.
        """
        try:
            return load_json(self.content)
        except ValueError as exc:
            raise self.protocol_error(f"the response is not valid JSON ({exc})") from None

    def protocol_error(self, message: str) -> ProtocolError:
        """A ``ProtocolError`` about this response, for a body of the wrong shape."""
        return ProtocolError(
            f"{self.request.method} {self.request.path.split('?')[0]}: {message}",
            provider=self.provider,
            status=self.status,
            body=self.text,
        )


def _without_query(path: str) -> str:
    return path.split("?", 1)[0].split("#", 1)[0]


Operation = Generator[Request, Response, T]
"""An operation: yields requests, is sent their responses, returns its result."""

ListOperation = Generator[Request | Space, Response | None, None]
"""A listing: yields requests (sent their responses) and spaces (sent None)."""


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
            f"{response.request.method} {response.request.path.split('?')[0]} failed"
            + (f": {detail}" if detail else ""),
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
        except StopIteration:
            pass
        finally:
            listing.close()


def load_json(content: bytes | str) -> Any:
    """Strict JSON from an untrusted source; anything unreadable is a ``ValueError``
    naming what is wrong (never the content)."""
    try:
        value = json.loads(content, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # an integer of too many digits, a NaN
        raise ValueError(str(exc).split(":")[0][:200]) from None
    _check_depth(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(value: Any) -> None:
    """``ValueError`` if ``value`` nests deeper than ``MAX_JSON_DEPTH`` (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))


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


def option_specs(declared: Mapping[str, Setting] | Iterable[str]) -> dict[str, Setting]:
    """A declaration of keyword options as ``{name: Setting}``; bare names accept any value."""
    if isinstance(declared, Mapping):
        return dict(declared)
    return {name: Setting(name, object) for name in declared}


def check_option_values(options: Mapping[str, Any], specs: Mapping[str, Setting], what: str) -> None:
    """Refuse, with a ``ValidationError``, options ``specs`` does not declare or of the wrong kind.

    ``None`` means "not given". The library takes values as they are (no strings
    read as numbers): the CLI turns its text into the declared kind first.
    """
    unknown = sorted(set(options) - set(specs))
    if unknown:
        known = ", ".join(sorted(specs)) or "none"
        raise ValidationError(f"unknown option(s) for {what}: {', '.join(unknown)} (known: {known})")
    for key, value in options.items():
        kind = specs[key].kind
        if value is None or kind is object:
            continue
        wrong = not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            wrong = False
        if wrong:
            expected = _KIND_NAMES.get(kind, "a " + kind.__name__)
            raise ValidationError(
                f"{what} option {key!r} must be {expected}, not {type(value).__name__}",
                fields={key: f"not {expected}"},
            )


def check_settings(
    schema: Mapping[str, Setting], values: Mapping[str, Any], *, provider: str, where: str = ""
) -> dict[str, Any]:
    """Check ``values`` against ``schema``: the one place settings are validated."""
    prefix = f"{where}: " if where else ""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        known = ", ".join(sorted(k for k, s in schema.items() if s.configurable))
        raise ConfigError(
            f"{prefix}unknown setting {unknown[0]!r} for provider {provider!r} (known: {known})"
        )
    result: dict[str, Any] = {}
    for key, setting in schema.items():
        value = values.get(key, setting.default)
        if value is None:
            if setting.required:
                raise ConfigError(f"{prefix}provider {provider!r} needs the setting {key!r}")
            result[key] = None
            continue
        result[key] = _coerce(setting, value, f"{prefix}setting {key!r}")
    return result


def _coerce(setting: Setting, value: Any, label: str) -> Any:
    kind = setting.kind
    if kind is object or (isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))):
        return value
    if kind is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if kind is bool and text.lower() in (
                "1",
                "true",
                "yes",
                "on",
                "0",
                "false",
                "no",
                "off",
            ):
                return text.lower() in ("1", "true", "yes", "on")
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
        except ValueError:
            pass
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    shown = "<hidden>" if setting.secret else repr(value)
    raise ConfigError(f"{label} must be {_KIND_NAMES.get(kind, 'a ' + kind.__name__)}, got {shown}")


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
