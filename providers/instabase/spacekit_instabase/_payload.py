"""Reading Instabase answers: the v1 envelope, its errors, and space payloads.

Instabase v1 endpoints answer HTTP 200 for failures too, with
``{"status": "ERROR", "msg": "..."}``; a success carries ``"status": "OK"``.
``read_envelope`` turns the first into the spacekit error its message names and
returns the second; a body that is not a JSON object with a ``status`` key is a
``ProtocolError``. ``parse_space`` normalizes one entry of ``spaces`` liberally:
unknown keys are kept in ``raw``, optional keys may be missing or of the wrong type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from spacekit import (
    AuthenticationError,
    Conflict,
    Member,
    NotFound,
    PermissionDenied,
    Principal,
    ProviderError,
    Space,
    SpaceKind,
    SpacekitError,
    Subspace,
    ValidationError,
)
from spacekit.plugin import Response

PROVIDER = "instabase"

KINDS = {"USER": SpaceKind.USER, "ORGANIZATION": SpaceKind.ORGANIZATION}

_BAD_TOKEN = re.compile(
    r"authenticat|unauthori[sz]ed|not logged in|log ?in required|credential"
    r"|\b(invalid|expired|missing|bad|revoked|malformed)\b.{0,30}\btoken\b"
    r"|\btoken\b.{0,40}\b(invalid|expired|missing|revoked|malformed|not valid)\b"
)

# Checked in order: the first pattern found in the lower-cased message wins. The
# messages themselves are not published; these are the usual wordings.
_BY_MESSAGE: tuple[tuple[re.Pattern[str], type[ProviderError] | None], ...] = (
    (_BAD_TOKEN, AuthenticationError),
    (re.compile(r"permission|forbidden|not allowed|access denied|not authori[sz]ed"), PermissionDenied),
    (
        re.compile(
            r"already (exists|taken|in use)|is taken|duplicate|exists already"
            r"|\b(name|handle)\b.{0,40}\bnot available"
        ),
        Conflict,
    ),
    (re.compile(r"not found|does not exist|doesn't exist|no such|unknown (space|org)"), NotFound),
    (re.compile(r"invalid|must be|not valid|malformed|bad request"), None),  # None: ValidationError
)


def error_for_message(message: str, response: Response) -> SpacekitError:
    """The spacekit error for a ``{"status": "ERROR", "msg": message}`` answer; its
    message says so (``answered ERROR (HTTP 200)``), since the HTTP status alone reads
    as a success."""
    text = f"{response.label}: {message}: answered ERROR (HTTP {response.status})"
    lowered = message.lower()
    for pattern, cls in _BY_MESSAGE:
        if pattern.search(lowered):
            if cls is None:
                return ValidationError(
                    f"{text} (provider={PROVIDER})",
                    provider=PROVIDER,
                    status=response.status,
                    body=response.text,
                )
            return cls(text, provider=PROVIDER, status=response.status, body=response.text)
    return ProviderError(text, provider=PROVIDER, status=response.status, body=response.text)


def names_bad_token(message: str) -> bool:
    """Whether an error message says the credential itself was refused."""
    return _BAD_TOKEN.search(message.lower()) is not None


def error_message(response: Response) -> str | None:
    """The ``msg`` of an error envelope, if the body is one."""
    try:
        body = response.json()
    except SpacekitError:
        return None
    if isinstance(body, Mapping):
        message = body.get("msg") or body.get("message") or body.get("error")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return None


def read_envelope(response: Response, *, status_optional: bool = False) -> Mapping[str, Any]:
    """The body of a successful answer; raises the error an ``ERROR`` answer names.

    With ``status_optional`` an empty body, or an object without ``status``, is
    taken as it comes (empty bodies as ``{}``): the caller confirms another way.
    """
    if status_optional and not response.content.strip():
        return {}
    body = response.json()
    if not isinstance(body, Mapping):
        raise response.protocol_error(f"expected a JSON object, got {type(body).__name__}")
    if "status" not in body:
        if status_optional:
            return body
        raise response.protocol_error("the answer has no 'status' key")
    status = body["status"]
    if isinstance(status, str) and status.upper() == "OK":
        return body
    if isinstance(status, str) and status.upper() == "ERROR":
        raise error_for_message(error_message(response) or "the provider reported an error", response)
    raise response.protocol_error(f"unexpected status {status!r}")


def read_spaces(response: Response) -> list[Space]:
    """Every space of a ``/api/v1/spaces/list`` answer, normalized."""
    body = read_envelope(response)
    if "spaces" not in body:
        raise response.protocol_error("the answer has no 'spaces' list")
    items = body["spaces"]
    if not isinstance(items, list):
        raise response.protocol_error(f"'spaces' is a {type(items).__name__}, not a list")
    try:
        return [parse_space(item) for item in items]
    except ValueError as exc:
        raise response.protocol_error(str(exc)) from None


def parse_space(item: Any) -> Space:
    """One space of the ``spaces`` list as a ``Space``.

    ``id`` is ``repo_owner`` (Instabase has no other identifier); ``name`` is
    ``full_name``, or ``repo_owner`` when profiles were not asked for or the name is
    blank. An ``account_type`` other than USER or ORGANIZATION gives
    ``SpaceKind.WORKSPACE`` (the value stays in ``raw``). Optional keys of the wrong
    type count as absent. Only an entry that is not an object, or has no usable
    ``repo_owner``, is a ``ValueError``.
    """
    if not isinstance(item, Mapping):
        raise ValueError(f"a space must be a JSON object, not {type(item).__name__}")
    owner = _handle(item.get("repo_owner"))
    if owner is None:
        raise ValueError("a space has no usable 'repo_owner'")
    account_type = item.get("account_type")
    kind = KINDS.get(account_type.upper()) if isinstance(account_type, str) else None
    return Space(
        provider=PROVIDER,
        id=owner,
        name=_text(item.get("full_name")) or owner,
        kind=kind or SpaceKind.WORKSPACE,
        description=_text(item.get("description")),
        admins=tuple(_principals(item.get("admins"))),
        subspaces=tuple(_subspaces(item.get("repos"), owner)),
        image_url=_text(item.get("profile_photo_url")),
        is_admin=_flag(item.get("is_admin")),
        raw=item,
    )


def _handle(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _text(value: Any) -> str | None:
    """A non-blank string, else None (Instabase sends "" for an unset description)."""
    return value if isinstance(value, str) and value.strip() else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _principals(value: Any) -> list[Principal]:
    if not isinstance(value, list):
        return []
    result = []
    for entry in value:
        if isinstance(entry, Mapping) and _handle(entry.get("name")):
            kind = entry.get("type")
            result.append(Principal(kind=kind if isinstance(kind, str) else "user", name=str(entry["name"])))
    return result


def _subspaces(value: Any, space_owner: str) -> list[Subspace]:
    if not isinstance(value, list):
        return []
    result = []
    for entry in value:
        if isinstance(entry, Mapping) and _handle(entry.get("repo_name")):
            owner = _handle(entry.get("repo_owner")) or space_owner
            name = str(entry["repo_name"])
            result.append(Subspace(owner=owner, name=name, is_admin=_flag(entry.get("is_admin"))))
    return result


ROLES = ("admin", "collaborator", "accessor")
VISIBILITIES = {"private": True, "public": False}


def read_repo(response: Response, owner: str, name: str) -> Subspace:
    """The Subspace of a ``GET /api/v1/repos/<owner>/<name>`` answer.

    ``{"status": "OK", "repo": {owner, name, description, visibility, members:
    {accessor, admin, collaborator}}}``; read liberally: missing keys give
    ``None`` (or no members), an unknown visibility gives ``private=None``, and the
    owner and name asked for stand in for missing ones.
    """
    body = read_envelope(response)
    repo = body.get("repo")
    if not isinstance(repo, Mapping):
        raise response.protocol_error("the answer has no 'repo' object")
    return parse_repo(repo, owner, name)


def parse_repo(repo: Mapping[str, Any], owner: str, name: str) -> Subspace:
    visibility = repo.get("visibility")
    return Subspace(
        owner=_handle(repo.get("owner")) or owner,
        name=_handle(repo.get("name")) or name,
        description=_text(repo.get("description")),
        private=VISIBILITIES.get(visibility.lower()) if isinstance(visibility, str) else None,
        members=tuple(_members(repo.get("members"))),
    )


def _members(value: Any) -> list[Member]:
    """Principals by role, most powerful role first, each in the order given."""
    if not isinstance(value, Mapping):
        return []
    return [
        Member(kind=principal.kind, name=principal.name, role=role)
        for role in ROLES
        for principal in _principals(value.get(role))
    ]
