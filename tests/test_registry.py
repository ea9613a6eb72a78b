"""The registry: entry points read lazily, sorted, with install hints and broken plugins reported."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import spacekit
from spacekit import _registry


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, EntryPoint]]:
    points = {
        name: EntryPoint(name=name, value=value, group=_registry.GROUP)
        for name, value in [
            ("toy", "toy:plugin"),
            ("broken", "spacekit_no_such_module:plugin"),
            ("wrong", "toy:TOKEN"),
        ]
    }
    monkeypatch.setattr(_registry, "_entry_points", lambda: dict(sorted(points.items())))
    _registry.load.cache_clear()
    yield points
    _registry.load.cache_clear()


def test_embedded_stores_are_registered_by_entry_point() -> None:
    assert {"local", "memory"} <= set(_registry.names())
    assert _registry.names() == sorted(_registry.names())


def test_unknown_known_provider_gets_an_install_hint(fake_entry_points: dict[str, EntryPoint]) -> None:
    with pytest.raises(spacekit.ConfigError) as info:
        _registry.load("datablist")
    assert "pip install spacekit-datablist" in str(info.value)
    assert "installed: broken, toy, wrong" in str(info.value)


def test_unknown_provider_lists_installed_ones(fake_entry_points: dict[str, EntryPoint]) -> None:
    with pytest.raises(spacekit.ConfigError, match="unknown provider 'nope'") as info:
        _registry.load("nope")
    assert "pip install" not in str(info.value)


def test_a_broken_plugin_is_reported_and_does_not_hide_the_others(
    fake_entry_points: dict[str, EntryPoint],
) -> None:
    status = _registry.status()
    assert list(status) == ["broken", "toy", "wrong"]
    assert isinstance(status["broken"], spacekit.ConfigError)
    assert "ModuleNotFoundError" in str(status["broken"])
    assert "is not a spacekit Plugin" in str(status["wrong"])
    assert status["toy"].name == "toy"  # type: ignore[union-attr]
