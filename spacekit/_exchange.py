"""What an operation and the engine exchange: ``Request`` out, ``Response`` back.

Plain values with no I/O of their own. ``Response.json`` (and ``load_json``, for
plugins that read a body without the error carrying it) reads strict JSON from an
untrusted source: anything unreadable is an error about the answer, never a raw
``json`` or ``RecursionError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ._errors import ProtocolError

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_JSON_DEPTH = 100
"""How deeply an answer's JSON may nest; no provider's payload comes near it."""


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
