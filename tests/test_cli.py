"""Tests of the spacekit command line (spacekit._cli), through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import spacekit
from spacekit import (
    AuthenticationError,
    Capability,
    ConfigError,
    Conflict,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    Space,
    Unsupported,
    ValidationError,
    _output,
    _registry,
)
from spacekit._cli import ImportFailed, exit_code, main
from spacekit.plugin import Plugin, Setting

TOKEN = "cli-secret-token-0123456789"


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two local stores, ``main`` (the default) and ``other``; no colour forced either way."""
    path = tmp_path / "config.toml"
    path.write_text(
        'default = "main"\n'
        f'[stores.main]\nprovider = "local"\npath = "{tmp_path / "main.db"}"\n'
        f'[stores.other]\nprovider = "local"\npath = "{tmp_path / "other.db"}"\n'
        '[stores.failing]\nprovider = "failing"\ntoken = "env:FAILING_TOKEN"\n'
    )
    path.chmod(0o600)
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    monkeypatch.setenv("FAILING_TOKEN", TOKEN)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def create(name: str, *args: str) -> dict[str, Any]:
    result = run("spaces", "create", name, "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def names(store: str = "main") -> list[str]:
    with spacekit.connect(store) as opened:
        return sorted(space.name for space in opened.list())


# -- a provider that fails on purpose -----------------------------------------------------


class FailingStore(spacekit.SpaceStore):
    """Creates ``allowed`` spaces, then raises ``error`` for everything."""

    provider = "failing"
    capabilities = frozenset(Capability)

    def __init__(self, error: Exception, allowed: int = 0) -> None:
        self.error, self.allowed = error, allowed

    def _list(self, query: str | None, options: Mapping[str, Any]) -> Iterator[Space]:
        raise self.error

    def _get(self, space_id: str) -> Space:
        raise self.error

    def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        if self.allowed <= 0:
            raise self.error
        self.allowed -= 1
        return Space("failing", name, name)

    def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        raise self.error

    def _delete(self, space_id: str) -> None:
        raise self.error


class FailingPlugin(Plugin):
    name = "failing"
    settings: Mapping[str, Setting] = {"token": Setting("token", secret=True)}

    def __init__(self, error: Exception, allowed: int = 0) -> None:
        self.error, self.allowed = error, allowed

    def open(self, settings: Mapping[str, Any]) -> spacekit.SpaceStore:
        return FailingStore(self.error, self.allowed)

    def open_async(self, settings: Mapping[str, Any]) -> spacekit.AsyncSpaceStore:
        raise NotImplementedError


@pytest.fixture
def failing(register_plugin: Callable[[Plugin], None]) -> Callable[..., None]:
    def install(error: Exception, allowed: int = 0) -> None:
        register_plugin(FailingPlugin(error, allowed))

    return install


# -- exit codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x"), 2),
        (ValidationError("x"), 2),
        (Unsupported("x"), 2),
        (NotFound("x"), 3),
        (AuthenticationError("x"), 4),
        (PermissionDenied("x"), 4),
        (Conflict("x"), 5),
        (RateLimited("x"), 5),
        (ProviderUnavailable("x"), 5),
        (RuntimeError("x"), 70),
        (ImportFailed([1, 2], 3, [4], ProviderUnavailable("x")), 1),
        (ImportFailed([], 1, [2], AuthenticationError("x")), 4),
    ],
)
def test_exit_code(error: BaseException, code: int) -> None:
    assert exit_code(error) == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AuthenticationError(f"bad token {TOKEN}"), 4),
        (PermissionDenied(f"no {TOKEN}"), 4),
        (ProviderUnavailable(f"down {TOKEN}"), 5),
        (RuntimeError(f"bug {TOKEN}"), 70),
    ],
)
def test_errors_exit_with_their_code_without_secret_or_traceback(
    failing: Callable[..., None], error: Exception, code: int
) -> None:
    failing(error)
    result = run("spaces", "list", "--store", "failing")
    assert result.exit_code == code
    assert result.stderr.startswith("Error: ")
    assert "***" in result.stderr
    assert TOKEN not in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_2() -> None:
    assert run("spaces", "frobnicate").exit_code == 2
    assert run("spaces", "update", "1").exit_code == 2  # nothing to change


def test_an_unknown_store_exits_2_naming_it() -> None:
    result = run("spaces", "list", "--store", "nosuch")
    assert result.exit_code == 2
    assert "unknown store 'nosuch'" in result.stderr


def test_a_config_error_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("stores = [")
    monkeypatch.setenv("SPACEKIT_CONFIG", str(tmp_path / "bad.toml"))
    result = run("spaces", "list")
    assert result.exit_code == 2
    assert "bad.toml: not valid TOML" in result.stderr


# -- spaces -------------------------------------------------------------------------------


def test_create_then_get_list_update_delete() -> None:
    created = create("alpha", "--description", "first")
    assert created["name"] == "alpha"
    assert json.loads(run("spaces", "get", created["id"], "--json").stdout)["description"] == "first"

    listed = json.loads(run("spaces", "list", "--json").stdout)
    assert [s["name"] for s in listed] == ["alpha"]

    updated = json.loads(run("spaces", "update", created["id"], "--name", "beta", "--json").stdout)
    assert (updated["id"], updated["name"], updated["description"]) == (created["id"], "beta", "first")

    result = run("spaces", "delete", created["id"], "--yes")
    assert result.exit_code == 0
    assert f"deleted space {created['id']}" in result.stderr
    assert names() == []


def test_list_filters_by_query_and_shows_a_table() -> None:
    create("team-red")
    create("blue")
    result = run("spaces", "list", "--query", "red")
    assert result.exit_code == 0
    assert "team-red" in result.stdout
    assert "blue" not in result.stdout


