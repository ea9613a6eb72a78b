"""Reading NeuroIO's full list of spaces one space at a time.

``GET /v1/lists/spaces/`` answers every space at once, unpaginated. Its envelope is
unpublished: a bare array, ``{"count", "next", "previous", "results"}`` or
``{"count", "results"}`` are all read. The body is parsed incrementally (``ijson``)
so that a listing of 100,000 spaces holds the answer's bytes and one space at a
time, not 100,000 parsed objects; its depth is checked first (``check_json_depth``),
as ``Response.json`` checks it, since the parser's cost grows with its square.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import ijson  # type: ignore[import-untyped]

from spacekit.plugin import Response, check_json_depth

_BLANK = re.compile(rb"\s*")


class FullList:
    """The items of one full-list answer, read lazily, and whether that was all."""

    def __init__(self, response: Response) -> None:
        self.response = response
        content = response.content
        self._start = content[_BLANK.match(content).end() :][:1]  # type: ignore[union-attr]
        self._count: int | None = None
        self._next: object = None

    def items(self) -> Iterator[Any]:
        """Every item of the list, parsed one at a time; a ``ProtocolError`` if the body is not a list."""
        try:
            check_json_depth(self.response.content)
        except ValueError as exc:
            raise self.response.protocol_error(f"the list of spaces is not valid JSON ({exc})") from None
        if self._start == b"[":
            yield from self._read("item")
            return
        if self._start != b"{":
            raise self.response.protocol_error(
                "the list of spaces must be a list or an object with 'results'"
            )
        count, following = self._first("count"), self._first("next")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise self.response.protocol_error("'count' must be an integer")
        if following is not None and not isinstance(following, str):
            raise self.response.protocol_error("'next' must be a URL or null")
        self._count, self._next = count, following
        given = 0
        for item in self._read("results.item"):
            given += 1
            yield item
        if not given and not isinstance(self._first("results"), list):
            raise self.response.protocol_error("the list of spaces has no 'results' list")

    @property
    def count(self) -> int | None:
        """The ``count`` the envelope tells (None: it tells none, or it is a bare array)."""
        return self._count

    def complete(self, given: int) -> bool:
        """Whether the ``given`` items were every space (the envelope says no next page)."""
        if self._next is not None:
            return False
        return self._count is None or given >= self._count

    def _first(self, prefix: str) -> Any:
        return next(self._read(prefix), None)

    def _read(self, prefix: str) -> Iterator[Any]:
        try:
            yield from ijson.items(io.BytesIO(self.response.content), prefix, use_float=True)
        except (ijson.JSONError, ValueError, UnicodeDecodeError) as exc:
            raise self.response.protocol_error(
                f"the list of spaces is not valid JSON ({exc.__class__.__name__})"
            ) from None
