"""The pytest plugin's fixtures, the README's offline-testing example, and `spacekit emulate`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable

import pytest

import spacekit
from spacekit.testing import Emulator


def test_memory_store_fixture_is_fresh(spacekit_memory_store: spacekit.SpaceStore) -> None:
    assert spacekit_memory_store.provider == "memory"
    assert list(spacekit_memory_store.list()) == []


def test_emulator_fixture_skips_for_a_provider_that_is_not_installed(
    spacekit_emulator: Callable[[str], Emulator],
) -> None:
    with pytest.raises(pytest.skip.Exception, match="unknown provider"):
        spacekit_emulator("no-such-provider")
    with pytest.raises(pytest.skip.Exception, match="ships no emulator"):
        spacekit_emulator("local")


def test_the_readme_example(spacekit_emulator: Callable[[str], Emulator]) -> None:
    source = spacekit_emulator("neuroio")
    target = spacekit_emulator("datablist")
    source.faults.fail(503, times=3, method="GET")
    target.faults.drop(1, after_commit=True, method="POST", path="^/$")
    with source.connect(backoff=0.001) as src, target.connect(backoff=0.001) as dst:
        src.create("from the test")
        report = spacekit.migrate(src, dst)
        assert report.ok, report.summary()
        names = sorted(s.name for s in dst.list())
    assert names == ["default", "from the test"]  # the dropped write was reconciled, not repeated
    assert [r.method for r in target.requests].count("POST") >= 2


def test_spacekit_emulate_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "spacekit", "emulate", "neuroio"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # Ctrl-C must reach it even when this run ignores SIGINT (a background job)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        section = "".join(process.stdout.readline() for _ in range(4))
        store = tomllib.loads(section)["stores"]["neuroio-emulator"]
        with spacekit.connect(store.pop("provider"), **store) as client:
            assert [s.name for s in client.list()] == ["default"]
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in err
