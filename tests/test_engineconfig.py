"""The engine's settings: checked once, when a store is opened, into ``EngineConfig``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from toy import TOKEN, plugin

import spacekit
from spacekit._engineconfig import ENGINE_SETTINGS, EngineConfig
from spacekit.plugin import Plugin

BAD = [
    ("timeout", -1),
    ("timeout", 0),
    ("timeout", float("nan")),
    ("timeout", float("inf")),
    ("timeout", "nan"),
    ("timeout", "-inf"),
    ("timeout", "1e999"),
    ("deadline", -1),
    ("deadline", "inf"),
    ("rate_limit", 0),
    ("rate_limit", "nan"),
    ("retries", -1),
    ("retries", 1.5),
    ("retries", "1.5"),
    ("retries", "9" * 5000),
    ("backoff", -1),
    ("backoff", "nan"),
    ("backoff", float("inf")),
    ("max_response_bytes", 0),
    ("max_response_bytes", -5),
    ("max_response_bytes", 2.5),
    ("allow_insecure_http", "maybe"),
    ("timeout", 1e10),
    ("deadline", 1e10),
    ("deadline", 1e6 + 1),
    ("backoff", 1e300),
    ("rate_limit", 1e-300),
    ("rate_limit", 1e-7),
    ("base_url", "https://a..com"),
    ("base_url", "https://" + "a" * 64 + ".com"),
    ("base_url", "https://xn--.com"),
    ("base_url", "https://xn--a.com"),
    ("base_url", "https://" + "ü" * 70 + ".com"),
]


@pytest.fixture
def toy(register_plugin: Callable[[Plugin], None]) -> Plugin:
    register_plugin(plugin)
    return plugin


@pytest.mark.parametrize(("setting", "value"), BAD, ids=[f"{k}={str(v)[:12]}" for k, v in BAD])
@pytest.mark.parametrize("opener", [spacekit.connect, spacekit.connect_async], ids=["sync", "async"])
def test_a_setting_out_of_range_is_a_config_error_naming_store_and_setting(
    toy: Plugin, opener: Callable[..., Any], setting: str, value: Any
) -> None:
    with pytest.raises(spacekit.ConfigError) as caught:
        opener("toy", token=TOKEN, **{setting: value})
    message = str(caught.value)
    assert setting in message and "toy" in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("timeout", 86_400),
        ("deadline", 86_400),
        ("rate_limit", 1 / 86_400),
        ("retries", 1000),
        ("backoff", 0),
    ],
)
def test_the_bounds_themselves_are_accepted(toy: Plugin, setting: str, value: Any) -> None:
    spacekit.connect("toy", token=TOKEN, **{setting: value}).close()


def test_a_bad_setting_in_the_file_names_the_file_store_and_setting(
    toy: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[stores.work]\nprovider = "toy"\ntoken = "env:TOY_TOKEN"\ntimeout = -3\n')
    monkeypatch.setenv("SPACEKIT_CONFIG", str(config))
    monkeypatch.setenv("TOY_TOKEN", TOKEN)
    with pytest.raises(spacekit.ConfigError) as caught:
        spacekit.connect("work")
    assert "[stores.work]" in str(caught.value) and "'timeout'" in str(caught.value)


@pytest.mark.parametrize(
    "token", ["tökén€1234", "sekrit two words", "sekrit\tx", "sekrit\nx", "sekrit\x00x", " sekrit", "sekrit "]
)
def test_a_credential_an_http_header_cannot_carry_is_refused_without_showing_it(
    toy: Plugin, token: str
) -> None:
    with pytest.raises(spacekit.ConfigError) as caught:
        spacekit.connect("toy", token=token)
    message = str(caught.value)
    assert "token must be printable ASCII" in message and message.startswith("toy")
    assert token not in message and "sekrit" not in message and "tökén" not in message


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token"])
def test_a_scheme_in_front_of_a_credential_is_allowed(scheme: str) -> None:
    plugin.check_settings({"token": f"{scheme} {TOKEN}"})


@pytest.mark.parametrize("token", [f"abc {TOKEN}", f"Bearer  {TOKEN}", f"Bearer {TOKEN} x", "Bearer "])
def test_any_other_whitespace_in_a_credential_is_refused(token: str) -> None:
    with pytest.raises(spacekit.ConfigError) as caught:
        plugin.check_settings({"token": token})
    assert TOKEN not in str(caught.value)


def test_a_url_with_user_info_is_shown_without_it() -> None:
    with pytest.raises(spacekit.ConfigError) as caught:
        plugin.open({"token": TOKEN, "base_url": "ftp://bob:hunter2pass@h"})
    assert "hunter2pass" not in str(caught.value) and "bob" not in str(caught.value)
    assert "ftp://***@h" in str(caught.value)
    with pytest.raises(spacekit.ConfigError) as caught:
        plugin.open({"token": TOKEN, "base_url": "https://bob:hunter2pass@example.com/api"})
    assert "hunter2pass" not in str(caught.value) and "https://***@example.com/api" in str(caught.value)


def test_the_defaults_are_written_once_and_read_by_the_engine() -> None:
    for field in attrs.fields(EngineConfig):
        if field.name != "base_url":
            assert ENGINE_SETTINGS[field.name].default == field.default
    with plugin.open({"token": TOKEN}) as store:
        config = store._engine.policy.config  # type: ignore[attr-defined]
    assert config == EngineConfig(base_url="https://toy.example")
    assert config.max_response_bytes == 32 * 2**20


def test_engine_config_is_frozen_and_typed() -> None:
    config = EngineConfig.from_settings({"base_url": "https://x", "timeout": 2.0, "token": TOKEN})
    assert config.timeout == 2.0 and config.retries == 4
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.timeout = 3.0  # type: ignore[misc]
    assert TOKEN not in repr(config)


def test_good_settings_from_strings_are_accepted(toy: Plugin) -> None:
    with spacekit.connect(
        "toy", token=TOKEN, timeout="2.5", retries="0", backoff="0", max_response_bytes="1000"
    ) as store:
        config = store._engine.policy.config  # type: ignore[attr-defined]
    assert (config.timeout, config.retries, config.backoff, config.max_response_bytes) == (2.5, 0, 0.0, 1000)


def test_a_transport_of_the_wrong_kind_is_a_config_error_when_the_store_opens() -> None:
    with pytest.raises(spacekit.ConfigError, match=r"an async httpx transport .* spacekit\.connect_async"):
        plugin.open({"token": TOKEN, "transport": httpx.AsyncHTTPTransport()})
    with pytest.raises(spacekit.ConfigError, match=r"a sync httpx transport .* spacekit\.connect,"):
        plugin.open_async({"token": TOKEN, "transport": httpx.HTTPTransport()})
    with pytest.raises(spacekit.ConfigError, match="'transport' must be an httpx transport, got str"):
        plugin.open({"token": TOKEN, "transport": "http://proxy"})
    both = httpx.MockTransport(lambda request: httpx.Response(200, json={"id": 1, "name": "one"}))
    with plugin.open({"token": TOKEN, "transport": both}) as store:  # httpx's mock is of both kinds
        assert store.get("1").name == "one"
