"""The Instabase provider: its Space and Organization v1 APIs, described without I/O.

What the API offers, and so what the store can do:

- list: ``GET /api/v1/spaces/list`` answers every space at once (no pagination).
  The plugin always asks for profiles, admins and repos, so that each ``Space`` is
  complete; ``list(admin_only=True)`` adds ``get_admin_spaces_only``. The API has
  no name filter: ``query`` is applied client-side, by the core's listing guard, after
  the whole list came back (case-insensitive "name contains"), hence no ``Capability.SEARCH``.
- get: there is no single-space endpoint; the list is read and the space picked by
  its handle (``repo_owner``, which is the ``Space.id``).
- create: only Organization Spaces, through ``POST /api/v1/organizations/<org_name>``.
- update, delete, tokens: not in the API; the store raises ``Unsupported`` before
  any request.
- subspaces (repos): ``POST /api/v1/repos/<repo_owner>/<repo_name>`` with exactly
  ``{"description", "visibility"}`` creates one (the name checked locally first),
  then ``GET`` on the same path reads it back, as ``get_subspace`` does.
- check: the cheapest authenticated call is the space listing without flags.
- request: any other v1 call; an HTTP 200 answering ``"status": "ERROR"`` raises
  the error its message names, as for every operation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, cast

from spacekit import (
    AuthenticationError,
    Capability,
    NotFound,
    Space,
    SpaceKind,
    SpacekitError,
    Subspace,
    ValidationError,
)
from spacekit.plugin import (
    ListOperation,
    Operation,
    Provider,
    Request,
    Response,
    Setting,
    error_for_status,
    quote_id,
)

from ._payload import PROVIDER, error_message, names_bad_token, read_envelope, read_repo, read_spaces

LIST_PATH = "/api/v1/spaces/list"
ORG_PATH = "/api/v1/organizations/"
REPO_PATH = "/api/v1/repos/"
#: the flags that make a Space complete, spelled as the documentation spells them
FULL_VIEW = MappingProxyType({"get_profiles": "True", "get_admins": "True", "get_repos": "True"})
ORG_NAME = re.compile(r"[A-Za-z0-9_]{3,100}")


def derive_org_name(name: str) -> str:
    """The organization handle derived from a display name.

    Accents are dropped (``é`` → ``e``), runs of spaces, hyphens and dots become one
    underscore, every other character outside letters, digits and underscores is
    removed, the result is lower-cased and cut to 100 characters. ``"Data Team
    (EU)"`` gives ``"data_team_eu"``. It is then checked like a given handle.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    joined = re.sub(r"[\s.\-]+", "_", ascii_name.strip())
    return re.sub(r"[^A-Za-z0-9_]", "", joined).lower()[:100]


def check_org_name(handle: object, *, derived_from: str | None = None) -> str:
    """A valid organization handle (3-100 letters, digits, underscores), else ``ValidationError``."""
    if isinstance(handle, str) and ORG_NAME.fullmatch(handle):
        return handle
    origin = (
        f" (derived from the name {derived_from!r}; choose one with handle=, or --handle on the command line)"
        if derived_from
        else ""
    )
    raise ValidationError(
        f"an Instabase space's handle must be 3 to 100 letters, digits or underscores, "
        f"got {handle!r}{origin}",
        fields={"handle": "3 to 100 letters, digits or underscores"},
    )


