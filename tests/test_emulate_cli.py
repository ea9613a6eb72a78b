"""``spacekit emulate``'s refusals, which come before it serves: a state file that is
corrupt or another provider's (refused, and never written over), flags that do not
go together, and the list of providers without PROVIDER."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from spacekit._cli import main
from spacekit.testing import emulator_for
from spacekit.testing._state import StateFile

PROVIDERS = ["datablist", "instabase", "neuroio"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["emulate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_without_a_provider_it_lists_those_with_an_emulator() -> None:
    code, out, err = run()
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == PROVIDERS
    assert "Usage: spacekit emulate PROVIDER" in err


@pytest.mark.parametrize(
    "content",
    [b"", b"not json{", b"[]", b'{"format": "other"}', b"\xff\xfe", b"[" * 100_000],
    ids=["empty", "not-json", "array", "other-format", "not-utf8", "too-deep"],
)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_corrupt_state_file_is_refused_and_left_as_it_is(
    provider: str, content: bytes, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content)
    code, _, err = run(provider, "--state", str(state))
    assert code == 2
    assert f"{state} is not a spacekit emulator state file" in err and "left as it is" in err
    assert state.read_bytes() == content


@pytest.mark.parametrize("provider", PROVIDERS)
def test_another_providers_state_file_is_refused_and_left_as_it_is(provider: str, tmp_path: Path) -> None:
    other = PROVIDERS[(PROVIDERS.index(provider) + 1) % len(PROVIDERS)]
    state = tmp_path / "state.json"
    StateFile(state, other).write(emulator_for(other).snapshot())
    before = state.read_bytes()
    code, _, err = run(provider, "--state", str(state))
    assert code == 2
    assert f"holds the state of a {other} emulator, not {provider}" in err
    assert state.read_bytes() == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_state_the_emulator_cannot_read_is_refused_and_left_as_it_is(provider: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    StateFile(state, provider).write({"spaces": [{"no": "name"}]})
    before = state.read_bytes()
    code, _, err = run(provider, "--state", str(state))
    assert code == 2
    assert f"holds a {provider} state this emulator cannot read" in err
    assert state.read_bytes() == before


def test_a_state_file_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format": "spacekit-emulator-state", "version": 2, "provider": "neuroio"}))
    code, _, err = run("neuroio", "--state", str(state))
    assert code == 2 and "version 2" in err


def test_a_state_file_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    code, _, err = run("neuroio", "--state", str(tmp_path / "nowhere" / "state.json"))
    assert code == 2 and "the folder does not exist" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "3"], "--seed goes with --fail RATE"),
        (["--fail-status", "500"], "--fail-status goes with --fail RATE"),
        (["--fail", "1.5"], "--fail"),
        (["--fail-status", "700", "--fail", "0.1"], "--fail-status"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--latency", "-1"], "--latency"),
        (["--seed-spaces", "-1"], "--seed-spaces"),
    ],
)
def test_bad_flags_are_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run("neuroio", *args)
    assert code == 2 and message in err


def test_a_provider_without_an_emulator_is_named_with_those_that_have_one() -> None:
    code, _, err = run("local")
    assert code == 2
    assert "the local plugin ships no emulator (these do: datablist, instabase, neuroio)" in err


def test_a_misspelt_provider_gets_a_suggestion() -> None:
    code, _, err = run("neuroi")
    assert code == 2 and "did you mean 'neuroio'?" in err
