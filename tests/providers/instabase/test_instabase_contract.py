"""The shared store contract, run against the Instabase emulator in-process, sync and async.

Instabase can list, get and create; the update, delete and token tests check that
the store refuses them with ``Unsupported`` before any request.
"""

from __future__ import annotations

import pytest
from spacekit_instabase._emulator import InstabaseEmulator

import spacekit
from spacekit.testing import EmulatorContract, SpaceStoreContract

#: A create is one request answered ``{"status": "OK"}``: the space it returns has
#: what was sent and no admins, which the listing gives (the rest must agree).
CREATED_FIELDS = tuple(f for f in SpaceStoreContract.compared_fields if f != "admins")


class TestInstabaseContract(EmulatorContract):
    missing_id = "no_such_space"
    settings = {"backoff": 0.01, "retries": 3, "deadline": 5.0}
    compared_fields = CREATED_FIELDS


@pytest.mark.parametrize("call", ["update", "delete", "create_token"])
def test_refused_operations_send_nothing(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, call: str
) -> None:
    with pytest.raises(spacekit.Unsupported):
        if call == "update":
            ib.update("ib_eng", name="x")
        elif call == "delete":
            ib.delete("ib_eng")
        else:
            ib.create_token("ib_eng")
    assert emulator.requests == []