def test_the_store_option_picks_the_store() -> None:
    create("elsewhere", "--store", "other")
    assert names("other") == ["elsewhere"]
    assert names("main") == []


def test_markup_in_a_name_is_shown_as_is() -> None:
    space = create("[bold]x[/bold]")
    assert "[bold]x[/bold]" in run("spaces", "get", space["id"]).stdout


def test_get_of_an_unknown_id_exits_3() -> None:
    result = run("spaces", "get", "12345")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ")


def test_a_blank_name_exits_2() -> None:
    assert run("spaces", "create", "  ").exit_code == 2


def test_delete_asks_on_a_terminal_naming_the_space_and_keeps_it_when_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_output, "stdin_is_terminal", lambda: True)
    space = create("keep")
    result = run("spaces", "delete", space["id"], input="n\n")
    assert result.exit_code == 1
    assert f"Delete space 'keep' ({space['id']}) from the local store?" in result.stderr
    assert "Not deleted." in result.stderr and "Aborted" not in result.stderr
    assert names() == ["keep"]
    assert run("spaces", "delete", space["id"], input="y\n").exit_code == 0
    assert names() == []


def test_delete_without_a_terminal_asks_for_yes_and_deletes_nothing() -> None:
    space = create("keep")
    result = run("spaces", "delete", space["id"], input="y\n")  # piped: no one to ask
    assert result.exit_code == 2
    assert "no terminal to confirm on; add --yes" in result.stderr
    assert "Delete space" not in result.stderr
    assert names() == ["keep"]


# -- stores -------------------------------------------------------------------------------


def test_stores_lists_configured_stores_and_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points = dict(_registry._entry_points())
    entry_points["broken"] = EntryPoint("broken", "no_such_module:plugin", _registry.GROUP)
    monkeypatch.setattr(_registry, "_entry_points", lambda: entry_points)
    data = json.loads(run("stores", "--json").stdout)
    assert data["default"] == "main"
    stores = {s["name"]: s for s in data["stores"]}
    assert stores["main"]["provider"] == "local"
    assert "create" in stores["main"]["capabilities"]
    assert "not installed" in stores["failing"]["error"]
    providers = {p["name"]: p for p in data["providers"]}
    assert providers["memory"]["error"] is None
    assert "No module named 'no_such_module'" in providers["broken"]["error"]

    result = run("stores")
    assert result.exit_code == 0
    assert "main" in result.stdout
    assert "broken" in result.stdout


# -- export and import --------------------------------------------------------------------


def test_export_then_import_into_another_store(tmp_path: Path) -> None:
    create("one", "--description", "1")
    create("two")
    result = run("export")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [Space.from_dict(json.loads(line)).name for line in lines] == ["one", "two"]

    (tmp_path / "spaces.jsonl").write_text(result.stdout)
    result = run("import", str(tmp_path / "spaces.jsonl"), "--store", "other")
    assert result.exit_code == 0, result.output
    assert "imported 2 space(s)" in result.stderr
    assert names("other") == ["one", "two"]


def test_import_reads_stdin_and_skips_blank_lines() -> None:
    line = json.dumps(Space("x", "9", "from-stdin").to_dict())
    result = run("import", "-", input=f"\n{line}\n\n")
    assert result.exit_code == 0, result.output
    assert names() == ["from-stdin"]


def test_a_bad_import_file_imports_nothing_and_names_every_bad_line() -> None:
    good = json.dumps(Space("x", "1", "good").to_dict())
    blank_name = json.dumps(Space("x", "2", "ok").to_dict() | {"name": " "})
    text = "\n".join([good, "{not json", good, blank_name, '["a list"]']) + "\n"
    result = run("import", "-", input=text)
    assert result.exit_code == 2
    assert "3 bad line(s)" in result.stderr
    for number in (2, 4, 5):
        assert f"line {number}:" in result.stderr
    assert "line 1:" not in result.stderr
    assert names() == []


def test_an_import_failing_midway_says_which_lines_were_imported(failing: Callable[..., None]) -> None:
    failing(ProviderUnavailable(f"down {TOKEN}"), allowed=2)
    text = "".join(json.dumps(Space("x", str(i), f"s{i}").to_dict()) + "\n" for i in range(4))
    result = run("import", "-", "--store", "failing", input=text)
    assert result.exit_code == 1
    assert "line 3 failed" in result.stderr
    assert "imported line(s) 1-2; not attempted: line(s) 4" in result.stderr
    assert TOKEN not in result.output


def test_an_import_failing_at_once_exits_with_the_errors_code(failing: Callable[..., None]) -> None:
    failing(AuthenticationError("refused"))
    result = run("import", "-", "--store", "failing", input=json.dumps(Space("x", "1", "a").to_dict()))
    assert result.exit_code == 4
    assert "nothing was imported" in result.stderr


def test_a_config_warning_is_one_plain_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failing: Callable[..., None]
) -> None:
    path = tmp_path / "readable.toml"
    path.write_text(f'[stores.f]\nprovider = "failing"\ntoken = "{TOKEN}"\n')
    path.chmod(0o644)
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    failing(NotFound("gone"))
    result = run("spaces", "get", "1", "--store", "f")
    assert result.exit_code == 3
    warning, error = result.stderr.splitlines()
    assert warning.startswith(f"Warning: {path} [stores.f]: key 'token' is a literal secret")
    assert error == "Error: gone"
    assert TOKEN not in result.output


def test_ctrl_c_exits_130_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from spacekit import _config

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_config, "resolve", interrupted)
    result = run("spaces", "list")
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted." and "Traceback" not in result.output
