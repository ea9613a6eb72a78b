"""Testing helpers for spacekit and its users: emulators, faults, the contract suite.

Offline tests of your own migration scripts::

    def test_my_script(spacekit_emulator):
        emulator = spacekit_emulator("neuroio")
        with emulator.connect() as store:
            ...

The pytest plugin (``spacekit.testing.pytest_plugin``) is registered automatically.
"""

from ._cassettes import find_secrets, scrub_body, vcr_config
from ._emulator import (
    IN_PROCESS_URL,
    Clock,
    Emulator,
    EmulatorTransport,
    Faults,
    LoggedRequest,
    Router,
    json_response,
)

__all__ = [
    "IN_PROCESS_URL",
    "Clock",
    "Emulator",
    "EmulatorTransport",
    "Faults",
    "LoggedRequest",
    "Router",
    "find_secrets",
    "json_response",
    "scrub_body",
    "vcr_config",
]
