"""What an operation and the engine exchange: ``Request`` out, ``Response`` back;
for a listing also ``Requests`` out (several at once), ``Responses`` back.

Plain values with no I/O of their own. ``Response.json`` (and ``load_json``, for
plugins that read a body without the error carrying it) reads strict JSON from an
untrusted source: anything unreadable is an error about the answer, never a raw
``json`` or ``RecursionError``. ``check_json_depth`` holds a body to the same depth
before a plugin reads it some other way (incrementally, say).
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from ._errors import ProtocolError, SpacekitError
from ._redact import cut, shown_url

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
        return f"<Request {self.label}>"

    @property
    def label(self) -> str:
        """``METHOD path`` for messages: the path without its query, fragment or
        user-info (which may carry secrets), cut to ``LABEL_PATH`` characters."""
        return f"{self.method} {shown_path(self.path)}"

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
    #: the store's redaction of its errors (set by the engine): ``protocol_error``
    #: scrubs the answer's secrets from what it raises even outside the engine
    scrub: Callable[[ProtocolError], Any] | None = attrs.field(default=None, eq=False, repr=False)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.label}>"

    @property
    def label(self) -> str:
        """The request's ``label``: ``METHOD path`` for messages about this answer."""
        return self.request.label

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
        """A ``ProtocolError`` about this response, for a body of the wrong shape; its
        ``body`` is the answer's, cut to a readable length and, for an answer a store
        returned, without the store's secrets (as every error of the store)."""
        error = ProtocolError(
            f"{self.label}: {message}", provider=self.provider, status=self.status, body=self.text
        )
        if self.scrub is not None:
            return self.scrub(error)  # type: ignore[no-any-return]
        error.body = cut(self.text, ())
        return error


class Requests(tuple[Request, ...]):
    """Requests a listing wants sent together: ``answers = yield Requests(requests)``.

    The engine sends them concurrently (a few at a time), each exactly as a lone
    request (credentials, rate limit, retries, its own deadline, error mapping), and
    sends back ``Responses``, the answers in the same order. At least one request.
    """

    __slots__ = ()

    def __new__(cls, requests: Iterable[Request]) -> Requests:
        batch = super().__new__(cls, requests)
        if not batch:
            raise ValueError("Requests needs at least one request")
        for request in batch:
            if not isinstance(request, Request):
                raise TypeError(f"Requests holds Request objects, not {type(request).__name__}")
        return batch

    def __repr__(self) -> str:
        return f"<Requests {', '.join(r.label for r in self)}>"


