"""Property tests: normalizing any valid space payload never raises and keeps ``raw`` as given."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from spacekit_instabase import derive_org_name, parse_space

from spacekit import Space, SpaceKind

KNOWN = (
    "account_type",
    "repo_owner",
    "is_admin",
    "full_name",
    "description",
    "profile_photo_url",
    "admins",
    "repos",
)
handles = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
admins = st.fixed_dictionaries(
    {"name": handles}, optional={"type": st.sampled_from(["user", "group"]), "extra": json_values}
)
repos = st.fixed_dictionaries(
    {"repo_name": handles},
    optional={"repo_owner": handles, "is_admin": st.booleans(), "extra": json_values},
)
spaces = st.fixed_dictionaries(
    {"repo_owner": handles},
    optional={
        "account_type": st.sampled_from(["USER", "ORGANIZATION", "organization", "WORKSPACE", "GROUP"]),
        "is_admin": st.booleans(),
        "full_name": st.text(max_size=40),
        "description": st.none() | st.text(max_size=40),
        "profile_photo_url": st.none() | st.text(max_size=40),
        "admins": st.lists(admins, max_size=3),
        "repos": st.lists(repos, max_size=3),
    },
).flatmap(
    lambda base: st.dictionaries(
        st.text(max_size=12).filter(lambda k: k not in base and k not in KNOWN),
        json_values,
        max_size=3,
    ).map(lambda extra: {**base, **extra})
)


@settings(max_examples=200, deadline=None)
@given(spaces)
def test_any_valid_payload_normalizes_and_keeps_raw(payload: dict[str, Any]) -> None:
    original = copy.deepcopy(payload)
    space = parse_space(payload)
    assert isinstance(space, Space)
    assert dict(space.raw) == original
    assert payload == original  # the input is not modified
    assert space.provider == "instabase" and space.id == payload["repo_owner"]
    full_name = payload.get("full_name") or ""
    assert space.name == (full_name if full_name.strip() else payload["repo_owner"])
    expected_kind = {"USER": SpaceKind.USER, "ORGANIZATION": SpaceKind.ORGANIZATION}.get(
        str(payload.get("account_type", "")).upper(), SpaceKind.WORKSPACE
    )
    assert space.kind is expected_kind
    assert space.is_admin is payload.get("is_admin")
    assert [a.name for a in space.admins] == [a["name"] for a in payload.get("admins", [])]
    assert [(s.owner, s.name, s.is_admin) for s in space.subspaces] == [
        (r.get("repo_owner", payload["repo_owner"]), r["repo_name"], r.get("is_admin"))
        for r in payload.get("repos", [])
    ]
    assert Space.from_dict(space.to_dict()) == space


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6), handles)
def test_optional_keys_of_any_type_never_raise(noise: dict[str, Any], owner: str) -> None:
    payload = {**noise, "repo_owner": owner}
    for key in ("full_name", "description", "admins", "repos", "is_admin", "account_type"):
        payload.setdefault(key, noise.get(key))
    space = parse_space(payload)
    assert dict(space.raw) == payload and space.id == owner


@given(st.text(max_size=300))
def test_derived_org_names_only_hold_allowed_characters(name: str) -> None:
    handle = derive_org_name(name)
    assert len(handle) <= 100
    assert all(c.isascii() and (c.isalnum() or c == "_") for c in handle)
