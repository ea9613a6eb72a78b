"""Fixtures shared by the whole suite.

Every test runs without the user's configuration, data or ``SPACEKIT_*`` variables.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable

import pytest
from ceiling import HEADROOM_MB, run_under_ceiling
from hypothesis import strategies

from spacekit import _registry
from spacekit.plugin import Plugin


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh home and XDG directories (platformdirs reads them), no SPACEKIT_* variables."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("SPACEKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(variable, str(home / variable.lower()))


@pytest.fixture
def register_plugin(monkeypatch: pytest.MonkeyPatch) -> Callable[[Plugin], None]:
    """Make a plugin object installed, under its name, for one test."""

    def register(plugin: Plugin) -> None:
        names, load = _registry.names, _registry.load
        monkeypatch.setattr(_registry, "names", lambda: sorted({*names(), plugin.name}))
        monkeypatch.setattr(_registry, "load", lambda name: plugin if name == plugin.name else load(name))

    return register


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "memory_ceiling(megabytes=512): run the test in a child process limited to that much "
        "memory over the test process (see tests/ceiling.py)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A test marked ``memory_ceiling`` runs in a forked child under that ceiling."""
    marker = pyfuncitem.get_closest_marker("memory_ceiling")
    if marker is None:
        return None
    megabytes = int(marker.kwargs.get("megabytes", marker.args[0] if marker.args else HEADROOM_MB))
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    if getattr(pyfuncitem.obj, "is_hypothesis_test", False):
        # Hypothesis builds its table of the characters UTF-8 can encode the first time
        # a text strategy is used (about 200 MB at its peak, then cached): built in the
        # child, a fresh checkout's first such test would die of the ceiling.
        strategies.text().validate()
    run_under_ceiling(lambda: pyfuncitem.obj(**arguments), megabytes)
    return True


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The skipped tests in one short summary: a line per reason, with its count."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = collections.Counter(_skip_reason(report) for report in skipped)
    if not reasons:
        return
    terminalreporter.section(f"{len(skipped)} skipped, by reason", sep="-")
    for reason, count in reasons.most_common(_SHOWN_REASONS):
        terminalreporter.write_line(f"{count:5d}  {reason}")
    if len(reasons) > _SHOWN_REASONS:
        rest = sum(count for _, count in reasons.most_common()[_SHOWN_REASONS:])
        terminalreporter.write_line(f"{rest:5d}  {len(reasons) - _SHOWN_REASONS} other reasons (pytest -rs)")


_SHOWN_REASONS = 12


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")
