"""Variations on the hostile cases of listings, delete proofs and subspaces that the
first tests of each did not try: a search that shows an unlisted space of the name in
another case, and a target that answers a subspace's create with another name.

Each runs against a server written here from the published facts (``providers.md``),
not against the plugins' emulators, under a memory ceiling.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from short_servers import Short, ShortServer

import spacekit

pytestmark = pytest.mark.memory_ceiling


def test_a_search_finding_an_unlisted_space_of_the_name_in_another_case_holds_the_deletes() -> None:
    """The source's listing adds up and misses ``SPACE 003`` (renamed from ``space 003``,
    say); the search by the target space's name shows it: its counterpart stays."""
    served = ["space 001", "space 002", "SPACE 003", "space 004", "space 005"]
    source = ShortServer(served, page=2, short=Short("hide", at=2, n=1, times=99))
    target = spacekit.connect("memory")
    for name in ("space 001", "space 002", "space 003", "space 004", "space 005"):
        target.create(name)
    with source.store() as src:
        report = spacekit.sync(src, target, apply=True, delete=True, concurrency=1)
    assert not report.ok and report.unreadable and "'SPACE 003'" in report.unreadable
    assert len(report.held_back) == 1 and "held back" in report.summary()
    assert "space 003" in {space.name for space in target.list()}  # never deleted


class FoldingInstabase:
    """An Instabase-shaped API (``/api/v1/spaces/list``, organizations, repos) whose
    repo names fold case silently: a create of ``Data`` beside ``data`` answers OK and
    makes nothing, and a read of ``Data`` answers ``data``."""

    def __init__(self, repos: dict[str, list[str]] | None = None) -> None:
        self.spaces: dict[str, dict[str, Any]] = {
            handle: {"full_name": handle.title(), "repos": list(names)}
            for handle, names in (repos or {}).items()
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/api/v1/spaces/list":
            spaces = [
                {
                    "account_type": "ORGANIZATION",
                    "repo_owner": handle,
                    "is_admin": True,
                    "full_name": space["full_name"],
                    "repos": [
                        {"repo_owner": handle, "repo_name": n, "is_admin": True} for n in space["repos"]
                    ],
                }
                for handle, space in self.spaces.items()
            ]
            return httpx.Response(200, json={"status": "OK", "spaces": spaces})
        found = re.fullmatch(r"/api/v1/organizations/(\w+)", path)
        if found and method == "POST":
            body = json.loads(request.content)
            self.spaces[found[1]] = {"full_name": body["display_name"], "repos": []}
            return httpx.Response(200, json={"status": "OK"})
        found = re.fullmatch(r"/api/v1/repos/([^/]+)/([^/]+)", path)
        if found and found[1] in self.spaces:
            repos = self.spaces[found[1]]["repos"]
            same = [n for n in repos if n.casefold() == found[2].casefold()]
            if method == "POST":
                if not same:
                    repos.append(found[2])
                return httpx.Response(200, json={"status": "OK"})
            if same:
                repo = {"owner": found[1], "name": same[0], "description": "", "visibility": "private"}
                return httpx.Response(200, json={"status": "OK", "repo": repo})
        return httpx.Response(200, json={"status": "ERROR", "msg": "not found"})

    def store(self) -> spacekit.SpaceStore:
        return spacekit.connect(
            "instabase", token="t", base_url="https://ib.test", transport=httpx.MockTransport(self), retries=0
        )


def test_a_subspace_create_answered_with_another_name_is_failed_not_dropped() -> None:
    source = FoldingInstabase({"lab": ["data", "Data"]})
    target = FoldingInstabase()
    with source.store() as src, target.store() as dst:
        src_spaces = list(src.list())
        assert [s.name for s in src_spaces[0].subspaces] == ["data", "Data"]
        report = spacekit.migrate(src, dst)
        assert not report.ok
        (item,) = report.failed
        assert "'Data'" in (item.error or "") and "'data'" in (item.error or ""), item.error
        assert target.spaces["lab"]["repos"] == ["data"]
        assert not spacekit.verify(src, dst).ok
