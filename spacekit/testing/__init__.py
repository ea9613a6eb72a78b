"""Testing helpers for spacekit and its users: emulators, faults, the contract suite.

Offline tests of your own migration scripts::

    def test_my_script(spacekit_emulator):
        emulator = spacekit_emulator("neuroio")
        with emulator.connect() as store:
            ...

The pytest plugin (``spacekit.testing.pytest_plugin``) is registered automatically.

The contract suite every store must pass, for a plugin's own tests::

    class TestMyStore(spacekit.testing.SpaceStoreContract):
        ...  # a `store` and an `async_store` fixture

It needs pytest (which spacekit itself does not), so it is imported on first use.
"""

from typing import TYPE_CHECKING, Any

from ._cassettes import find_secrets, scrub_body, vcr_config
from ._config_block import ConfigBlock
from ._control import ENDPOINTS as CONTROL_ENDPOINTS
from ._emulator import (
    IN_PROCESS_URL,
    Clock,
    Emulator,
    EmulatorTransport,
    LoggedRequest,
    Router,
    emulated_providers,
    emulator_for,
    json_response,
)
from ._faults import Faults
from ._serve import log_line

if TYPE_CHECKING:
    from ._contract import EmulatorContract, SpaceStoreContract

__all__ = [
    "CONTROL_ENDPOINTS",
    "Clock",
    "ConfigBlock",
    "Emulator",
    "EmulatorContract",
    "EmulatorTransport",
    "Faults",
    "IN_PROCESS_URL",
    "LoggedRequest",
    "Router",
    "SpaceStoreContract",
    "emulated_providers",
    "emulator_for",
    "find_secrets",
    "json_response",
    "log_line",
    "scrub_body",
    "vcr_config",
]


def __getattr__(name: str) -> Any:
    if name in ("SpaceStoreContract", "EmulatorContract"):
        import pytest

        pytest.register_assert_rewrite("spacekit.testing._contract")
        from . import _contract

        return getattr(_contract, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