class InstabaseProvider(Provider):
    """Instabase Spaces: ``Authorization: Bearer <token>``, answers in the v1 envelope.

    ``list`` accepts ``admin_only`` (only the spaces the caller administers, or
    where it administers a Subspace); ``query`` filters by name on our side (the core's listing guard). ``create``
    makes an Organization Space; its handle is ``handle=`` when given, otherwise
    derived from the name (``derive_org_name``); either way it must be 3 to 100
    letters, digits or underscores, checked before any request. A creation is one
    request: an ``OK`` answer gives the ``Space`` from what was sent (its handle,
    name, description; ``raw`` is the answer; what the answer does not say, such as
    admins, is left unset). An answer without a status (an empty body, say) is
    confirmed by the listing the first time a server answers in that shape, and
    trusted after that.
    """

    name = PROVIDER
    capabilities = frozenset(
        {Capability.LIST, Capability.GET, Capability.CREATE, Capability.SUBSPACES, Capability.REQUEST}
    )
    default_base_url = "https://www.instabase.com"
    settings = {
        "token": Setting("token", required=True, secret=True, help="an OAuth access token from the web UI"),
    }
    writable_fields = frozenset({"name", "description"})
    list_options = frozenset({"admin_only"})
    create_options: ClassVar[Mapping[str, Setting]] = {
        "handle": Setting(
            "handle",
            str,
            help="the organization's handle, 3 to 100 letters, digits or underscores "
            "(default: derived from the name)",
        ),
    }

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        #: shapes of creation answers without a status that the listing confirmed
        self._confirmed_shapes: set[tuple[int, frozenset[str]]] = set()

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.config['token']}"}

    def error(self, response: Response) -> SpacekitError:
        """A real 4xx/5xx: the class follows the status, the text carries the ``msg``."""
        message = error_message(response) or "failed"
        if response.status < 500 and names_bad_token(message):  # a 403 or 400 that says "Invalid token"
            return AuthenticationError(
                f"{response.label}: {message}",
                provider=self.name,
                status=response.status,
                body=response.text,
                request_id=response.headers.get("x-request-id"),
            )
        return error_for_status(
            response.status,
            f"{response.label}: {message}",
            provider=self.name,
            body=response.text,
            request_id=response.headers.get("x-request-id"),
        )

    # -- operations -------------------------------------------------------------------

    def check(self) -> Operation[None]:
        read_envelope((yield Request("GET", LIST_PATH)))  # a 200 may still say ERROR

    def create_subspace(
        self, space_id: str, name: str, description: str, private: bool
    ) -> Operation[Subspace]:
        path = _repo_path(space_id, name)
        body = {"description": description, "visibility": "private" if private else "public"}
        read_envelope((yield Request("POST", path, json=body)), status_optional=True)
        try:
            return (yield from self.get_subspace(space_id, name))
        except NotFound:  # made, but not readable yet: it holds what was sent
            return Subspace(owner=space_id, name=name, description=description or None, private=private)

    def get_subspace(self, space_id: str, name: str) -> Operation[Subspace]:
        return read_repo((yield Request("GET", _repo_path(space_id, name))), space_id, name)

    def request(self, call: Request) -> Operation[Response]:
        response = yield call
        if _says_error(response):
            read_envelope(response)  # raises the error the message names
        return response

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        params = dict(FULL_VIEW)
        if _admin_only(options):
            params["get_admin_spaces_only"] = "True"
        # the engine sends a Response back for every Request (None only after a Space)
        response = cast(Response, (yield Request("GET", LIST_PATH, params=params)))
        # no name filter in the API: the listing guard keeps the names containing ``query``
        yield from read_spaces(response)

    def get(self, space_id: str) -> Operation[Space]:
        response = yield Request("GET", LIST_PATH, params=FULL_VIEW)
        found = _pick(read_spaces(response), space_id)
        if found is None:
            raise NotFound(f"no Instabase space {space_id!r} is visible to this token", provider=self.name)
        return found

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        handle = options.get("handle")
        if handle is None:
            org_name = check_org_name(derive_org_name(name), derived_from=name)
        else:
            org_name = check_org_name(handle)
        body = {"display_name": name, "description": description or ""}
        created = yield Request("POST", ORG_PATH + org_name, json=body)
        answer = read_envelope(created, status_optional=True)
        made = Space(
            provider=self.name,
            id=org_name,
            name=self.stored_name(name),
            kind=SpaceKind.ORGANIZATION,
            description=description or None,
            raw=answer,
        )
        shape = _shape(created, answer)
        if shape is None or shape in self._confirmed_shapes:
            return made
        # An answer without a status does not say the org was made: the listing is
        # asked, once for each such shape of answer; confirmed, the shape is trusted.
        listing = yield Request("GET", LIST_PATH, params=FULL_VIEW)
        found = _pick(read_spaces(listing), org_name)
        if found is None:
            raise created.protocol_error("the creation answer has no 'status' key and the org is not listed")
        self._confirmed_shapes.add(shape)
        return found


def _shape(response: Response, answer: Mapping[str, Any]) -> tuple[int, frozenset[str]] | None:
    """What an answer without ``status`` looks like (its status and keys); None for an OK."""
    if "status" in answer:
        return None  # read_envelope raised for anything but OK
    return response.status, frozenset(answer)


def _repo_path(space_id: str, name: str) -> str:
    return f"{REPO_PATH}{quote_id(space_id)}/{quote_id(name)}"


def _says_error(response: Response) -> bool:
    """Whether a body is the v1 failure envelope, ``{"status": "ERROR", ...}``."""
    if not response.content.lstrip().startswith(b"{"):
        return False
    try:
        body = response.json()
    except SpacekitError:
        return False
    status = body.get("status") if isinstance(body, Mapping) else None
    return isinstance(status, str) and status.upper() == "ERROR"


def _admin_only(options: Mapping[str, Any]) -> bool:
    value = options.get("admin_only", False)
    if not isinstance(value, bool):
        raise ValidationError(f"admin_only must be True or False, got {value!r}")
    return value


def _pick(spaces: list[Space], space_id: str) -> Space | None:
    return next((space for space in spaces if space.id == space_id), None)
