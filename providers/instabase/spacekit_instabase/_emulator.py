"""A strict, stateful emulator of the Instabase Space and Organization v1 APIs.

Written from ``providers.md`` and the Space API documentation, for one caller
(``alice``, with the token of ``connect_settings``). It starts with the two spaces
of the documentation's example and answers:

- ``GET /api/v1/spaces/list``: the four flags ``get_profiles``, ``get_repos``,
  ``get_admins`` and ``get_admin_spaces_only`` (``true``/``True``/``false``/``False``;
  any other value, or any other parameter, is an error). Keys a flag did not ask
  for are absent: profiles give ``full_name``, ``description`` and
  ``profile_photo_url`` (only when set); admins give ``admins`` and, in each repo,
  ``is_admin``; repos give ``repos``. The admin-only view keeps spaces the caller
  administers or where it administers a repo.
- ``POST /api/v1/organizations/<org_name>`` with ``{"display_name", "description"}``:
  a name outside 3-100 letters, digits, underscores, an existing handle (compared
  case-insensitively), or another body is refused.

- ``POST /api/v1/repos/<repo_owner>/<repo_name>`` with exactly ``{"description":
  str, "visibility": "public" or "private"}`` creates a Subspace (a repo): refused
  for an unknown space, a caller who does not manage the space, a name outside
  letters, digits, underscores and hyphens, a name the space already holds, or any
  other body. Whether Instabase takes ``data`` and ``Data`` for one name is not
  published: names are exact here (``data`` and ``Data`` are two repos), unless
  ``fold_subspace_case`` is set, which refuses a name differing only in case. The
  new repo shows in the listing's ``repos``.
- ``GET /api/v1/repos/<repo_owner>/<repo_name>`` answers ``{"repo": {owner, name,
  description, visibility, members: {accessor, admin, collaborator}}}`` to a
  manager of the repo, a member, or anyone for a public repo; others are refused.

Failures follow the documented convention: HTTP 200 with ``{"status": "ERROR",
"msg": ...}``. Every body is valid JSON (the documentation's examples are not).

Whether a bad token gets HTTP 401 or 200+ERROR is not published: set
``bad_token_status`` to 401 or 200 (the default, the v1 convention); both carry
the ERROR envelope.

Its snapshot (``GET /_spacekit/spaces``, a state file) is every space in full, with
its repos, as the listing answers with every flag plus what the repo API reads.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx

from spacekit.testing import Emulator, Router, json_response

TOKEN = "ib-emulator-token-7d3f9a2c51e84b06"
CALLER = "alice"
FLAGS = ("get_profiles", "get_repos", "get_admins", "get_admin_spaces_only")
ORG_NAME = re.compile(r"[A-Za-z0-9_]{3,100}")
REPO_NAME = re.compile(r"[A-Za-z0-9_-]+")
VISIBILITIES = ("public", "private")
BOOLEANS = {"true": True, "True": True, "false": False, "False": False}

DOCUMENTED_SPACES: list[dict[str, Any]] = [
    {
        "account_type": "USER",
        "repo_owner": "alice",
        "is_admin": True,
        "full_name": "Alice's Space",
        "description": "Alice's private user space",
        "profile_photo_url": "https://alice.jpg",
        "admins": [{"type": "user", "name": "alice"}],
        "repos": [
            {"repo_owner": "alice", "repo_name": "repo1", "is_admin": True},
            {"repo_owner": "alice", "repo_name": "repo2", "is_admin": True},
        ],
    },
    {
        "account_type": "ORGANIZATION",
        "repo_owner": "ib_eng",
        "is_admin": True,
        "full_name": "Engineering Organization",
        "description": "The engineering organization",
        "profile_photo_url": "https://eng.jpg",
        "admins": [{"type": "user", "name": "eng-lead"}],
        "repos": [
            {"repo_owner": "ib_eng", "repo_name": "repo1", "is_admin": False},
            {"repo_owner": "ib_eng", "repo_name": "repo2", "is_admin": False},
        ],
    },
]
"""The documentation's example answer to ``?get_profiles=True&get_admins=True&get_repos=True``,
made valid JSON: the emulator's initial state."""

