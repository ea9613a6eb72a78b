"""The Datablist provider: workspaces over Datablist's data API, described without I/O.

The operations follow the docs exactly: ``GET /`` lists, ``GET /{id}`` reads,
``POST /`` with exactly ``{"name", "@type": "Workspace"}`` creates (201 ``{"@id"}``:
the workspace is what was sent, under that id, with no read-back; its owner is the
user the token exchange named, ``user_id``, and the timestamps the answer does not
give are left unset), ``PATCH /{id}`` with only the changed fields
updates (204, read back), ``DELETE /{id}`` deletes (204). Every request sends
``Accept`` and ``Content-Type`` of ``application/json``. Datablist cannot filter by
name: every workspace is yielded, and the core's listing guard keeps those whose name
contains ``query`` (ignoring case).

Rules worth knowing:

- Descriptions: Datablist workspaces have none. ``writable_fields`` is ``{"name"}``,
  which is how callers (the migration planner) learn that a description is lost;
  ``create`` and ``update`` drop a description rather than refuse it, so copying
  spaces from a provider with descriptions works, with the loss reported there.
  An update that changes only the description sends nothing and reads back.
- Unknown ids: a 404, or a 400 to a GET or DELETE (only the id was sent), is
  ``NotFound``; a 400 to a PATCH is checked with a read of the id.
- ``check()`` is the token exchange (when an API key is set) and then the cheapest
  authenticated read, ``GET /``; ``request()`` sends any other call of the data API
  with the JSON media types Datablist asks for.
- Privilege: creating and deleting workspaces needs a privilege many accounts lack.
  A 403 there is ``PermissionDenied`` saying so. The real status is undocumented, so
  a 401 on create or delete that survives a fresh token is checked with a read
  (``GET /``) on the same token: if the read works, the credential is good and the
  refusal is the privilege (``PermissionDenied``); if not, ``AuthenticationError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from spacekit import (
    AuthenticationError,
    Capability,
    ConfigError,
    NotFound,
    PermissionDenied,
    Space,
    SpacekitError,
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

from ._auth import JSON_HEADERS, TokenCache
from ._wire import PROVIDER, created_workspace, error_message, parse_workspace, workspace_items

DEFAULT_AUTH_URL = "https://account.datablist.com"
_ACTIONS = {"POST": "creating", "DELETE": "deleting"}


def privilege_message(method: str) -> str:
    return (
        f"the Datablist account lacks the API privilege for {_ACTIONS[method]} workspaces "
        "(Datablist grants it on request; listing, reading and renaming work without it)"
    )


class DatablistProvider(Provider):
    """Datablist workspaces: list, get, create, update (name only), delete."""

    name = PROVIDER
    capabilities = frozenset(
        {
            Capability.LIST,
            Capability.GET,
            Capability.CREATE,
            Capability.UPDATE,
            Capability.DELETE,
            Capability.REQUEST,
        }
    )
    default_base_url = "https://data.datablist.com"
    settings = {
        "api_key": Setting("api_key", secret=True, help="the personal API key, exchanged for access tokens"),
        "access_token": Setting(
            "access_token", secret=True, help="an access token (JWT) obtained elsewhere; it cannot be renewed"
        ),
        "auth_url": Setting(
            "auth_url",
            default=DEFAULT_AUTH_URL,
            help="where the API key is exchanged for access tokens (POST <auth_url>/token); "
            f"Datablist's own is {DEFAULT_AUTH_URL}",
        ),
    }
    writable_fields = frozenset({"name"})

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        api_key = settings.get("api_key") or None
        access_token = settings.get("access_token") or None
        if (api_key is None) == (access_token is None):
            raise ConfigError(
                "the datablist store needs exactly one credential: api_key (a personal API key) "
                "or access_token (a token obtained elsewhere)" + (", not both" if api_key else "")
            )
        if access_token is not None and access_token.lower().startswith("bearer "):
            access_token = access_token[7:].strip()
        self._tokens = TokenCache(
            api_key=api_key,
            access_token=access_token,
            auth_url=settings.get("auth_url") or DEFAULT_AUTH_URL,
        )

    # -- authentication -------------------------------------------------------------

    def headers(self) -> Mapping[str, str]:
        return self._tokens.header()

    def secrets(self) -> Iterable[str]:
        return [*super().secrets(), *self._tokens.secrets()]

    def needs_authentication(self) -> bool:
        return self._tokens.needs_renewal()

    def authenticate(self) -> Operation[None]:
        response = yield self._tokens.exchange_request()
        self._tokens.accept(response)

    def forget_authentication(self) -> bool:
        return self._tokens.forget()

    def caller(self) -> str | None:
        return self._tokens.user_id

    def account(self) -> str | None:
        return self._tokens.account_id  # named by the token exchange (none with a fixed token)

    # -- errors -----------------------------------------------------------------------

    def error(self, response: Response) -> SpacekitError:
        request, status = response.request, response.status
        detail = error_message(response)
        context: dict[str, Any] = dict(
            provider=self.name, body=response.text, request_id=response.headers.get("x-request-id")
        )
        if not request.authenticated and status in (400, 401, 403):
            message = "Datablist refused the API key at the token exchange"
            return AuthenticationError(_explained(message, detail), status=status, **context)
        if status == 403 and request.method in _ACTIONS:
            message = privilege_message(request.method)
            return PermissionDenied(_explained(message, detail), status=status, **context)
        if status == 401:
            renewal = "" if self._tokens.renewable else " (no api_key is set to obtain a new one)"
            message = f"Datablist refused the access token{renewal}"
            return AuthenticationError(_explained(message, detail), status=status, **context)
        message = f"{request.label} failed"
        if status == 400 and request.method in ("GET", "DELETE") and request.path != "/":
            # Nothing but the id was sent: a 400 here says the id names no workspace.
            return NotFound(_explained(message, detail), status=status, **context)
        return error_for_status(status, _explained(message, detail), **context)

    # -- operations -------------------------------------------------------------------

    def check(self) -> Operation[None]:
        # The engine exchanges the API key first (needs_authentication), so a refused
        # key is an AuthenticationError from the exchange, a refused token one from here.
        yield _request("GET", "/")

    def request(self, call: Request) -> Operation[Response]:
        headers = {**JSON_HEADERS, **call.headers}
        return (
            yield Request(
                call.method,
                call.path,
                params=call.params,
                json=call.json,
                headers=headers,
                retry_safe=call.retry_safe,
            )
        )

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        response = cast(Response, (yield _request("GET", "/")))
        # no name filter in the API: the listing guard keeps the names containing ``query``
        for item in workspace_items(response):
            yield parse_workspace(item, response)

    def get(self, space_id: str) -> Operation[Space]:
        response = yield _request("GET", f"/{quote_id(space_id)}")
        return parse_workspace(response.json(), response)

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        # The description is dropped: see the module docstring.
        request = _request("POST", "/", json={"name": name, "@type": "Workspace"})
        response = yield from self._privileged(request)
        return created_workspace(response, self.stored_name(name), owner=self._tokens.user_id)

    def update(self, space_id: str, changes: Mapping[str, Any]) -> Operation[Space]:
        body = {key: value for key, value in changes.items() if key in self.writable_fields}
        if body:
            try:
                yield _request("PATCH", f"/{quote_id(space_id)}", json=body)
            except ValidationError as exc:
                yield from self._raise_if_missing(space_id)  # the 400 may be about the id
                raise exc
        return (yield from self.get(space_id))

    def delete(self, space_id: str) -> Operation[None]:
        yield from self._privileged(_request("DELETE", f"/{quote_id(space_id)}"))

    def _raise_if_missing(self, space_id: str) -> Operation[None]:
        """``NotFound`` when the id names no workspace; any other failure of this check is ignored."""
        try:
            yield from self.get(space_id)
        except NotFound:
            raise
        except SpacekitError:
            return

    def _privileged(self, request: Request) -> Operation[Response]:
        """Send a create or delete; a 401 that a good credential explains is the privilege."""
        try:
            return (yield request)
        except AuthenticationError as exc:
            if not self._tokens.held:
                raise  # the token exchange failed: the credential, not the privilege
            yield _request("GET", "/")  # raises AuthenticationError if the token is bad
            raise PermissionDenied(
                privilege_message(request.method),
                provider=self.name,
                status=exc.status,
                body=exc.body,
                request_id=exc.request_id,
            ) from None


def _request(method: str, path: str, json: Any = None) -> Request:
    return Request(method, path, json=json, headers=JSON_HEADERS)


def _explained(message: str, detail: str | None) -> str:
    return f"{message}: {detail}" if detail else message