class Responses:
    """The answers to a ``Requests`` batch, in the batch's order.

    ``answers[i]`` is the ``Response`` to the batch's request ``i``; iterating gives
    them in order. Where a request failed, reading its answer raises that request's
    error: the same ``SpacekitError`` (after the same retries) that a lone request
    would have thrown into the generator, raised where the plugin reads it. Reading
    in order therefore sees every answer before the first failure, then the failure;
    a plugin catches it around the read as it would around a lone ``yield``. An
    answer that is never read is never raised: a plugin that drops the rest of a
    batch (to ask again from another offset, say) drops their failures too.
    """

    __slots__ = ("_answers", "_on_read")

    def __init__(
        self,
        answers: Iterable[Response | SpacekitError],
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self._answers = tuple(answers)
        self._on_read = on_read

    def __len__(self) -> int:
        return len(self._answers)

    def __getitem__(self, index: int) -> Response:
        answer = self._answers[index]
        if self._on_read is not None:
            self._on_read(index % len(self._answers))
        if isinstance(answer, SpacekitError):
            raise answer
        return answer

    def __iter__(self) -> Iterator[Response]:
        for index in range(len(self._answers)):
            yield self[index]

    def __repr__(self) -> str:
        said = [str(a.status) if isinstance(a, Response) else type(a).__name__ for a in self._answers]
        return f"<Responses {', '.join(said)}>"

    @property
    def failed(self) -> bool:
        """Whether any request of the batch failed (its answer raises when read)."""
        return any(isinstance(a, SpacekitError) for a in self._answers)

    def observed(self, on_read: Callable[[int], None]) -> Responses:
        """The same answers, calling ``on_read(i)`` as answer ``i`` is read (before it
        is returned or raised): how ``spacekit``'s listing guard tells the pages of a
        batch apart. Plugins have no use for it."""
        return Responses(self._answers, on_read)


LABEL_PATH = 200
"""The characters of a path a message shows (``Request.label``); a longer one is cut."""


def shown_path(path: str) -> str:
    """``path`` (or URL) as messages show it: without its query, fragment and user-info,
    at most ``LABEL_PATH`` characters."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "@" in path:
        path = shown_url(path)
    return path if len(path) <= LABEL_PATH else f"{path[:LABEL_PATH]}... ({len(path)} characters)"


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
    except MemoryError:  # millions of tiny values: what was parsed is freed as this unwinds
        raise ValueError(f"too large to parse in the memory available ({len(content)} bytes)") from None
    _check_depth(value)
    return value


#: what is left of a string once all but brackets and quotes are dropped
_QUOTED = re.compile(rb'"[^"]*"')
#: the bytes of a skeleton whose strings are dropped at once (see ``_skeleton``)
_STRINGS_WINDOW = 2**16
#: every bracket as ``[`` or ``]`` (the depth does not depend on their kind)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b'[]{}"')


def check_json_depth(content: bytes) -> None:
    """``ValueError`` if the JSON text ``content`` nests deeper than ``MAX_JSON_DEPTH``
    (as ``load_json`` says), found without parsing it, in time linear in its size: for
    a plugin that reads a body some other way (an incremental parser, whose cost may
    grow with the square of the depth). Text that is not JSON passes unless it opens
    too many brackets: the plugin's parser says what is wrong with it.
    """
    skeleton = _skeleton(content)
    # Each pass drops the innermost pairs (one level, everywhere): most of a text's
    # brackets for little work, leaving fewer, longer runs of them to walk.
    passes = 0
    while skeleton and passes < _PASSES:
        shorter = skeleton.replace(b"[]", b"")
        if len(shorter) == len(skeleton):
            break
        skeleton, passes = shorter, passes + 1
    if passes + _deepest(skeleton) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")


def _skeleton(content: bytes) -> bytes:
    """The brackets of a JSON text outside its strings, each as ``[`` or ``]``."""
    if b"\\" in content:  # escapes: an escaped backslash, then an escaped quote, is no quote
        content = content.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = content.translate(_BRACKETS, _NOT_BRACKETS)
    if b'"' not in skeleton:
        return skeleton
    # Strings dropped a window at a time: ``re.sub`` holds a piece for each string it
    # drops, and a text of millions of short strings would hold hundreds of megabytes.
    kept = bytearray()
    start, opened = 0, -1  # ``opened``: where a string a window left open begins
    while start < len(skeleton):
        if opened >= 0:
            close = skeleton.find(b'"', start)
            if close < 0:  # a string never ended: its brackets count, as if unquoted
                kept += skeleton[opened + 1 :]
                break
            start, opened = close + 1, -1
            continue
        end = min(start + _STRINGS_WINDOW, len(skeleton))
        rest = _QUOTED.sub(b"", skeleton[start:end])
        left_open = rest.find(b'"')  # at most one: a string that goes on past the window
        if left_open >= 0:
            opened = end - (len(rest) - left_open)
            rest = rest[:left_open]
        kept += rest
        start = end
    return bytes(kept)


_PASSES = 4
_WINDOW = 2**20


def _deepest(skeleton: bytes) -> int:
    """The most brackets of ``skeleton`` (``[`` and ``]`` only) open at once.

    Cut at each ``][``, it is a row of peaks, each openers then closers: the depth
    at a peak is the depth before it plus its openers (and the ``[`` of its cut).
    Walked a window at a time, a peak's numbers computed by ``map`` (no Python code
    per bracket or per peak); a ``]`` put in front makes the first peak like the rest.
    """
    text = b"]" + skeleton
    start = deepest = depth = 0
    while start < len(text):
        cut = text.find(b"][", start + _WINDOW)
        end = len(text) if cut < 0 else cut
        peaks = text[start:end].split(b"][")
        openers = list(map(bytes.count, peaks, itertools.repeat(b"[")))
        closers = list(map(operator.sub, map(len, peaks), openers))
        # before each peak: the depth so far; its top: that plus its openers and a cut's
        before = itertools.accumulate(map(operator.sub, openers, closers), initial=depth)
        deepest = max(deepest, max(map(operator.add, before, openers)) + 1)
        depth += sum(openers) - sum(closers)
        start = end + 2
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_depth(value: Any) -> None:
    """``ValueError`` if ``value`` nests deeper than ``MAX_JSON_DEPTH`` (walked without
    recursion, holding one iterator per level: never a list as long as the value)."""
    if not isinstance(value, (dict, list)):
        return
    levels = [_children(value)]
    while levels:
        for child in levels[-1]:
            if isinstance(child, (dict, list)):
                if len(levels) >= MAX_JSON_DEPTH:
                    raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
                levels.append(_children(child))
                break
        else:
            levels.pop()


def _children(value: dict[Any, Any] | list[Any]) -> Iterator[Any]:
    return iter(value.values() if isinstance(value, dict) else value)