SEEDED_REPOS: dict[tuple[str, str], dict[str, Any]] = {
    ("ib_eng", "repo1"): {"description": "Shared models", "visibility": "public"},
}
"""What the repo API reads of the seeded repos beyond the listing's keys (which the
listing never shows). The caller may read ib_eng/repo1 (public), not ib_eng/repo2
(private, and no grant); its own repos it manages."""


def error(msg: str, status: int = 200) -> httpx.Response:
    """The v1 failure envelope."""
    return json_response(status, {"status": "ERROR", "msg": msg})


def ok(**data: Any) -> httpx.Response:
    return json_response(200, {"status": "OK", **data})


class InstabaseEmulator(Emulator):
    """The Instabase emulator; ``spaces`` holds every space in full, keyed by handle."""

    provider = "instabase"
    router = Router()
    #: the HTTP status a bad token gets (401, or 200 as the v1 convention has it)
    bad_token_status: int = 200
    #: refuse a subspace name that differs only in case from one the space holds
    #: (unpublished either way: exact names by default)
    fold_subspace_case: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.token = TOKEN
        self.spaces: dict[str, dict[str, Any]] = {}
        self.seed(DOCUMENTED_SPACES)

    def seed(self, spaces: list[dict[str, Any]]) -> None:
        """Replace every space with these full payloads (as answered with all flags)."""
        with self.lock:
            self.spaces = {item["repo_owner"]: copy.deepcopy(item) for item in spaces}
            for space in self.spaces.values():
                for repo in space.get("repos", []):
                    repo.update(copy.deepcopy(SEEDED_REPOS.get((space["repo_owner"], repo["repo_name"]), {})))

    def connect_settings(self, base_url: str) -> dict[str, Any]:
        return {"token": self.token, "base_url": base_url}

    def set_credential(self, credential: str) -> None:
        self.token = credential

    def add_space(self, name: str, display_name: str = "", description: str = "") -> dict[str, Any]:
        """Add an organization the caller administers, as the API creates them; returns it."""
        space = {
            "account_type": "ORGANIZATION",
            "repo_owner": name,
            "is_admin": True,
            "full_name": display_name or name,
            "description": description,
            "admins": [{"type": "user", "name": CALLER}],
            "repos": [],
        }
        with self.lock:
            self.spaces[name] = space
        return space

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"spaces": copy.deepcopy(list(self.spaces.values()))}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        spaces = snapshot.get("spaces")
        if not isinstance(spaces, list) or not all(_is_space(space) for space in spaces):
            raise ValueError("spaces must be a list of spaces, each with repo_owner, account_type, is_admin")
        restored = {space["repo_owner"]: copy.deepcopy(space) for space in spaces}
        if len(restored) != len(spaces):
            raise ValueError("two spaces have the same repo_owner")
        with self.lock:
            self.spaces = restored

    def error_response(self, status: int, message: str) -> httpx.Response:
        return error(message, status)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error("Authentication failed: invalid or missing token", self.bad_token_status)
        answer = self.router.dispatch(self, request)
        return answer if answer is not None else error("Not found", 404)

    @router.route("GET", r"/api/v1/spaces/list")
    def _list(self, request: httpx.Request) -> httpx.Response:
        flags: dict[str, bool] = dict.fromkeys(FLAGS, False)
        for key, value in parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True):
            if key not in flags:
                return error(f"Unknown parameter: {key}")
            if value not in BOOLEANS:
                return error(f"Invalid value for {key}: {value!r}")
            flags[key] = BOOLEANS[value]
        spaces = [s for s in self.spaces.values() if not flags["get_admin_spaces_only"] or _administers(s)]
        return ok(spaces=[_view(space, flags) for space in spaces])

    @router.route("POST", r"/api/v1/repos/(?P<owner>[^/]*)/(?P<name>[^/]*)")
    def _create_repo(self, request: httpx.Request, owner: str, name: str) -> httpx.Response:
        space = self.spaces.get(owner)
        if space is None:
            return error(f"Space {owner} does not exist")
        if not space.get("is_admin"):
            return error("Permission denied: only a manager of the space can create a subspace")
        if not REPO_NAME.fullmatch(name):
            return error(f"Invalid subspace name: {name!r}")
        try:
            body = json.loads(request.content)
        except ValueError:
            return error("Request body must be JSON")
        if not isinstance(body, dict) or set(body) != {"description", "visibility"}:
            return error("Request body must be an object with exactly description and visibility")
        if not isinstance(body["description"], str) or body["visibility"] not in VISIBILITIES:
            return error("description must be a string and visibility public or private")
        if any(self._same_repo(repo["repo_name"], name) for repo in space.get("repos", [])):
            return error(f"Subspace {owner}/{name} already exists")
        space.setdefault("repos", []).append(
            {
                "repo_owner": owner,
                "repo_name": name,
                "is_admin": True,
                "description": body["description"],
                "visibility": body["visibility"],
                "members": {"admin": [{"type": "user", "name": CALLER}], "collaborator": [], "accessor": []},
            }
        )
        return ok()

    def _same_repo(self, held: str, name: str) -> bool:
        return held.casefold() == name.casefold() if self.fold_subspace_case else held == name

    @router.route("GET", r"/api/v1/repos/(?P<owner>[^/]*)/(?P<name>[^/]*)")
    def _get_repo(self, request: httpx.Request, owner: str, name: str) -> httpx.Response:
        if request.url.query:
            return error("Unknown parameter")
        space = self.spaces.get(owner, {})
        repo = next((r for r in space.get("repos", []) if r["repo_name"] == name), None)
        if repo is None:
            return error(f"Subspace {owner}/{name} does not exist")
        members = repo.get("members") or _default_members(space, repo)
        granted = any(m.get("name") == CALLER for role in members.values() for m in role)
        if not (repo.get("is_admin") or granted or repo.get("visibility") == "public"):
            return error(f"Permission denied: you have no access to {owner}/{name}")
        return ok(
            repo={
                "owner": owner,
                "name": repo["repo_name"],
                "description": repo.get("description", ""),
                "visibility": repo.get("visibility", "private"),
                "members": copy.deepcopy(members),
            }
        )

    @router.route("POST", r"/api/v1/organizations/(?P<org_name>[^/]*)")
    def _create_org(self, request: httpx.Request, org_name: str) -> httpx.Response:
        if not ORG_NAME.fullmatch(org_name):
            return error(f"Invalid organization name: {org_name!r}")
        try:
            body = json.loads(request.content)
        except ValueError:
            return error("Request body must be JSON")
        if not isinstance(body, dict) or not set(body) <= {"display_name", "description"}:
            return error("Request body must be an object with display_name and description")
        if not all(isinstance(body.get(k, ""), str) for k in ("display_name", "description")):
            return error("display_name and description must be strings")
        if any(handle.lower() == org_name.lower() for handle in self.spaces):
            return error(f"Organization {org_name} already exists")
        self.add_space(org_name, body.get("display_name", ""), body.get("description", ""))
        return ok()


