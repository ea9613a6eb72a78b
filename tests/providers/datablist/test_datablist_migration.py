"""Datablist as the target of a migration: descriptions reported lost, one token
exchange for every worker, and a missing privilege that stops the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from spacekit_datablist._emulator import DatablistEmulator

import spacekit


@pytest.fixture
def migrate() -> Callable[..., Any]:
    found = getattr(spacekit, "migrate", None)
    if found is None:
        pytest.skip("spacekit.migrate is not public yet")
    return found  # type: ignore[no-any-return]


@pytest.fixture
def source() -> Any:
    with spacekit.connect("memory") as store:
        for index in range(6):
            store.create(f"migrated {index}", description="Datablist keeps no description")
        yield store


def test_spaces_arrive_with_their_description_reported_lost(
    migrate: Callable[..., Any], source: Any, emulator: DatablistEmulator, store: Any
) -> None:
    report = migrate(source, store, concurrency=4)
    assert sorted(w["name"] for w in emulator.workspaces.values()) == [f"migrated {i}" for i in range(6)]
    assert all("description" in item.lost for item in report.items)
    assert emulator.token_exchanges() == 1
    creates = [r for r in emulator.requests if (r.method, r.path) == ("POST", "/")]
    assert all(set(r.json()) == {"name", "@type"} for r in creates)


def test_a_missing_privilege_stops_the_run(
    migrate: Callable[..., Any], source: Any, emulator: DatablistEmulator, store: Any
) -> None:
    emulator.privileged = False
    with pytest.raises(spacekit.PermissionDenied, match="lacks the API privilege"):
        migrate(source, store)
    assert emulator.workspaces == {}
