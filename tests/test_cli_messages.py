"""The command line's messages: what was meant, where to set what is missing, in its own words."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import spacekit
from spacekit._cli import main


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[stores.work]\nprovider = "neuroio"\n[stores.archive]\nprovider = "local"\n')
    path.chmod(0o600)
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    for variable in ("SPACEKIT_STORE", "SPACEKIT_NEUROIO_TOKEN", "SPACEKIT_WORK_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# -- did you mean ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("neuroi", "neuroio"), ("archiv", "archive"), ("datablst", "datablist"), ("wrok", "work")],
)
def test_a_mistyped_store_or_provider_gets_the_closest(typed: str, meant: str) -> None:
    result = run("spaces", "list", "--store", typed)
    assert result.exit_code == 2
    assert f"unknown store {typed!r} (did you mean {meant!r}?)" in result.stderr


def test_a_store_far_from_every_name_gets_no_guess() -> None:
    result = run("spaces", "list", "--store", "zzzzzz")
    assert result.exit_code == 2 and "did you mean" not in result.stderr


def test_a_mistyped_setting_in_the_config_file_gets_the_closest(_config: Path) -> None:
    _config.write_text('[stores.work]\nprovider = "neuroio"\ntoken = "env:T"\ntimout = 3\n')
    result = run("spaces", "list", "--store", "work")
    assert "unknown setting 'timout' (did you mean 'timeout'?)" in result.stderr


def test_a_mistyped_provider_or_top_level_key_in_the_config_file_gets_the_closest(_config: Path) -> None:
    _config.write_text('[stores.work]\nprovider = "neuroi"\n')
    assert (
        "unknown provider 'neuroi' (did you mean 'neuroio'?)"
        in run("spaces", "list", "--store", "work").stderr
    )
    _config.write_text('[stors.work]\nprovider = "neuroio"\n')
    assert "unknown top-level key 'stors' (did you mean 'stores'?)" in run("stores").stderr


def test_a_mistyped_keyword_of_connect_gets_the_closest() -> None:
    with pytest.raises(spacekit.ConfigError, match=r"unknown setting 'timout' \(did you mean 'timeout'\?\)"):
        spacekit.connect("neuroio", token="t", timout=3)


# -- a missing credential names where to set it -------------------------------------------


def test_a_missing_token_of_a_provider_names_the_variable_and_the_config_file(_config: Path) -> None:
    result = run("spaces", "list", "--store", "neuroio")
    assert result.exit_code == 2
    assert "provider 'neuroio' needs the setting 'token'" in result.stderr
    assert "SPACEKIT_NEUROIO_TOKEN" in result.stderr and str(_config) in result.stderr


def test_a_missing_token_of_a_configured_store_names_its_section_and_its_variable(_config: Path) -> None:
    result = run("spaces", "list", "--store", "work")
    assert result.exit_code == 2
    assert f"set the key 'token' in {_config} [stores.work]" in result.stderr
    assert "or the environment variable SPACEKIT_WORK_TOKEN" in result.stderr
