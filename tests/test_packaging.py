"""The four distributions released together: one version, ranges that follow it, one
license, a lock that covers what CI installs. scripts/release.py builds and tries the
packages themselves (scripts/check runs it); these checks are the fast half."""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

import spacekit
from spacekit._cli import main

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("neuroio", "instabase", "datablist")


def release_script(root: Path = ROOT) -> ModuleType:
    spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT = root
    for package in module.PACKAGES:
        package.folder = root / package.folder.relative_to(ROOT)
    return module


def copy_of_the_metadata(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "CHANGELOG.md", "spacekit/_version.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for plugin in PLUGINS:
        (tmp_path / "providers" / plugin).mkdir(parents=True)
        shutil.copy(ROOT / "providers" / plugin / "pyproject.toml", tmp_path / "providers" / plugin)
    return tmp_path


def test_one_version_and_everything_derived_from_it_agree() -> None:
    release = release_script()
    version = release.version()
    assert version == spacekit.__version__
    release.check_versions(version, final=False)


@pytest.mark.parametrize(
    ("path", "old", "new", "complaint"),
    [
        (
            "providers/neuroio/pyproject.toml",
            "spacekit-core>=0.2,<0.3",
            "spacekit-core>=0.1,<0.2",
            "must depend on",
        ),
        ("providers/datablist/pyproject.toml", "../../spacekit/_version.py", "_version.py", "its version"),
        ("pyproject.toml", '"spacekit-instabase>=0.2,<0.3"', '"spacekit-instabase"', "extra 'instabase'"),
        ("spacekit/_version.py", '"0.2.0"', '"0.3.0"', "must depend on"),
        ("CHANGELOG.md", "## [0.2.0]", "## [0.1.9]", "no entry for 0.2.0"),
    ],
)
def test_a_version_written_out_of_step_is_refused(
    tmp_path: Path, path: str, old: str, new: str, complaint: str
) -> None:
    release = release_script(copy_of_the_metadata(tmp_path))
    target = tmp_path / path
    assert old in target.read_text()
    target.write_text(target.read_text().replace(old, new))
    with pytest.raises(SystemExit, match=re.escape(complaint)):
        release.check_versions(release.version(), final=False)


def test_a_final_release_needs_a_dated_changelog_entry(tmp_path: Path) -> None:
    release = release_script(copy_of_the_metadata(tmp_path))
    version = release.version()
    with pytest.raises(SystemExit, match="not dated"):
        release.check_versions(version, final=True)
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(
        re.sub(
            rf"^## \[{re.escape(version)}\].*$",
            f"## [{version}] - 2027-01-04",
            changelog.read_text(),
            flags=re.M,
        )
    )
    release.check_versions(version, final=True)


def test_every_package_carries_the_same_mit_license() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    for plugin in PLUGINS:
        assert (ROOT / "providers" / plugin / "LICENSE").read_text() == text
    for pyproject in [ROOT / "pyproject.toml", *(ROOT / "providers" / p / "pyproject.toml" for p in PLUGINS)]:
        project = tomllib.loads(pyproject.read_text())["project"]
        assert project["license"] == "MIT"
        assert project["license-files"] == ["LICENSE"]


def requirement_name(line: str) -> str:
    return re.split(r"[\s<>=!~\[;(]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_pins_with_hashes_everything_ci_installs() -> None:
    lock = (ROOT / "requirements-dev.lock").read_text()
    pinned = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", lock, re.M))
    assert pinned, "no pin found in requirements-dev.lock"
    for block in re.split(r"\n(?=[a-z0-9])", lock.split("\n\n", 1)[-1]):
        if re.match(r"[a-z0-9]", block):
            assert "--hash=sha256:" in block, f"a pin without a hash: {block.splitlines()[0]}"
    wanted = {
        requirement_name(line)
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    ours = {"spacekit-core", *(f"spacekit-{p}" for p in PLUGINS)}
    for pyproject in [ROOT / "pyproject.toml", *(ROOT / "providers" / p / "pyproject.toml" for p in PLUGINS)]:
        project = tomllib.loads(pyproject.read_text())["project"]
        lines = [
            *project["dependencies"],
            *(r for extra in project.get("optional-dependencies", {}).values() for r in extra),
        ]
        wanted |= {requirement_name(line) for line in lines} - ours
    missing = sorted(
        name for name in wanted if name.replace(".", "-") not in {p.replace(".", "-") for p in pinned}
    )
    assert not missing, f"not in requirements-dev.lock (refresh it, docs/developing.md): {missing}"


def test_version_names_the_core_and_every_installed_plugin() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"spacekit-core {spacekit.__version__}"
    assert lines[1:] == sorted(f"spacekit-{p} {spacekit.__version__}" for p in PLUGINS)


def test_the_docs_say_that_pip_install_spacekit_is_another_project() -> None:
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        text = " ".join(page.read_text().split())
        assert "`pip install spacekit` is a different project" in text, page
        assert 'pip install "spacekit-core[all]"' in text, page
