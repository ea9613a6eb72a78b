"""Tests of spacekit._config: the file, references, precedence and the errors."""

from __future__ import annotations

import os
import sys
import types
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import platformdirs
import pytest

import spacekit
from spacekit import ConfigError, _config, _registry
from spacekit._local import memory_plugin
from spacekit.plugin import Plugin, Setting

SECRET = "sup3r-secret-value"


class FakePlugin(Plugin):
    """A provider with a secret, typed and non-configurable settings."""

    name = "fake"
    settings: Mapping[str, Setting] = {
        "token": Setting("token", required=True, secret=True),
        "pin": Setting("pin", int, secret=True),
        "timeout": Setting("timeout", float, 10.0),
        "verbose": Setting("verbose", bool, False),
        "transport": Setting("transport", object, configurable=False),
    }

    def open(self, settings: Mapping[str, Any]) -> spacekit.SpaceStore:
        return memory_plugin.open({})

    def open_async(self, settings: Mapping[str, Any]) -> spacekit.AsyncSpaceStore:
        return memory_plugin.open_async({})


@pytest.fixture
def fake(register_plugin: Callable[[Plugin], None]) -> FakePlugin:
    plugin = FakePlugin()
    register_plugin(plugin)
    return plugin


@pytest.fixture
def write_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write a config file, point $SPACEKIT_CONFIG at it, return its path."""

    def write(text: str, mode: int = 0o600) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
        return path

    return write


def config_error(**settings: Any) -> str:
    """The message of the ConfigError that resolving ``settings["name"]`` raises."""
    with pytest.raises(ConfigError) as caught:
        _config.resolve(settings.pop("name", None), settings)
    return str(caught.value)


# -- choosing the store -------------------------------------------------------------------


def test_without_any_config_the_default_is_the_embedded_local_store() -> None:
    resolved = _config.resolve(None, {})
    assert (resolved.provider, dict(resolved.settings)) == ("local", {})


def test_the_default_config_file_lives_in_the_user_config_directory() -> None:
    path = platformdirs.user_config_path("spacekit") / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('default = "m"\n[stores.m]\nprovider = "memory"\n')
    assert _config.resolve(None, {}).provider == "memory"


def test_the_file_default_names_the_store(write_config: Callable[..., Path], tmp_path: Path) -> None:
    write_config(f'default = "offline"\n[stores.offline]\nprovider = "local"\npath = "{tmp_path}/s.db"\n')
    resolved = _config.resolve(None, {})
    assert resolved.provider == "local"
    assert resolved.settings == {"path": f"{tmp_path}/s.db"}
    assert "[stores.offline]" in resolved.where


def test_spacekit_store_beats_the_file_default(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config('default = "a"\n[stores.a]\nprovider = "local"\n[stores.b]\nprovider = "memory"\n')
    monkeypatch.setenv("SPACEKIT_STORE", "b")
    assert _config.resolve(None, {}).provider == "memory"


def test_a_provider_name_gives_that_provider_with_the_keywords() -> None:
    resolved = _config.resolve("local", {"path": "x.db"})
    assert (resolved.provider, dict(resolved.settings)) == ("local", {"path": "x.db"})


def test_a_configured_store_wins_over_a_provider_of_the_same_name(write_config: Callable[..., Path]) -> None:
    write_config('[stores.local]\nprovider = "memory"\n')
    assert _config.resolve("local", {}).provider == "memory"


def test_an_unknown_name_lists_stores_and_providers(write_config: Callable[..., Path]) -> None:
    path = write_config('[stores.work]\nprovider = "local"\n')
    message = config_error(name="nosuch")
    assert "'nosuch'" in message
    assert f"configured stores in {path}: work" in message
    assert f"installed providers: {', '.join(_registry.names())}" in message


def test_an_unknown_default_says_where_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACEKIT_STORE", "nosuch")
    assert "$SPACEKIT_STORE" in config_error()


def test_a_known_but_missing_plugin_gets_its_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "names", lambda: ["local", "memory"])
    assert "pip install spacekit-datablist" in config_error(name="datablist")


def test_connect_opens_a_configured_store(write_config: Callable[..., Path], tmp_path: Path) -> None:
    write_config(f'[stores.offline]\nprovider = "local"\npath = "{tmp_path}/s.db"\n')
    with spacekit.connect("offline") as store:
        store.create("kept")
    with spacekit.connect("local", path=str(tmp_path / "s.db")) as store:
        assert [s.name for s in store.list()] == ["kept"]


# -- precedence: keyword > environment > file ---------------------------------------------


def test_precedence_keyword_then_environment_then_file(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    write_config('[stores.my-work]\nprovider = "fake"\ntoken = "env:T"\ntimeout = 1\nverbose = true\n')
    monkeypatch.setenv("T", SECRET)
    monkeypatch.setenv("SPACEKIT_MY_WORK_TIMEOUT", "2.5")
    monkeypatch.setenv("SPACEKIT_MY_WORK_VERBOSE", "no")
    resolved = _config.resolve("my-work", {"verbose": True})
    assert resolved.settings == {"token": SECRET, "timeout": 2.5, "verbose": True}


def test_environment_settings_for_a_provider_name(monkeypatch: pytest.MonkeyPatch, fake: FakePlugin) -> None:
    monkeypatch.setenv("SPACEKIT_FAKE_TOKEN", SECRET)
    monkeypatch.setenv("SPACEKIT_FAKE_TRANSPORT", "ignored: not configurable")
    assert _config.resolve("fake", {}).settings == {"token": SECRET}


def test_a_bad_environment_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    monkeypatch.setenv("SPACEKIT_FAKE_TIMEOUT", "soon")
    assert "SPACEKIT_FAKE_TIMEOUT: setting 'timeout' must be a number" in config_error(name="fake")


def test_a_missing_required_setting_says_how_to_give_it(fake: FakePlugin) -> None:
    with pytest.raises(ConfigError, match=r"SPACEKIT_FAKE_\* variables.*needs the setting 'token'"):
        spacekit.connect("fake")


# -- mistakes in the file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stores = [", "not valid TOML"),
        ('colour = "red"\n', "unknown top-level key 'colour'"),
        ("default = 3\n", "key 'default' must be"),
        ('stores = "x"\n', "key 'stores' must be a table"),
        ('[stores]\nwork = "local"\n', "[stores.work]: a store must be a table"),
        ("[stores.work]\npath = 'x'\n", "[stores.work]: key 'provider' is missing"),
        ("[stores.work]\nprovider = 1\n", "[stores.work]: key 'provider' is missing or not a string"),
        ('[stores.work]\nprovider = "local"\npath = ["a"]\n', "[stores.work]: key 'path' must be a string"),
        ('[stores."a.b"]\nprovider = "local"\npath = {x = 1}\n', "[stores.\"a.b\"]: key 'path'"),
    ],
)
def test_file_mistakes_name_the_file_store_and_key(
    write_config: Callable[..., Path], text: str, expected: str
) -> None:
    path = write_config(text)
    message = config_error(name="local")
    assert message.startswith(str(path))
    assert expected in message


def test_an_unknown_provider_names_the_file_store_and_key(write_config: Callable[..., Path]) -> None:
    path = write_config('[stores.work]\nprovider = "nope"\n')
    message = config_error(name="work")
    assert f"{path} [stores.work]: key 'provider': unknown provider 'nope'" in message


def test_an_unknown_setting_names_the_file_store_and_key(write_config: Callable[..., Path]) -> None:
    path = write_config('[stores.work]\nprovider = "local"\ncolour = "red"\n')
    with pytest.raises(ConfigError) as caught:
        spacekit.connect("work")
    assert f"{path} [stores.work]: unknown setting 'colour'" in str(caught.value)
    assert "(known: path)" in str(caught.value)


def test_a_setting_of_the_wrong_type_names_the_file_store_and_key(
    write_config: Callable[..., Path],
) -> None:
    path = write_config('[stores.work]\nprovider = "local"\npath = 5\n')
    with pytest.raises(ConfigError, match=r"\[stores\.work\]: setting 'path' must be a string") as caught:
        spacekit.connect("work")
    assert str(path) in str(caught.value)


def test_a_missing_explicit_config_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACEKIT_CONFIG", str(tmp_path / "absent.toml"))
    assert "absent.toml: the config file cannot be read" in config_error()


def test_other_stores_references_are_not_resolved(write_config: Callable[..., Path]) -> None:
    write_config('[stores.a]\nprovider = "local"\npath = "env:UNSET"\n[stores.b]\nprovider = "memory"\n')
    assert _config.resolve("b", {}).provider == "memory"


# -- references ---------------------------------------------------------------------------


def test_env_reference(write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('[stores.w]\nprovider = "local"\npath = "env:DB_PATH"\n')
    monkeypatch.setenv("DB_PATH", "/data/s.db")
    assert _config.resolve("w", {}).settings == {"path": "/data/s.db"}


def test_a_missing_env_variable_names_file_store_key_and_variable(
    write_config: Callable[..., Path],
) -> None:
    path = write_config('[stores.w]\nprovider = "local"\npath = "env:DB_PATH"\n')
    message = config_error(name="w")
    assert f"{path} [stores.w]: key 'path' refers to the environment variable DB_PATH" in message


def test_file_reference_is_relative_to_the_config_and_stripped(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "db-path.txt").write_text("  /data/s.db\n")
    write_config('[stores.w]\nprovider = "local"\npath = "file:db-path.txt"\n')
    assert _config.resolve("w", {}).settings == {"path": "/data/s.db"}


def test_file_reference_expands_the_home_directory(write_config: Callable[..., Path]) -> None:
    (Path.home() / "p.txt").write_text("/data/s.db")
    write_config('[stores.w]\nprovider = "local"\npath = "file:~/p.txt"\n')
    assert _config.resolve("w", {}).settings == {"path": "/data/s.db"}


def test_an_unreadable_file_reference_is_a_config_error(write_config: Callable[..., Path]) -> None:
    write_config('[stores.w]\nprovider = "local"\npath = "file:missing.txt"\n')
    assert "[stores.w]: key 'path' refers to the file" in config_error(name="w")


def fake_keyring(monkeypatch: pytest.MonkeyPatch, passwords: dict[tuple[str, str], str]) -> None:
    module = types.ModuleType("keyring")
    module.get_password = lambda service, user: passwords.get((service, user))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", module)


def test_keyring_reference(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    fake_keyring(monkeypatch, {("https://svc.example/x", "me"): SECRET})
    write_config('[stores.w]\nprovider = "fake"\ntoken = "keyring:https://svc.example/x/me"\n')
    assert _config.resolve("w", {}).settings == {"token": SECRET}


def test_a_missing_keyring_entry_is_a_config_error(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    fake_keyring(monkeypatch, {})
    write_config('[stores.w]\nprovider = "fake"\ntoken = "keyring:svc/me"\n')
    assert "[stores.w]: key 'token': the keyring has no password" in config_error(name="w")


def test_a_malformed_keyring_reference_is_a_config_error(
    write_config: Callable[..., Path], fake: FakePlugin
) -> None:
    write_config('[stores.w]\nprovider = "fake"\ntoken = "keyring:no-user"\n')
    assert "keyring:SERVICE/USER" in config_error(name="w")


def test_keyring_not_installed_says_how_to_install_it(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # makes the import fail
    write_config('[stores.w]\nprovider = "fake"\ntoken = "keyring:svc/me"\n')
    message = config_error(name="w")
    assert "[stores.w]: key 'token'" in message
    assert "pip install keyring" in message


# -- secrets ------------------------------------------------------------------------------


def test_resolved_repr_shows_no_secret(monkeypatch: pytest.MonkeyPatch, fake: FakePlugin) -> None:
    resolved = _config.resolve("fake", {"token": SECRET})
    assert SECRET not in repr(resolved)
    assert "token" in repr(resolved)


def test_a_mistyped_secret_is_not_shown(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, fake: FakePlugin
) -> None:
    write_config('[stores.w]\nprovider = "fake"\ntoken = "t"\npin = "env:PIN"\n')
    monkeypatch.setenv("PIN", SECRET)
    message = config_error(name="w")
    assert "setting 'pin' must be a whole number" in message
    assert SECRET not in message


@pytest.mark.skipif(os.name == "nt", reason="no permission bits")
def test_a_literal_secret_in_a_readable_file_draws_a_warning(
    write_config: Callable[..., Path], fake: FakePlugin
) -> None:
    path = write_config(f'[stores.w]\nprovider = "fake"\ntoken = "{SECRET}"\n', mode=0o644)
    with pytest.warns(UserWarning, match=r"\[stores\.w\]: key 'token' is a literal secret") as caught:
        _config.resolve("w", {})
    assert str(path) in str(caught[0].message)
    assert SECRET not in str(caught[0].message)


@pytest.mark.parametrize(("token", "mode"), [(SECRET, 0o600), ("env:TOKEN", 0o644), ("file:t.txt", 0o640)])
def test_no_warning_for_a_private_file_or_a_reference(
    write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake: FakePlugin,
    token: str,
    mode: int,
) -> None:
    monkeypatch.setenv("TOKEN", SECRET)
    (tmp_path / "t.txt").write_text(SECRET)
    write_config(f'[stores.w]\nprovider = "fake"\ntoken = "{token}"\ntimeout = 3\n', mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _config.resolve("w", {}).settings["token"] == SECRET


# -- references and paths that are not small regular files ----------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/dev/zero", "not a regular file"),
        ("/dev/null", "not a regular file"),
        ("{tmp}", "a folder"),
        ("{tmp}/fifo", "not a regular file"),
        ("{tmp}/big", "larger than 65536 bytes"),
        ("{tmp}/binary", "not UTF-8"),
    ],
    ids=["dev-zero", "dev-null", "folder", "fifo", "over-64k", "binary"],
)
def test_a_file_reference_reads_only_a_small_regular_file(
    write_config: Callable[..., Path], tmp_path: Path, target: str, expected: str
) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it must not wait for a writer
    (tmp_path / "big").write_bytes(b"t" * (64 * 1024 + 1))
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00token")
    write_config(f'[stores.x]\nprovider = "memory"\nimage = "file:{target.format(tmp=tmp_path)}"\n')
    with pytest.raises(ConfigError) as caught:
        _config._dereference(f"file:{target.format(tmp=tmp_path)}", "token", "[stores.x]", tmp_path)
    assert expected in str(caught.value) and "'token'" in str(caught.value)


def test_a_file_reference_of_exactly_64k_is_read(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"t" * (64 * 1024))
    assert _config._dereference("file:ok", "token", "[stores.x]", tmp_path) == "t" * 64 * 1024


@pytest.mark.parametrize("target", ["/dev/zero", "{tmp}"])
def test_the_config_file_itself_must_be_a_small_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setenv("SPACEKIT_CONFIG", target.format(tmp=tmp_path))
    assert "the config file is" in config_error()


def test_a_config_file_nested_too_deeply_is_a_config_error(write_config: Callable[..., Path]) -> None:
    write_config("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "config file" in config_error()


# -- a value read from a reference or the environment is never shown --------------------

SOURCED_CASES = [
    ("base_url", "neuroio", "absolute http(s) URL"),
    ("timeout", "neuroio", "must be a number"),
    ("allow_insecure_http", "neuroio", "must be true or false"),
    ("auth_url", "datablist", "absolute http(s) URL"),
]


def _remote_store(provider: str, key: str, value: str) -> str:
    credential = "api_key" if provider == "datablist" else "token"
    return f'[stores.s]\nprovider = "{provider}"\n{credential} = "abcd1234"\n{key} = "{value}"\n'


@pytest.mark.parametrize("reference", ["env:TOK", "file:tok.txt", "keyring:svc/me"])
@pytest.mark.parametrize(("key", "provider", "expected"), SOURCED_CASES)
def test_a_referenced_value_in_a_setting_that_is_not_secret_is_never_shown(
    write_config: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    reference: str,
    key: str,
    provider: str,
    expected: str,
) -> None:
    monkeypatch.setenv("TOK", SECRET)
    (tmp_path / "tok.txt").write_text(SECRET)
    fake_keyring(monkeypatch, {("svc", "me"): SECRET})
    write_config(_remote_store(provider, key, reference))
    with pytest.raises(ConfigError) as caught:
        spacekit.connect("s")
    message = str(caught.value)
    assert SECRET not in message and SECRET not in repr(caught.value)
    assert expected in message and key in message
    origin = {"env": "the value of $TOK", "file": f"the file {tmp_path / 'tok.txt'}", "keyring": "svc/me"}
    assert origin[reference.partition(":")[0]] in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("timeout", SECRET, "must be a number"),
        ("timeout", "123456789", "at most 1e+06"),
        ("base_url", SECRET, "absolute http(s) URL"),
        ("base_url", f"https://a..{SECRET}.com", "63 characters"),
        ("retries", "-12345678", "0 or more"),
    ],
)
def test_a_value_from_the_environment_is_never_shown(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    write_config('[stores.s]\nprovider = "neuroio"\ntoken = "abcd1234"\n')
    variable = f"SPACEKIT_S_{key.upper()}"
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        spacekit.connect("s")
    assert value not in str(caught.value) and expected in str(caught.value)
    assert f"the value of ${variable}" in str(caught.value)


def test_a_literal_value_from_the_file_is_still_shown(write_config: Callable[..., Path]) -> None:
    write_config(_remote_store("neuroio", "timeout", "soon"))
    assert "got 'soon'" in config_error(name="s")


def test_a_file_url_is_a_bad_url_not_a_file_reference(write_config: Callable[..., Path]) -> None:
    write_config(_remote_store("neuroio", "base_url", "file:///etc/passwd"))
    with pytest.raises(ConfigError, match="absolute http"):
        spacekit.connect("s")
    assert _config._dereference("file:///etc/passwd", "base_url", "[stores.s]", Path("/")) == (
        "file:///etc/passwd"
    )


def test_the_cli_shows_no_referenced_value(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from spacekit._cli import main

    monkeypatch.setenv("TOK", SECRET)
    write_config(_remote_store("neuroio", "base_url", "env:TOK"))
    for args in (["spaces", "list", "--store", "s"], ["stores", "--check"], ["stores", "--check", "--json"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert SECRET not in result.output and "the value of $TOK" in result.output


def test_a_marked_value_is_the_value_everywhere_but_in_its_repr() -> None:
    from spacekit._settings import origin_of, sourced

    text, number = sourced(SECRET, "the value of $X"), sourced(2.5, "the value of $Y")
    assert text == SECRET and str(text) == SECRET and f"{text}" == SECRET and SECRET not in repr(text)
    assert number == 2.5 and str(number) == "2.5" and "2.5" not in repr(number)
    assert origin_of(text) == "the value of $X" and origin_of(SECRET) is None
    import copy
    import pickle

    assert origin_of(pickle.loads(pickle.dumps(text))) == "the value of $X"
    assert origin_of(copy.deepcopy(number)) == "the value of $Y"