def _default_members(space: dict[str, Any], repo: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Members of a seeded repo that names none: the space's admins manage it."""
    admins = copy.deepcopy(space.get("admins", []))
    return {"admin": admins, "collaborator": [], "accessor": []}


def _is_space(space: Any) -> bool:
    """Whether a snapshot's space has what the handlers read."""
    if not isinstance(space, dict) or not isinstance(space.get("repo_owner"), str):
        return False
    if space.get("account_type") not in ("USER", "ORGANIZATION") or not isinstance(
        space.get("is_admin"), bool
    ):
        return False
    repos = space.get("repos", [])
    return isinstance(repos, list) and all(
        isinstance(repo, dict) and isinstance(repo.get("repo_name"), str) and "repo_owner" in repo
        for repo in repos
    )


def _administers(space: dict[str, Any]) -> bool:
    return bool(space.get("is_admin")) or any(repo.get("is_admin") for repo in space.get("repos", []))


def _view(space: dict[str, Any], flags: dict[str, bool]) -> dict[str, Any]:
    """A space as the flags show it; keys not asked for are absent."""
    view = {key: space[key] for key in ("account_type", "repo_owner", "is_admin")}
    if flags["get_profiles"]:
        view.update({k: space[k] for k in ("full_name", "description", "profile_photo_url") if k in space})
    if flags["get_admins"]:
        view["admins"] = copy.deepcopy(space.get("admins", []))
    if flags["get_repos"]:
        keys = ("repo_owner", "repo_name", "is_admin") if flags["get_admins"] else ("repo_owner", "repo_name")
        view["repos"] = [{k: repo[k] for k in keys} for repo in space.get("repos", [])]
    return view
