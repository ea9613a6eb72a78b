#!/usr/bin/env python3
"""Build, check and try the four distributions that are released together.

    python scripts/release.py            build into dist/, check, then install and try them
    python scripts/release.py --final    the same, for a release: the changelog entry must be dated
    python scripts/release.py --no-try   build and check only

1. The one version (``spacekit/_version.py``) and everything derived from it agree: the
   plugins' range on the core, the core's extras, a changelog entry for that version.
2. ``python -m build`` makes each package's sdist, then its wheel from that sdist; a
   second wheel built straight from the tree must hold the same files with the same
   bytes, so an sdist always holds what it takes to build the wheel again.
3. ``twine check --strict`` on all eight files, then their content: each wheel holds its
   package, ``py.typed``, its entry points and the license, and no tests, cassettes,
   benchmarks or docs; so does each sdist, beside its ``pyproject.toml``.
4. A fresh virtual environment outside the tree gets the dependencies from the package
   index in one call and our four packages from ``dist/`` only in another
   (``--no-index``: no fall-back to the index or the tree), as
   ``pip install "spacekit-core[all]"``; then, from an empty folder with an empty HOME:
   ``spacekit --version``, the README's Python blocks, ``spacekit emulate`` for each
   provider driven through the installed CLI, and a user's own pytest file using the
   ``spacekit_emulator`` fixture.

Building uses the tools of the environment running this script (``--no-isolation``):
``build``, ``twine`` and ``hatchling`` come from ``requirements-dev.lock``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
CORE = "spacekit-core"


class Package:
    def __init__(self, folder: Path, distribution: str, module: str, entry_points: list[str]) -> None:
        self.folder, self.distribution, self.module, self.entry_points = (
            folder,
            distribution,
            module,
            entry_points,
        )

    @property
    def stem(self) -> str:
        return self.distribution.replace("-", "_")


PACKAGES = [
    Package(
        ROOT,
        CORE,
        "spacekit",
        [
            "spacekit = spacekit._cli:main",
            "local = spacekit._local:local_plugin",
            "memory = spacekit._local:memory_plugin",
            "file = spacekit._manifest:file_plugin",
            "spacekit = spacekit.testing.pytest_plugin",
        ],
    ),
    *(
        Package(
            ROOT / "providers" / name,
            f"spacekit-{name}",
            f"spacekit_{name}",
            [f"{name} = spacekit_{name}:plugin"],
        )
        for name in ("neuroio", "instabase", "datablist")
    ),
]
SDIST_FILES = frozenset({"pyproject.toml", "PKG-INFO", "LICENSE", "README.md", "CHANGELOG.md", ".gitignore"})
FORBIDDEN = re.compile(r"(^|/)(tests?|cassettes|bench|docs|examples|scripts)/|conftest\.py$|\.pyc$")


def fail(message: str) -> None:
    sys.exit(f"release: {message}")


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        fail(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


# -- 1. one version ------------------------------------------------------------------------------


def version() -> str:
    text = (ROOT / "spacekit" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "(\d+)\.(\d+)\.(\d+)"$', text, re.M)
    if match is None:
        fail("spacekit/_version.py holds no X.Y.Z __version__")
    assert match is not None
    return ".".join(match.groups())


def expected_range(release: str) -> str:
    major, minor, _ = (int(part) for part in release.split("."))
    return f">={major}.{minor},<{major}.{minor + 1}"


def check_versions(release: str, final: bool) -> None:
    """What must follow the one version; tests/test_packaging.py checks the same on every run."""
    wanted = expected_range(release)
    core = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for package in PACKAGES[1:]:
        project = tomllib.loads((package.folder / "pyproject.toml").read_text(encoding="utf-8"))
        if f"{CORE}{wanted}" not in project["project"]["dependencies"]:
            fail(f"{package.distribution} must depend on {CORE}{wanted}")
        if project["tool"]["hatch"]["version"]["path"] != "../../spacekit/_version.py":
            fail(f"{package.distribution} must take its version from spacekit/_version.py")
        extra = package.distribution.removeprefix("spacekit-")
        if core["optional-dependencies"][extra] != [f"{package.distribution}{wanted}"]:
            fail(f"the core's extra {extra!r} must be [{package.distribution}{wanted!r}]")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.search(rf"^## \[{re.escape(release)}\](.*)$", changelog, re.M)
    if heading is None:
        fail(f"CHANGELOG.md has no entry for {release} ('## [{release}] - YYYY-MM-DD')")
    assert heading is not None
    if final and not re.fullmatch(r" - \d{4}-\d{2}-\d{2}", heading.group(1)):
        fail(f"the changelog entry for {release} is not dated: {heading.group(0)!r}")


# -- 2. and 3. build and check -------------------------------------------------------------------


def build() -> None:
    shutil.rmtree(DIST, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        for package in PACKAGES:
            run(sys.executable, "-m", "build", "--no-isolation", "--outdir", DIST, package.folder)
            straight = Path(scratch) / package.stem
            run(
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--wheel",
                "--outdir",
                straight,
                package.folder,
            )
            (from_sdist,) = DIST.glob(f"{package.stem}-*.whl")
            (from_tree,) = straight.glob("*.whl")
            if wheel_content(from_sdist) != wheel_content(from_tree):
                fail(f"{from_sdist.name} built from its sdist differs from the wheel built from the tree")


def wheel_content(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as wheel:
        return {
            name: base64.urlsafe_b64encode(hashlib.sha256(wheel.read(name)).digest()).decode()
            for name in wheel.namelist()
            if not name.endswith(".dist-info/RECORD")
        }


def check_content(release: str) -> None:
    files = sorted(DIST.iterdir())
    if len(files) != 2 * len(PACKAGES):
        fail(f"dist/ holds {[f.name for f in files]}, not one sdist and one wheel per package")
    run(sys.executable, "-m", "twine", "check", "--strict", *files)
    for package in PACKAGES:
        wheel_path = DIST / f"{package.stem}-{release}-py3-none-any.whl"
        sdist_path = DIST / f"{package.stem}-{release}.tar.gz"
        for path in (wheel_path, sdist_path):
            if not path.is_file():
                fail(f"{path.name} was not built")
        info = f"{package.stem}-{release}.dist-info"
        with zipfile.ZipFile(wheel_path) as wheel:
            names = wheel.namelist()
            entry_points = wheel.read(f"{info}/entry_points.txt").decode()
        require(names, wheel_path, f"{package.module}/__init__.py", f"{package.module}/py.typed")
        require(names, wheel_path, f"{info}/licenses/LICENSE", f"{info}/METADATA")
        for entry in package.entry_points:
            if entry not in entry_points:
                fail(f"{wheel_path.name} lacks the entry point {entry!r}")
        refuse(names, wheel_path, (f"{package.module}/", f"{info}/"))
        with tarfile.open(sdist_path) as sdist:
            top = f"{package.stem}-{release}"
            names = [member.name.removeprefix(f"{top}/") for member in sdist.getmembers() if member.isfile()]
        require(names, sdist_path, "pyproject.toml", "PKG-INFO", "LICENSE", "README.md")
        require(names, sdist_path, f"{package.module}/__init__.py", f"{package.module}/py.typed")
        refuse(names, sdist_path, (f"{package.module}/",), SDIST_FILES)


def require(names: list[str], path: Path, *wanted: str) -> None:
    for name in wanted:
        if name not in names:
            fail(f"{path.name} lacks {name}")


def refuse(
    names: list[str], path: Path, folders: tuple[str, ...], files: frozenset[str] = frozenset()
) -> None:
    for name in names:
        if FORBIDDEN.search(name) or not (name.startswith(folders) or name in files):
            fail(f"{path.name} holds {name}, which does not belong in a release")


# -- 4. install what was built, and try it -------------------------------------------------------


def dependencies(release: str) -> list[str]:
    """Every requirement of our wheels (extras included) that is not one of our four."""
    ours = {package.distribution for package in PACKAGES}
    found: set[str] = set()
    for package in PACKAGES:
        with zipfile.ZipFile(DIST / f"{package.stem}-{release}-py3-none-any.whl") as wheel:
            metadata = wheel.read(f"{package.stem}-{release}.dist-info/METADATA").decode()
        for line in re.findall(r"^Requires-Dist: (.*)$", metadata, re.M):
            requirement = line.split(";")[0].strip()
            if re.split(r"[\s<>=!~\[(]", requirement, maxsplit=1)[0] not in ours:
                found.add(requirement)
    return sorted(found)


def try_installed(release: str) -> None:
    with tempfile.TemporaryDirectory(prefix="spacekit-release-") as scratch:
        base = Path(scratch)
        venv, home, work = base / "venv", base / "home", base / "work"
        home.mkdir()
        work.mkdir()
        run(sys.executable, "-m", "venv", venv)
        python, spacekit = venv / "bin" / "python", venv / "bin" / "spacekit"
        step("installing the dependencies from the package index")
        run(
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *dependencies(release),
            "pytest",
        )
        step("installing spacekit-core[all] from dist/ only")
        run(
            python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
            "--find-links", DIST, f"{CORE}[all]=={release}",
        )  # fmt: skip
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SPACEKIT_", "XDG_"))}
        env.update(HOME=str(home), NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1")
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
        origin = run(
            python, "-c", "import spacekit, spacekit_neuroio; print(spacekit.__file__)", cwd=work, env=env
        )
        if not origin.startswith(str(venv)):
            fail(f"spacekit was imported from {origin.strip()}, not from the installed wheel")
        shown = run(spacekit, "--version", cwd=work, env=env).split()
        wanted = [part for package in sorted(PACKAGES, key=order) for part in (package.distribution, release)]
        if shown != wanted:
            fail(f"spacekit --version printed {shown}, not {wanted}")
        step("the README's Python blocks, from the installed wheels")
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        for number, code in enumerate(re.findall(r"^```python\n(.*?)^```$", readme, re.M | re.S)):
            script = work / f"readme_{number}.py"
            if re.search(r"^def test_", code, re.M):
                script = work / f"test_readme_{number}.py"
                script.write_text(code)
                run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name, cwd=work, env=env)
            else:
                script.write_text(code)
                run(python, script.name, cwd=work, env=env)
        step("spacekit emulate, for each provider, driven through the installed CLI")
        for package in PACKAGES[1:]:
            try_emulator(package.distribution.removeprefix("spacekit-"), spacekit, work, env)
        step("a user's own test using the spacekit_emulator fixture")
        (work / "test_users_own.py").write_text(USERS_OWN_TEST)
        run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_users_own.py", cwd=work, env=env)


def order(package: Package) -> tuple[bool, str]:
    return (package.distribution != CORE, package.distribution)


USERS_OWN_TEST = """
import spacekit


