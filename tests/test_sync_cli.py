"""The ``spacekit sync`` command: plan output, --check, --apply, --json, the max-changes refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import spacekit
from spacekit._cli import main


@pytest.fixture(autouse=True)
def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[stores.work]\nprovider = "local"\npath = "{tmp_path / "work.db"}"\n'
        f'[stores.backup]\nprovider = "local"\npath = "{tmp_path / "backup.db"}"\n'
    )
    config.chmod(0o600)
    monkeypatch.setenv("SPACEKIT_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["sync", *args])


def store(tmp_path: Path, name: str) -> spacekit.SpaceStore:
    return spacekit.connect("local", path=str(tmp_path / f"{name}.db"))


MANIFEST = '[[spaces]]\nname = "Research"\ndescription = "papers"\n\n[[spaces]]\nname = "Ops"\n'


def test_a_plan_prints_the_summary_then_the_changes_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "spaces.toml").write_text(MANIFEST)
    store(tmp_path, "work").create("Stale")
    result = run("spaces.toml", "work", "--delete", "--journal", "j.db")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith(": source 2, target 1: 2 to create, 1 to delete")
    # grouped by action, deletes first, sorted by name within each
    assert lines[1:] == ["  delete   Stale (1): not in the source", "  create   Ops", "  create   Research"]
    assert not (tmp_path / "j.db").exists()
    assert [s.name for s in store(tmp_path, "work").list()] == ["Stale"]


def test_check_exits_1_on_drift_and_0_once_applied(tmp_path: Path) -> None:
    (tmp_path / "spaces.toml").write_text(MANIFEST)
    assert run("spaces.toml", "work", "--check").exit_code == 1
    applied = run("spaces.toml", "work", "--apply", "--journal", "j.db")
    assert applied.exit_code == 0, applied.output
    assert "2 created; the target matches the source" in applied.stdout
    assert run("spaces.toml", "work", "--check").exit_code == 0
    store(tmp_path, "work").create("Extra")
    assert run("spaces.toml", "work", "--check").exit_code == 1  # the target differs
    assert run("spaces.toml", "work", "--check", "--delete").exit_code == 1
    assert run("spaces.toml", "work", "--check", "--select", "R*").exit_code == 0
    assert run("spaces.toml", "work", "--check", "--apply").exit_code == 2


def test_json_report(tmp_path: Path) -> None:
    store(tmp_path, "work").create("A", "a")
    result = run("work", "backup", "--apply", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] and data["applied"] and data["counts"]["created"] == 1
    assert data["items"][0]["source"]["name"] == "A" and data["items"][0]["outcome"] == "created"


def test_the_max_changes_rule_exits_2_with_counts_and_percentage(tmp_path: Path) -> None:
    backup = store(tmp_path, "backup")
    for i in range(10):
        backup.create(f"s{i}")
    work = store(tmp_path, "work")
    for i in range(6):
        work.create(f"s{i}")
    result = run("work", "backup", "--apply", "--delete")
    assert result.exit_code == 2
    assert "4 change(s) (4 delete(s)) to the 10 spaces of the target, 40 %" in result.stderr
    assert "use --force or a higher --max-changes if it is right" in result.stderr
    assert "force=True" not in result.stderr  # the flags, not Python's arguments
    assert "source 6, target 10: 6 unchanged, 4 to delete\n" in result.stdout  # the refused plan is shown
    assert len(list(backup.list())) == 10
    assert run("work", "backup", "--apply", "--delete", "--max-changes", "40%").exit_code == 0
    assert len(list(backup.list())) == 6


@pytest.mark.parametrize("value", ["abc", "120", "-5"])
def test_max_changes_must_be_a_percentage(value: str) -> None:
    result = run("work", "backup", "--max-changes", value)
    assert result.exit_code == 2 and "--max-changes" in result.stderr


def test_failures_are_listed_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "spaces.toml").write_text(MANIFEST)
    result = run("work", "spaces.toml", "--apply")
    assert result.exit_code == 0  # nothing to create: the work store is empty
    store(tmp_path, "work").create("New")
    failing = run("work", "spaces.toml", "--apply", "-v")
    assert failing.exit_code == 1
    assert "failed   New (1): the file store cannot create spaces" in failing.stdout


def test_a_bad_manifest_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "spaces.toml").write_text('[[spaces]]\nname = "A"\n[[spaces]]\nname = "A"\n')
    result = run("spaces.toml", "work")
    assert result.exit_code == 2 and "declared twice, on line 2 and on line 4" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (KeyboardInterrupt(), 130),
        (spacekit.AuthenticationError("sync stopped: bad token", provider="neuroio", status=401), 4),
        (spacekit.ProviderUnavailable("listing the source failed", provider="neuroio", status=503), 5),
    ],
)
def test_stops_map_to_the_migration_exit_codes(
    error: BaseException, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr("spacekit._sync._cli.run_sync", stopped)
    result = run("work", "backup", "--apply", "--journal", "j.db")
    assert result.exit_code == code
    assert "run the same command again to resume" in result.stderr


def test_the_credentials_refused_exit_4_with_nothing_more_written(tmp_path: Path) -> None:
    from migrate_helpers import emulator

    neuroio = emulator("neuroio")
    neuroio.faults.fail(401, 100, method="POST")
    with neuroio.serve() as url:
        config = tmp_path / "config.toml"
        settings = "\n".join(f'{k} = "{v}"' for k, v in neuroio.connect_settings(url).items())
        config.write_text(
            config.read_text() + f'[stores.nio]\nprovider = "neuroio"\nretries = 0\n{settings}\n'
        )
        store(tmp_path, "work").create("A")
        result = run("work", "nio", "--apply")
    assert result.exit_code == 4 and "sync stopped" in result.stderr
