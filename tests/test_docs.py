"""The documentation site (docs/, mkdocs.yml) checked against the code, so it cannot rot.

``scripts/check`` builds the site with ``mkdocs build --strict``; this file checks what a
build cannot:

- every ``python`` block of a page says, in an HTML comment on the line before it,
  how it is tested: ``<!-- test: run -->`` (run in a fresh interpreter with an empty
  HOME, as a reader would), ``<!-- test: compile -->`` (a fragment: it must compile),
  or, for the plugin guide, ``module`` (joined into the module ``spacekit_notes``),
  ``entry-points`` (the TOML that registers it) and ``pytest`` (its tests, run);
- ``sh`` blocks marked ``run`` run in bash like the README's; in every other block,
  each ``spacekit ...`` line must name existing commands and options;
- ``toml`` blocks parse, and a config file example loads;
- the navigation lists every page; the API reference names every public name; the
  tables of engine settings and provider capabilities match the code; the shell
  completion commands work.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from test_readme import newcomer_env, pytest_command, run_shell, shell_script

import spacekit
import spacekit.plugin
import spacekit.testing
from spacekit import _registry
from spacekit._cli import main
from spacekit._engineconfig import ENGINE_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"(?:<!-- test: ([\w-]+) -->\n)?^( *)```(\w*)\n(.*?)^\2```$", re.M | re.S)
PAGES = sorted(DOCS.rglob("*.md"))


def blocks(page: Path) -> Iterator[tuple[str | None, str, str]]:
    """(marker, language, code) of every fenced block of a page, indentation removed."""
    for match in FENCE.finditer(page.read_text(encoding="utf-8")):
        marker, indent, lang, code = match.groups()
        code = "\n".join(line.removeprefix(indent) for line in code.splitlines()) + "\n"
        yield marker, lang, code


def all_blocks(lang: str, marker: str | None = "*") -> list[tuple[str, str]]:
    """(page id, code) of the blocks in ``lang`` with that marker ("*": any)."""
    return [
        (f"{page.relative_to(DOCS)}#{n}", code)
        for page in PAGES
        for n, (mark, kind, code) in enumerate(blocks(page))
        if kind == lang and (marker == "*" or mark == marker)
    ]


@pytest.fixture
def newcomer(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    return work, newcomer_env(home, f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


# -- the pages ---------------------------------------------------------------------------------


def nav_pages(entries: Any) -> Iterator[str]:
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            for value in entry.values():
                yield from nav_pages([value] if isinstance(value, str) else value)


def test_the_navigation_lists_every_page_once() -> None:
    nav = list(nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))
    assert sorted(nav) == sorted(str(page.relative_to(DOCS)) for page in PAGES)


def test_every_python_block_says_how_it_is_tested() -> None:
    unmarked = [page for page, _ in all_blocks("python", None)]
    assert unmarked == [], "mark each python block with <!-- test: run|compile|module|pytest -->"


@pytest.mark.parametrize(("page", "code"), all_blocks("python", "compile"), ids=lambda v: str(v)[:40])
def test_a_fragment_compiles(page: str, code: str) -> None:
    compile(code, page, "exec")


@pytest.mark.parametrize(("page", "code"), all_blocks("python", "run"), ids=lambda v: str(v)[:40])
def test_a_python_block_runs(page: str, code: str, newcomer: tuple[Path, dict[str, str]]) -> None:
    work, env = newcomer
    (work / "block.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "block.py"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{page}:\n{result.stdout}\n{result.stderr}"


PYTEST_BLOCKS = [
    (page, code) for page, code in all_blocks("python", "pytest") if not page.startswith("plugins.md")
]


@pytest.mark.parametrize(("page", "code"), PYTEST_BLOCKS, ids=lambda v: str(v)[:40])
def test_a_pytest_block_passes(page: str, code: str, newcomer: tuple[Path, dict[str, str]]) -> None:
    work, env = newcomer
    (work / "test_block.py").write_text(code)
    result = subprocess.run(
        pytest_command("test_block.py"),
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{page}:\n{result.stdout}\n{result.stderr}"
    assert re.search(r"\b[1-9]\d* passed", result.stdout) and "skipped" not in result.stdout


@pytest.mark.parametrize(("page", "code"), all_blocks("sh", "run"), ids=lambda v: str(v)[:40])
def test_a_shell_block_runs(
    page: str, code: str, newcomer: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    work, env = newcomer
    result = run_shell(shell_script([code], tmp_path), work, env, tmp_path, timeout=300)
    assert result.returncode == 0, f"{page}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr


def command_lines() -> list[tuple[str, str]]:
    found = []
    for lang in ("sh", "text"):
        for page, code in all_blocks(lang):
            for line in code.splitlines():
                line = line.strip().removeprefix("$ ")
                if line.startswith("spacekit "):
                    found.append((page, line.split("  #", 1)[0].split(" > ")[0].split(" | ")[0].strip()))
    return found


@pytest.mark.parametrize(("page", "line"), command_lines(), ids=lambda v: str(v)[:60])
def test_a_documented_command_exists_with_its_options(page: str, line: str) -> None:
    args = shlex.split(line)[1:]
    # --help is eager, but an unknown command or option is refused before it is seen
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, f"{page}: {line}\n{result.output}"


@pytest.mark.parametrize(("page", "code"), all_blocks("toml"), ids=lambda v: str(v)[:40])
def test_a_toml_block_parses_and_a_config_example_loads(
    page: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tomllib.loads(code)
    if "stores" in data:
        from spacekit import _config

        (tmp_path / "config.toml").write_text(code)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(tmp_path / "config.toml"))
        config = _config.load()
        assert set(config.stores) == set(data["stores"])


# -- tables that mirror the code ---------------------------------------------------------------


def table(page: str, first_header: str) -> list[list[str]]:
    """The rows of the first Markdown table of ``page`` whose first header is ``first_header``."""
    lines = (DOCS / page).read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_engine_settings_table_matches_the_engine() -> None:
    documented = {row[0].strip("`"): row[1] for row in table("configuration.md", "setting")}
    configurable = {name: s for name, s in ENGINE_SETTINGS.items() if s.configurable}
    assert set(documented) == set(configurable)
    for name, setting in configurable.items():
        default = setting.default
        if name == "base_url":
            continue
        shown = (
            "none"
            if default is None
            else f"`{str(default).lower() if isinstance(default, bool) else default}`"
        )
        assert documented[name].startswith(shown), (
            f"{name}: documented {documented[name]!r}, default {default!r}"
        )


def test_the_providers_table_matches_the_plugins() -> None:
    rows = table("providers/index.md", "provider")
    names = [re.sub(r"[\[\]`]|\(.*?\)", "", row[0]) for row in rows]
    assert sorted(names) == _registry.names(), "a provider is missing from the table, or gone"
    for name, row in zip(names, rows, strict=True):
        documented = {c.strip() for c in row[3].split(",")}
        actual = {c.value for c in _registry.load(name).capabilities}
        assert documented == actual, f"docs/providers/index.md: {name} can now {sorted(actual)}"


def test_each_provider_page_documents_its_settings() -> None:
    pages = {
        "neuroio": "providers/neuroio.md",
        "instabase": "providers/instabase.md",
        "datablist": "providers/datablist.md",
    }
    for name, page in pages.items():
        documented = {row[0].strip("`") for row in table(page, "setting")}
        own = set(_registry.load(name).settings) - set(ENGINE_SETTINGS)
        assert own <= documented, f"{page}: {sorted(own - documented)} undocumented"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as scripts/check builds it."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(folder)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        check=True,
        timeout=300,
    )
    return folder


def anchors(page: Path) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8")))


def test_the_api_reference_documents_every_public_class_and_function(site: Path) -> None:
    found = anchors(site / "api" / "index.html")
    for module in (spacekit, spacekit.plugin, spacekit.testing):
        for name in module.__all__:
            if callable(getattr(module, name)):
                assert f"{module.__name__}.{name}" in found, (
                    f"{module.__name__}.{name} is not in the API reference"
                )


def test_the_api_reference_shows_every_public_method_of_both_stores_and_no_private_base(
    site: Path,
) -> None:
    page = site / "api" / "index.html"
    found = anchors(page)
    for store in (spacekit.SpaceStore, spacekit.AsyncSpaceStore):
        public = [name for name in dir(store) if not name.startswith("_") and callable(getattr(store, name))]
        assert len(public) >= 12
        missing = [name for name in public if f"spacekit.{store.__name__}.{name}" not in found]
        assert missing == [], store.__name__
    text = re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))
    assert "_Base" not in text and "_RemoteMixin" not in text


def test_the_docs_build_commands_hide_the_theme_notice_as_scripts_check_does() -> None:
    for page in (ROOT / "README.md", DOCS / "index.md"):
        text = page.read_text()
        assert "mkdocs serve" in text and "NO_MKDOCS_2_WARNING=1" in text, page
    assert "NO_MKDOCS_2_WARNING=1" in (ROOT / "scripts" / "check").read_text()


def walk(group: click.Group, path: str) -> Iterator[str]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield f"{path}-{name}"
        if isinstance(command, click.Group):
            yield from walk(command, f"{path}-{name}")


def test_the_cli_reference_documents_every_command(site: Path) -> None:
    found = anchors(site / "cli" / "index.html")
    missing = [anchor for anchor in walk(main, "spacekit") if anchor not in found]
    assert missing == []


# -- shell completion --------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_scripts_are_generated(shell: str) -> None:
    assert f"_SPACEKIT_COMPLETE={shell}_source spacekit" in (DOCS / "cli.md").read_text()
    env = {**os.environ, "_SPACEKIT_COMPLETE": f"{shell}_source"}
    script = subprocess.run(
        [str(BIN / "spacekit")], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "_SPACEKIT_COMPLETE" in script and "spacekit" in script


def test_completion_offers_commands_and_store_names(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[stores.work]\nprovider = "memory"\n')

    def complete(words: str) -> list[str]:
        env = {
            **os.environ,
            "_SPACEKIT_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
            "SPACEKIT_CONFIG": str(config),
        }
        out = subprocess.run(
            [str(BIN / "spacekit")], env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return [line.split(",", 1)[1] for line in out.splitlines()]

    assert complete("spacekit sp") == ["spaces"]
    stores = complete("spacekit spaces list --store ")
    assert stores[0] == "work" and "memory" in stores and "neuroio" in stores


# -- the plugin guide, assembled and tested ------------------------------------------------------


def test_the_plugin_guide_builds_a_working_plugin(tmp_path: Path) -> None:
    page = DOCS / "plugins.md"
    parts = [(marker, code) for marker, _, code in blocks(page) if marker]
    module = "\n\n".join(code for marker, code in parts if marker == "module")
    (tmp_path / "spacekit_notes.py").write_text(module)
    (entry_points,) = [tomllib.loads(code) for marker, code in parts if marker == "entry-points"]
    project = entry_points["project"]
    info = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items())
            for group, items in groups.items()
        )
    )
    (tmp_path / "test_notes.py").write_text("\n\n".join(code for marker, code in parts if marker == "pytest"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        pytest_command("test_notes.py"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"(\d+) passed", result.stdout) and "failed" not in result.stdout
    stores = subprocess.run(
        [str(BIN / "spacekit"), "stores", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "notes" in stores.stdout
