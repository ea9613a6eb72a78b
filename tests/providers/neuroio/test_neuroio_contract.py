"""The shared store contract, run against the NeuroIO emulator in-process, sync and async."""

from spacekit.testing import EmulatorContract


class TestNeuroIOContract(EmulatorContract):
    settings = {"backoff": 0.01, "retries": 3, "deadline": 5.0}
