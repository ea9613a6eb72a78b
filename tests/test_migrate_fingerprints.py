"""spacekit._migrate._fingerprints: a compact set of strings."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from spacekit._migrate._fingerprints import Fingerprints


@given(st.lists(st.text(max_size=30), max_size=200), st.lists(st.text(max_size=30), max_size=50))
def test_it_behaves_as_a_set_of_strings(members: list[str], others: list[str]) -> None:
    prints = Fingerprints(members)
    assert len(prints) == len(set(members))
    assert all(member in prints for member in members)
    assert [o in prints for o in others] == [o in set(members) for o in others]
    rest = prints.without(Fingerprints(others))
    assert rest.matching([*members, *others]) == frozenset(set(members) - set(others))


def test_it_grows_and_stays_small() -> None:
    prints = Fingerprints(f"space-{i}" for i in range(100_000))
    assert len(prints) == 100_000 and "space-99999" in prints and "space-100000" not in prints
    prints.add("space-5")
    assert len(prints) == 100_000
    assert prints._table.itemsize * len(prints._table) <= 32 * 100_000  # at most 32 bytes each
