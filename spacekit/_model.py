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
    SUBSPACES = "subspaces"  # create_subspace and get_subspace
    REQUEST = "request"  # passthrough requests to any path of the provider's API


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


MEMBER_ROLES = ("admin", "collaborator", "accessor")
"""The roles a subspace member may hold, most powerful first (Instabase's words)."""


@attrs.frozen
class Member:
    """Someone granted access to a subspace: a principal (``kind`` "user" or "group")
    and its ``role``, one of ``MEMBER_ROLES``."""

    kind: str
    name: str
    role: str


def _members(value: Iterable[Member]) -> tuple[Member, ...]:
    return tuple(value)


@attrs.frozen
class Subspace:
    """A child of a space (an Instabase repo, a "Subspace").

    ``owner`` is the handle of the space that holds it and ``name`` its name there;
    ``is_admin`` says whether the caller administers it, ``private`` whether it is
    hidden from people not granted access (Instabase's ``visibility``), and
    ``members`` who was granted which role. Each is ``None`` (or empty) where the
    provider did not say: a space listing names subspaces without the rest.
    """

    owner: str
    name: str
    is_admin: bool | None = None
    description: str | None = None
    private: bool | None = None
    members: tuple[Member, ...] = attrs.field(default=(), converter=_members)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, as inside ``Space.to_dict()``."""
        return {
            "owner": self.owner,
            "name": self.name,
            "is_admin": self.is_admin,
            "description": self.description,
            "private": self.private,
            "members": [{"kind": m.kind, "name": m.name, "role": m.role} for m in self.members],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Subspace:
        """The inverse of ``to_dict``; keys added since (absent from older exports) may be missing.

        A malformed document is a ``ValidationError``.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(f"a subspace must be a JSON object, not {type(data).__name__}")
        unknown = set(data) - _SUBSPACE_FIELDS
        if unknown:
            raise ValidationError(f"unknown subspace field(s): {', '.join(sorted(unknown))}")
        try:
            members = tuple(
                Member(str(m["kind"]), str(m["name"]), _role(m["role"])) for m in _items(data, "members")
            )
            return cls(
                owner=_text(data, "owner", "subspace"),
                name=_text(data, "name", "subspace"),
                is_admin=_optional_bool(data, "is_admin", "subspace"),
                description=_optional_text(data, "description", "subspace"),
                private=_optional_bool(data, "private", "subspace"),
                members=members,
            )
        except ValidationError:
            raise
        except (TypeError, KeyError) as exc:
            raise ValidationError(f"malformed subspace: {exc}") from exc


def _role(value: object) -> str:
    if value not in MEMBER_ROLES:
        raise ValidationError(f"a member's role must be one of {', '.join(MEMBER_ROLES)}, not {value!r}")
    return str(value)


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
            "subspaces": [subspace.to_dict() for subspace in self.subspaces],
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
                subspaces=tuple(Subspace.from_dict(s) for s in _items(data, "subspaces")),
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
_SUBSPACE_FIELDS = frozenset(attrs.fields_dict(Subspace))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _text(data: Mapping[str, Any], key: str, what: str = "space") -> str:
    value = data.get(key)
    if value is None or isinstance(value, (dict, list, bool)):
        raise ValidationError(f"{what} field {key!r} is required and must be a string")
    return str(value)


def _optional_text(data: Mapping[str, Any], key: str, what: str = "space") -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{what} field {key!r} must be a string or null")
    return value


def _optional_bool(data: Mapping[str, Any], key: str, what: str = "space") -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValidationError(f"{what} field {key!r} must be true, false or null")
    return value


def _items(data: Mapping[str, Any], key: str) -> Iterable[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, Mapping) for v in value):
        raise ValidationError(f"field {key!r} must be a list of objects")
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
