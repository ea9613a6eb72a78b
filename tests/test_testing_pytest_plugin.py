"""The pytest plugin's fixtures, the README's offline-testing example, and `spacekit emulate`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

import spacekit
from spacekit._cli import main
from spacekit.testing import Emulator

PROVIDERS = ("neuroio", "instabase", "datablist")


def test_memory_store_fixture_is_fresh(spacekit_memory_store: spacekit.SpaceStore) -> None:
    assert spacekit_memory_store.provider == "memory"
    assert list(spacekit_memory_store.list()) == []


def test_a_misspelt_or_emulator_less_provider_fails_the_test(
    spacekit_emulator: Callable[[str], Emulator],
) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"unknown provider 'neurio'.*did you mean 'neuroio'"):
        spacekit_emulator("neurio")
    with pytest.raises(pytest.fail.Exception, match=r"ships no emulator.*these do: datablist, instabase"):
        spacekit_emulator("local")


def test_a_typo_fails_a_users_test_run_instead_of_skipping_it(tmp_path: Path) -> None:
    (tmp_path / "test_typo.py").write_text(
        "def test_typo(spacekit_emulator):\n    spacekit_emulator('neurio')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout and "skipped" not in result.stdout
    assert "did you mean 'neuroio'" in result.stdout


def test_the_readme_example(spacekit_emulator: Callable[[str], Emulator]) -> None:
    source = spacekit_emulator("neuroio")
    target = spacekit_emulator("datablist")
    source.faults.fail(503, times=3, method="GET")
    target.faults.drop(1, after_commit=True, method="POST", path="^/$")
    with source.connect(backoff=0.001) as src, target.connect(backoff=0.001) as dst:
        src.create("from the test")
        report = spacekit.migrate(src, dst)
        assert report.ok, report.summary()
        names = sorted(s.name for s in dst.list())
    assert names == ["default", "from the test"]  # the dropped write was reconciled, not repeated
    assert [r.method for r in target.requests].count("POST") >= 2


# -- the config blocks of served emulators ---------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_config_block_holds_no_secret_and_its_exports_open_the_store(
    provider: str,
    spacekit_emulator: Callable[[str], Emulator],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    emulator = spacekit_emulator(provider)
    emulator.set_credential("stable-credential-1")
    with emulator.serve() as url:
        block = emulator.config_block(url)
        port = url.rsplit(":", 1)[1]
        assert block.store == f"{provider}-emulator-{port}"
        assert "stable-credential-1" not in block.toml
        assert list(block.environment.values()) == ["stable-credential-1"]
        (variable,) = block.environment
        assert variable.startswith(f"{provider.upper()}_EMULATOR_{port}_")
        assert block.exports == [f"export {variable}=stable-credential-1"]
        assert f'"env:{variable}"' in block.toml
        (tmp_path / "config.toml").write_text(block.toml)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(tmp_path / "config.toml"))
        monkeypatch.setenv(variable, "stable-credential-1")
        with spacekit.connect(block.store) as store:
            created = store.create("through the block")
            assert store.get(created.id).name == "through the block"


def test_the_datablist_block_says_what_auth_url_is(spacekit_emulator: Callable[[str], Emulator]) -> None:
    block = spacekit_emulator("datablist").config_block("http://127.0.0.1:8003")
    (auth,) = [line for line in block.toml.splitlines() if line.startswith("auth_url")]
    assert auth.startswith('auth_url = "http://127.0.0.1:8003"  # where the API key is exchanged')
    assert "https://account.datablist.com" in auth


@contextmanager
def emulate(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``spacekit emulate ARGS``; yields its config block and its export lines."""
    process = subprocess.Popen(
        [sys.executable, "-m", "spacekit", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        # Ctrl-C must reach it even when this run ignores SIGINT (a background job)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        block = "".join(iter(process.stdout.readline, "\n"))
        exports = []
        for line in iter(process.stderr.readline, ""):
            if line.strip().startswith("export "):
                exports.append(line.strip())
            if line.startswith("and add this store"):
                break
        yield block, exports
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in err


def test_two_served_emulators_paste_into_one_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        emulate("neuroio") as (first, first_exports),
        emulate("neuroio", "--token", "T0k3n-stable") as (
            second,
            second_exports,
        ),
    ):
        config = tmp_path / "config.toml"
        config.write_text(first + "\n" + second)
        config.chmod(0o644)  # readable by others: fine, since it holds no secret
        monkeypatch.setenv("SPACEKIT_CONFIG", str(config))
        stores = list(tomllib.loads(config.read_text())["stores"])
        assert len(stores) == 2 and stores[0] != stores[1]
        assert second_exports == [f"export {stores[1].upper().replace('-', '_')}_TOKEN=T0k3n-stable"]
        for line in first_exports + second_exports:
            variable, _, value = line.removeprefix("export ").partition("=")
            monkeypatch.setenv(variable, value)
        for store in stores:
            result = CliRunner().invoke(main, ["spaces", "list", "--store", store])
            assert result.exit_code == 0, result.output
            assert result.stdout.splitlines()[1].split("\t")[1] == "default"
            assert "Warning" not in result.stderr


def test_emulate_refuses_a_token_a_header_cannot_carry() -> None:
    result = CliRunner().invoke(main, ["emulate", "neuroio", "--token", "has space"])
    assert result.exit_code == 2
    assert "printable ASCII" in result.stderr
