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


# -- journal paths ------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.mark.parametrize("command", ["migrate", "sync"])
def test_a_journal_in_a_missing_folder_names_the_folder(home: Path, tmp_path: Path, command: str) -> None:
    extra = ["--apply"] if command == "sync" else []
    result = run(command, "archive", "memory", "--journal", "nodir/sub/j.db", *extra)
    assert result.exit_code == 2, result.output
    assert f"the folder {tmp_path / 'nodir' / 'sub'} does not exist" in result.stderr
    assert "unable to open database file" not in result.stderr


def test_a_quoted_tilde_in_a_journal_path_is_the_home_folder(home: Path) -> None:
    result = run("migrate", "archive", "memory", "--journal", "~/j.db")
    assert result.exit_code == 0, result.output
    assert (home / "j.db").is_file()


def test_the_resume_hint_after_ctrl_c_prints_the_journal_absolute_path(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spacekit._migrate import _cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_cli, "run_migration", interrupted)
    result = run("migrate", "archive", "memory", "--journal", "j.db")
    assert result.exit_code == 130
    assert f"(journal: {tmp_path / 'j.db'})" in result.stderr


# -- in the command line's own words ------------------------------------------------------------


def test_plain_http_is_allowed_in_the_config_file_s_own_words(_config: Path) -> None:
    _config.write_text(
        '[stores.work]\nprovider = "neuroio"\ntoken = "t"\nbase_url = "http://api.example.com"\n'
    )
    result = run("spaces", "list", "--store", "work")
    assert result.exit_code == 2
    assert "set allow_insecure_http = true if you really mean it" in result.stderr
    assert "=True" not in result.stderr
