"""Reading Datablist's answers: workspace objects, the list envelope, error bodies.

Liberal in what is accepted: list items with or without ``@type``, a ``data``
envelope or a bare array, extra keys, timestamps with or without an offset (naive
ones are UTC, as the docs' examples are). What cannot be read is a
``ProtocolError``; the payload is kept untouched in ``Space.raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from spacekit import Space, SpaceKind
from spacekit.plugin import Response, load_json, parse_datetime

PROVIDER = "datablist"


def parse_workspace(item: object, response: Response) -> Space:
    """One workspace object as a ``Space``; ``response`` names the answer in errors."""
    if not isinstance(item, Mapping):
        raise response.protocol_error(f"a workspace must be a JSON object, not {type(item).__name__}")
    space_id = item.get("@id")
    if isinstance(space_id, bool) or not isinstance(space_id, (str, int)) or not str(space_id):
        raise response.protocol_error("a workspace has no readable '@id'")
    name = item.get("name")
    if not isinstance(name, str):
        raise response.protocol_error(f"workspace {space_id} has no readable 'name'")
    owner = item.get("user_id")
    return Space(
        provider=PROVIDER,
        id=str(space_id),
        name=name,
        kind=SpaceKind.WORKSPACE,
        owner=owner if isinstance(owner, str) else None,
        created_at=_timestamp(item.get("createdAt")),
        updated_at=_timestamp(item.get("updatedAt")),
        raw=item,
    )


def workspace_items(response: Response) -> list[Any]:
    """The items of a list answer: ``{"data": [...]}``, or a bare array."""
    body = response.json()
    items = body.get("data") if isinstance(body, Mapping) else body
    if not isinstance(items, list):
        raise response.protocol_error("the workspace list has no 'data' array")
    return items


def created_workspace(response: Response, name: str, owner: str | None = None) -> Space:
    """The workspace a 201 answer to a create made, without reading it back.

    The documented answer is ``{"@id"}`` alone: the workspace is the ``name`` sent,
    under that id, owned by ``owner`` (the user the token exchange named, None if
    unknown), its timestamps unset (they are not in the answer). An answer that is
    the whole workspace object (some servers send it) is read as one.
    """
    body = response.json()  # parsed once: a create's answer is read for nothing else
    space_id = _created_id(body, response)
    if isinstance(body.get("name"), str):
        return parse_workspace(body, response)
    return Space(provider=PROVIDER, id=space_id, name=name, kind=SpaceKind.WORKSPACE, owner=owner, raw=body)


def created_id(response: Response) -> str:
    """The ``@id`` of a 201 answer to a create."""
    return _created_id(response.json(), response)


def _created_id(body: Any, response: Response) -> str:
    space_id = body.get("@id") if isinstance(body, Mapping) else None
    if isinstance(space_id, bool) or not isinstance(space_id, (str, int)) or not str(space_id):
        raise response.protocol_error("the create answer has no '@id'")
    return str(space_id)


def error_message(response: Response) -> str | None:
    """The provider's own explanation, where its error body has one."""
    try:
        body = load_json(response.content)
    except ValueError:
        return None
    if not isinstance(body, Mapping):
        return None
    message = body.get("message") or body.get("error_description") or body.get("error") or _detail(body)
    code = body.get("code")
    if isinstance(message, str) and message:
        return f"{code}: {message}" if isinstance(code, str) and code else message
    return code if isinstance(code, str) and code else None


def _detail(body: Mapping[str, Any]) -> str | None:
    """FastAPI's forms: ``{"detail": "..."}``, or ``{"detail": [{"loc", "msg"}, ...]}``."""
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        words = [
            ".".join(str(p) for p in _path(item.get("loc")) if p != "body") + f": {item['msg']}"
            for item in detail
            if isinstance(item, Mapping) and isinstance(item.get("msg"), str)
        ]
        return "; ".join(w.lstrip(": ") for w in words) or None
    return None


def _path(loc: object) -> list[Any]:
    """FastAPI's ``loc``: a list of keys and indexes (anything else is no path)."""
    return loc if isinstance(loc, list) else []


def _timestamp(value: object) -> datetime | None:
    # An unreadable timestamp is no reason to lose the workspace: it stays in raw.
    try:
        return parse_datetime(value)
    except (ValueError, TypeError):
        return None
