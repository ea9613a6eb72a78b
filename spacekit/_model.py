"""The normalized model: one ``Space`` for every provider, with its raw payload beside it.

Model classes are frozen attrs classes with dumb ``__init__`` methods; parsing from
JSON lives in named constructors (``Space.from_dict``) and in each plugin's own
``parse_space`` function.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs

from ._errors import ValidationError


class SpaceKind(enum.StrEnum):
    """What sort of space: a plain workspace, a user's space, or an organization's."""

    WORKSPACE = "workspace"
    USER = "user"
    ORGANIZATION = "organization"


class Capability(enum.StrEnum):
    """What a store can do. An operation outside a store's capabilities raises
    ``Unsupported`` before any request is made."""

    LIST = "list"
    SEARCH = "search"  # the provider filters by name on its side
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    TOKENS = "tokens"


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetimes only: naive values are taken to be UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def parse_datetime(value: object) -> datetime | None:
    """Read an ISO 8601 timestamp as an aware UTC datetime; naive means UTC.

    ``None`` and the empty string give ``None``; anything else unreadable is a
    ``ValueError`` (callers translate it into their own error).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return _utc(datetime.fromisoformat(text))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@attrs.frozen
class Principal:
    """Someone who administers a space: ``kind`` is "user" or "group"."""

    kind: str
    name: str


@attrs.frozen
class Subspace:
    """A child of a space (an Instabase repo): its owner, name and the caller's rights."""

    owner: str
    name: str
    is_admin: bool | None = None


def _principals(value: Iterable[Principal]) -> tuple[Principal, ...]:
    return tuple(value)


def _subspaces(value: Iterable[Subspace]) -> tuple[Subspace, ...]:
    return tuple(value)


@attrs.frozen
class Space:
    """One space, normalized. ``raw`` keeps the provider's payload, untouched."""

    provider: str
    id: str
    name: str
    kind: SpaceKind = SpaceKind.WORKSPACE
    description: str | None = None
    owner: str | None = None
    admins: tuple[Principal, ...] = attrs.field(default=(), converter=_principals)
    subspaces: tuple[Subspace, ...] = attrs.field(default=(), converter=_subspaces)
    image_url: str | None = None
    is_admin: bool | None = None
    created_at: datetime | None = attrs.field(default=None, converter=_utc)
    updated_at: datetime | None = attrs.field(default=None, converter=_utc)
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the form of ``--json``, export and import."""
        return {
            "provider": self.provider,
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "description": self.description,
            "owner": self.owner,
            "admins": [{"kind": p.kind, "name": p.name} for p in self.admins],
            "subspaces": [{"owner": s.owner, "name": s.name, "is_admin": s.is_admin} for s in self.subspaces],
            "image_url": self.image_url,
            "is_admin": self.is_admin,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "raw": _plain(self.raw),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        """The inverse of ``to_dict``; a malformed document is a ``ValidationError``."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"a space must be a JSON object, not {type(data).__name__}")
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValidationError(f"unknown space field(s): {', '.join(sorted(unknown))}")
        try:
            return cls(
                provider=_text(data, "provider"),
                id=_text(data, "id"),
                name=_text(data, "name"),
                kind=SpaceKind(data.get("kind") or SpaceKind.WORKSPACE.value),
                description=_optional_text(data, "description"),
                owner=_optional_text(data, "owner"),
                admins=tuple(Principal(str(p["kind"]), str(p["name"])) for p in _items(data, "admins")),
                subspaces=tuple(
                    Subspace(str(s["owner"]), str(s["name"]), s.get("is_admin"))
                    for s in _items(data, "subspaces")
                ),
                image_url=_optional_text(data, "image_url"),
                is_admin=_optional_bool(data, "is_admin"),
                created_at=parse_datetime(data.get("created_at")),
                updated_at=parse_datetime(data.get("updated_at")),
                raw=data.get("raw") or {},
            )
        except ValidationError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise ValidationError(f"malformed space: {exc}") from exc


_FIELDS = frozenset(attrs.fields_dict(Space))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or isinstance(value, (dict, list, bool)):
        raise ValidationError(f"space field {key!r} is required and must be a string")
    return str(value)


def _optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"space field {key!r} must be a string or null")
    return value


def _optional_bool(data: Mapping[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"space field {key!r} must be true, false or null")
    return value


def _items(data: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationError(f"space field {key!r} must be a list of objects")
    return value


@attrs.frozen
class SpaceToken:
    """A per-space access token. Its ``key`` is a secret: never shown in ``repr``."""

    id: str
    space_id: str
    key: str = attrs.field(repr=False)
    permanent: bool = False
    is_active: bool | None = None
    created_at: datetime | None = attrs.field(default=None, converter=_utc)
    expires_at: datetime | None = attrs.field(default=None, converter=_utc)
    raw: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_frozen_mapping, hash=False, repr=False, eq=False
    )
