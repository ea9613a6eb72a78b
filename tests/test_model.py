"""The normalized model: Space round-trips through JSON, is frozen, keeps raw read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spacekit
from spacekit import Principal, Space, SpaceKind, SpaceToken, Subspace
from spacekit.plugin import parse_datetime

FULL = Space(
    provider="instabase",
    id="acme",
    name="Acme Inc.",
    kind=SpaceKind.ORGANIZATION,
    description="the org",
    owner="ana",
    admins=[Principal("user", "ana"), Principal("group", "ops")],
    subspaces=[Subspace("acme", "contracts", True)],
    image_url="https://img.example/a.png",
    is_admin=True,
    created_at=datetime(2023, 3, 28, 9, 11, 17),
    updated_at=datetime(2023, 3, 28, 10, 0, tzinfo=timezone(timedelta(hours=2))),
    raw={"repo_owner": "acme", "nested": {"x": [1, 2]}},
)


def test_to_dict_round_trips_through_json() -> None:
    data = json.loads(json.dumps(FULL.to_dict()))
    assert Space.from_dict(data) == FULL
    assert data["created_at"] == "2023-03-28T09:11:17Z"
    assert data["updated_at"] == "2023-03-28T08:00:00Z"
    assert data["kind"] == "organization"


def test_datetimes_are_aware_utc() -> None:
    assert FULL.created_at is not None and FULL.created_at.tzinfo == UTC
    assert FULL.updated_at == datetime(2023, 3, 28, 8, 0, tzinfo=UTC)


def test_space_is_frozen_and_raw_is_read_only() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        FULL.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        FULL.raw["repo_owner"] = "x"  # type: ignore[index]


def test_raw_is_copied_not_shared() -> None:
    payload = {"id": 1}
    space = Space(provider="p", id="1", name="n", raw=payload)
    payload["id"] = 2
    assert space.raw["id"] == 1


def test_spaces_are_hashable_despite_raw() -> None:
    assert len({FULL, attrs.evolve(FULL)}) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"provider": "p", "id": "1"}, "'name' is required"),
        ({"provider": "p", "id": "1", "name": "n", "colour": "red"}, "unknown space field"),
        ({"provider": "p", "id": "1", "name": "n", "kind": "planet"}, "malformed space"),
        ({"provider": "p", "id": "1", "name": "n", "created_at": "yesterday"}, "malformed space"),
        ({"provider": "p", "id": "1", "name": "n", "admins": "ana"}, "'admins' must be a list"),
        ({"provider": "p", "id": "1", "name": "n", "is_admin": "yes"}, "'is_admin'"),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_from_dict_refuses_malformed_documents(data: object, message: str) -> None:
    with pytest.raises(spacekit.ValidationError, match=message):
        Space.from_dict(data)  # type: ignore[arg-type]


def test_token_key_never_shows_in_repr() -> None:
    token = SpaceToken(
        id="7", space_id="1", key="s3cr3t-key-value", permanent=True, raw={"key": "s3cr3t-key-value"}
    )
    assert "s3cr3t" not in repr(token)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-03-28T09:11:17", datetime(2023, 3, 28, 9, 11, 17, tzinfo=UTC)),
        ("2023-03-28T09:11:17Z", datetime(2023, 3, 28, 9, 11, 17, tzinfo=UTC)),
        ("2023-03-28T09:11:17+00:00", datetime(2023, 3, 28, 9, 11, 17, tzinfo=UTC)),
        ("2023-03-28T11:11:17.5+02:00", datetime(2023, 3, 28, 9, 11, 17, 500000, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_parse_datetime(text: str | None, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected


texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(
    name=texts.filter(str.strip),
    description=st.none() | texts,
    kind=st.sampled_from(SpaceKind),
    admins=st.lists(st.builds(Principal, st.sampled_from(["user", "group"]), texts), max_size=3),
    when=st.none() | st.datetimes(timezones=st.just(UTC)),
    raw=st.dictionaries(texts, st.none() | st.integers() | texts, max_size=4),
)
def test_any_space_round_trips(
    name: str,
    description: str | None,
    kind: SpaceKind,
    admins: list[Principal],
    when: datetime | None,
    raw: dict[str, object],
) -> None:
    space = Space(
        provider="p",
        id="1",
        name=name,
        kind=kind,
        description=description,
        admins=admins,
        created_at=when,
        raw=raw,
    )
    assert Space.from_dict(json.loads(json.dumps(space.to_dict()))) == space


def test_subspaces_round_trip_in_full_and_read_older_documents() -> None:
    from spacekit import Member

    full = Subspace("o", "r", True, "d", False, (Member("group", "eng", "accessor"),))
    assert Subspace.from_dict(full.to_dict()) == full
    space = Space(provider="p", id="1", name="n", subspaces=(full,))
    assert Space.from_dict(space.to_dict()) == space
    old = {
        "provider": "p",
        "id": "1",
        "name": "n",
        "subspaces": [{"owner": "o", "name": "r", "is_admin": None}],
    }
    assert Space.from_dict(old).subspaces == (Subspace("o", "r"),)
    for bad in (
        {"owner": "o"},
        {"owner": "o", "name": "r", "private": "yes"},
        {"owner": "o", "name": "r", "members": [{"kind": "user", "name": "x", "role": "king"}]},
        {"owner": "o", "name": "r", "colour": "red"},
    ):
        with pytest.raises(spacekit.ValidationError):
            Subspace.from_dict(bad)
