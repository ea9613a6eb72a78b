"""Local input checks: names, descriptions, ids and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

import spacekit
from spacekit import ConfigError
from spacekit._errors import cli_message
from spacekit.plugin import check_base_url, check_description, check_id, check_name, quote_id


@pytest.mark.parametrize(
    "name", ["", "  ", "\t", "x" * 256, "a\x00b", "line\nbreak", "bell\x07", "lone \ud800", 42, None]
)
def test_bad_names(name: object) -> None:
    with pytest.raises(spacekit.ValidationError) as info:
        check_name(name)
    assert "name" in info.value.fields


@pytest.mark.parametrize("name", ["x", "x" * 255, "Ünïcödé 名前", "with space", "emoji 🚀"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


def test_descriptions_may_hold_newlines_but_not_other_controls() -> None:
    assert check_description("two\nlines\tand tab") == "two\nlines\tand tab"
    assert check_description(None) is None
    with pytest.raises(spacekit.ValidationError):
        check_description("esc\x1b[31m")


@pytest.mark.parametrize("space_id", ["", "  ", None, True, 1.5, "a\nb"])
def test_bad_ids(space_id: object) -> None:
    with pytest.raises(spacekit.ValidationError):
        check_id(space_id)


@pytest.mark.parametrize(
    ("space_id", "encoded"),
    [
        ("12", "12"),
        (12, "12"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("1/../x", "1%2F..%2Fx"),
        ("a?b#c", "a%3Fb%23c"),
        ("%2F", "%252F"),
        ("@id:x", "%40id%3Ax"),
    ],
)
def test_quote_id_makes_one_safe_segment(space_id: str, encoded: str) -> None:
    assert quote_id(space_id) == encoded


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/",
        "http://127.0.0.1:8000",
        "http://localhost",
        "http://[::1]:9",
        "https://bücher.example",
        "https://xn--bcher-kva.example",
        "https://" + "a" * 63 + ".example.",
    ],
)
def test_good_urls(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


def test_the_insecure_switch_allows_remote_http() -> None:
    assert check_base_url("http://x.example", allow_insecure_http=True) == "http://x.example"
    with pytest.raises(ConfigError, match=r"set allow_insecure_http=True if") as caught:
        check_base_url("http://x.example")
    assert "allow_insecure_http = true if" in cli_message(caught.value)  # TOML, in the CLI's words
    with pytest.raises(spacekit.ConfigError):
        check_base_url("http://x.example")


def test_path_settings_accept_pathlike(tmp_path: Path) -> None:
    with spacekit.connect("local", path=tmp_path / "x.db") as store:
        assert store.location.endswith("x.db")
