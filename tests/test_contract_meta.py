"""Tests of the contract suite itself (``spacekit/testing/_contract.py``).

A suite that passes everything proves nothing: here it runs, in a separate pytest
process with no project configuration (so pytest-asyncio's strict mode, as in a
plugin's own repository), against a correct store and against stores each broken
in one way, and each break must make the tests that guard against it fail.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

SUITE = """
import contextlib

import attrs
import pytest
import pytest_asyncio

import spacekit
from spacekit import NotFound
from spacekit._local import SQLiteStore
from spacekit._sqlite import MEMORY, Database
from spacekit.testing import SpaceStoreContract


class ClobbersDescription(SQLiteStore):
    def _update(self, space_id, changes):
        return super()._update(space_id, {"description": None, **changes})


class IgnoresQuery(SQLiteStore):
    def _list(self, query, options):
        return super()._list(None, options)


class SilentDelete(SQLiteStore):
    def _delete(self, space_id):
        with contextlib.suppress(NotFound):
            super()._delete(space_id)


class StoresBeforeChecking(SQLiteStore):
    def create(self, name, description=None, **options):
        self._database.insert({"name": str(name), "description": None})
        return super().create(name, description, **options)


class WrongErrorForUnknownId(SQLiteStore):
    def _get(self, space_id):
        try:
            return super()._get(space_id)
        except NotFound:
            raise KeyError(space_id) from None


class LosesDescription(SQLiteStore):
    def _get(self, space_id):
        return attrs.evolve(super()._get(space_id), description=None)


class Contract(SpaceStoreContract):
    store_class = SQLiteStore

    @pytest.fixture
    def store(self):
        with self.store_class(Database.open(MEMORY, provider="memory")) as store:
            yield store

    @pytest_asyncio.fixture
    async def async_store(self):
        async with spacekit.connect_async("memory") as store:
            yield store


class TestCorrect(Contract):
    pass


""" + "".join(
    f"class Test{name}(Contract):\n    store_class = {name}\n\n\n"
    for name in (
        "ClobbersDescription",
        "IgnoresQuery",
        "SilentDelete",
        "StoresBeforeChecking",
        "WrongErrorForUnknownId",
        "LosesDescription",
    )
)

EXPECTED_FAILURES = {
    "ClobbersDescription": {"test_update_changes_only_the_given_field"},
    "IgnoresQuery": {"test_list_query_filters_by_name"},
    "SilentDelete": {"test_delete_twice_is_not_found"},
    "StoresBeforeChecking": {"test_bad_name_is_refused_before_storing", "test_bad_description_is_refused"},
    "WrongErrorForUnknownId": {"test_get_unknown_id_is_not_found", "test_delete_then_get_is_not_found"},
    "LosesDescription": {"test_create_then_get", "test_created_space_keeps_name_and_description"},
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, set[str]]]:
    """For each test class of ``SUITE``: the names of the tests that passed, failed or erred."""
    folder = tmp_path_factory.mktemp("contract")
    (folder / "test_suite.py").write_text(SUITE)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "test_suite.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, dict[str, set[str]]] = {}
    for outcome, cls, test in re.findall(r"^(PASSED|FAILED|ERROR) \S*?::Test(\w+)::(\w+)", run.stdout, re.M):
        result.setdefault(cls, {}).setdefault(outcome, set()).add(test)
    assert result, run.stdout + run.stderr
    return result


def test_a_correct_store_passes_everything(outcomes: dict[str, dict[str, set[str]]]) -> None:
    correct = outcomes["Correct"]
    assert set(correct) == {"PASSED"}, correct
    assert {"test_async_core_flow", "test_create_then_get"} <= correct["PASSED"]


@pytest.mark.parametrize("broken", sorted(EXPECTED_FAILURES))
def test_each_break_is_caught(outcomes: dict[str, dict[str, set[str]]], broken: str) -> None:
    assert EXPECTED_FAILURES[broken] <= outcomes[broken].get("FAILED", set())
    assert "ERROR" not in outcomes[broken]


def test_suite_is_the_one_exported() -> None:
    import spacekit.testing
    from spacekit.testing._contract import SpaceStoreContract

    assert spacekit.testing.SpaceStoreContract is SpaceStoreContract
    assert "SpaceStoreContract" in spacekit.testing.__all__