def test_copy_between_emulators(spacekit_emulator):
    source = spacekit_emulator("datablist")
    target = spacekit_emulator("instabase")
    with source.connect() as src, target.connect(backoff=0.01) as dst:
        src.create("from the wheel")
        report = spacekit.migrate(src, dst)
        assert report.ok
        assert "from the wheel" in [space.name for space in dst.list()]
"""


def try_emulator(provider: str, spacekit: Path, work: Path, env: dict[str, str]) -> None:
    """Start the emulator as the README does, add the block it prints to the config file,
    set the credential it names, and create and list a space through the CLI."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    printed, told = work / f"{provider}.out", work / f"{provider}.err"
    with printed.open("w") as out, told.open("w") as err:
        server = subprocess.Popen(
            [str(spacekit), "emulate", provider, "--port", str(port), "--token", "release-token"],
            cwd=work, env=env, stdout=out, stderr=err,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (names := re.findall(r"^\[stores\.([\w-]+)\]$", printed.read_text(), re.M)) or not (
            variables := re.findall(r"export (\w+)=", told.read_text())
        ):
            if server.poll() is not None or time.monotonic() > deadline:
                fail(f"spacekit emulate {provider} printed no store and credential:\n{told.read_text()}")
            time.sleep(0.1)
        config = work / f"{provider}.toml"
        config.write_text(printed.read_text(), encoding="utf-8")
        store_env = {**env, "SPACEKIT_CONFIG": str(config), variables[0]: "release-token"}
        run(spacekit, "spaces", "create", f"made on {provider}", "--store", names[0], cwd=work, env=store_env)
        listed = run(spacekit, "spaces", "list", "--store", names[0], "--json", cwd=work, env=store_env)
        if f"made on {provider}" not in listed:
            fail(f"the space created on the {provider} emulator is not listed:\n{listed}")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--final", action="store_true", help="a release: the changelog entry must be dated")
    parser.add_argument("--no-try", action="store_true", help="build and check, without installing")
    options = parser.parse_args()
    release = version()
    step(f"spacekit {release}: checking the version, its ranges and its changelog entry")
    check_versions(release, options.final)
    step("building the sdists, and the wheels from them, into dist/")
    build()
    step("checking the distributions")
    check_content(release)
    if not options.no_try:
        try_installed(release)
    print(f"release {release}: {len(PACKAGES)} packages built and checked in dist/")


if __name__ == "__main__":
    main()
