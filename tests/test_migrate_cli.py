"""``spacekit migrate`` and ``spacekit verify``: output, JSON, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from migrate_helpers import emulator, plant

import spacekit
from spacekit._migrate._cli import commands, migrate, verify
from spacekit._migrate._record import ADOPTED


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stores ``src`` (three spaces) and ``dst`` (empty), local files, in a config file."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[stores.src]\nprovider = "local"\npath = "{tmp_path / "src.db"}"\n'
        f'[stores.dst]\nprovider = "local"\npath = "{tmp_path / "dst.db"}"\n'
    )
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    with spacekit.connect("src") as store:
        for name in ("alpha", "beta", "gamma"):
            store.create(name, f"about {name}")
    return path


@pytest.fixture
def served_neuroio(tmp_path: Path, config: Path) -> Iterator[tuple[object, Path]]:
    """A NeuroIO emulator on loopback, configured as store ``nio`` with a wrong token as ``bad``."""
    neuroio = emulator("neuroio")
    with neuroio.serve() as url:
        settings = neuroio.connect_settings(url)
        text = config.read_text() + (
            f'[stores.nio]\nprovider = "neuroio"\nbase_url = "{url}"\ntoken = "{settings["token"]}"\nbackoff = 0.001\n'
            f'[stores.bad]\nprovider = "neuroio"\nbase_url = "{url}"\ntoken = "wrong-token"\nbackoff = 0.001\n'
        )
        config.write_text(text)
        config.chmod(0o600)
        yield neuroio, config


def run(*args: str) -> tuple[int, str, str]:
    command = migrate if args[0] == "migrate" else verify
    result = CliRunner().invoke(command, list(args[1:]))
    return result.exit_code, result.stdout, result.stderr


def test_commands_are_exported():
    assert [c.name for c in commands] == ["migrate", "verify"]


def test_dry_run_prints_the_plan_and_writes_nothing(config: Path, tmp_path: Path):
    code, out, _ = run("migrate", "src", "dst", "--dry-run", "--journal", str(tmp_path / "j.db"))
    assert code == 0 and out.splitlines()[0].endswith("would migrate 3 of 3 space(s) (3 planned)")
    assert "alpha" not in out  # nothing noteworthy: the summary alone
    code, out, _ = run("migrate", "src", "dst", "--dry-run", "--verbose")
    assert code == 0 and "plan" in out and "alpha" in out and "would migrate 3 of 3" in out
    assert not (tmp_path / "j.db").exists()
    with spacekit.connect("dst") as store:
        assert list(store.list()) == []


def test_migrate_then_verify(config: Path, tmp_path: Path):
    journal = str(tmp_path / "j.db")
    code, out, err = run("migrate", "src", "dst", "--journal", journal)
    assert code == 0 and "3 created" in out and err == ""  # no progress bar: not a terminal
    code, out, _ = run("verify", "src", "dst", "--journal", journal)
    assert code == 0 and "all match" in out
    code, out, _ = run("migrate", "src", "dst", "--journal", journal, "--json")
    report = json.loads(out)
    assert code == 0 and report["counts"]["skipped"] == 3
    assert set(report["items"][0]) == {
        "source_id",
        "source_name",
        "action",
        "outcome",
        "target_id",
        "target_name",
        "lost_fields",
        "reason",
        "error",
        "adopted",
    }


def test_select_and_conflicts(config: Path):
    with spacekit.connect("dst") as store:
        store.create("alpha")
    code, out, _ = run(
        "migrate", "src", "dst", "--select", "al*", "--select", "gamma", "--on-conflict", "fail", "--json"
    )
    report = json.loads(out)
    assert code == 1 and report["counts"] == {
        "planned": 0,
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "failed": 1,
        "vanished": 0,
    }
    code, out, _ = run("verify", "src", "dst", "--json")
    problems = json.loads(out)["problems"]
    assert code == 1 and {(p["source_name"], p["problem"]) for p in problems} == {
        ("alpha", "differs"),
        ("beta", "missing"),
    }


def test_usage_and_configuration_errors_exit_2(config: Path, tmp_path: Path):
    assert run("migrate", "src", "nowhere")[0] == 2
    assert run("migrate", "src", "dst", "--on-conflict", "merge")[0] == 2
    assert run("migrate", "src", "dst", "--concurrency", "0")[0] == 2
    run("migrate", "src", "dst", "--journal", str(tmp_path / "j.db"))
    code, _, err = run("migrate", "dst", "src", "--journal", str(tmp_path / "j.db"))
    assert code == 2 and "belongs to a migration" in err
    code, _, err = run("verify", "src", "dst", "--journal", str(tmp_path / "none.db"))
    assert code == 2 and "no migration journal" in err


def test_update_policy_on_a_target_that_cannot_update_exits_2(config: Path):
    instabase = emulator("instabase")
    with instabase.serve() as url:
        token = instabase.connect_settings(url)["token"]
        config.write_text(config.read_text() + f'[stores.ib]\nprovider = "instabase"\nbase_url = "{url}"\n')
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SPACEKIT_IB_TOKEN", token)
            code, _, err = run("migrate", "src", "ib", "--on-conflict", "update")
            assert run("migrate", "src", "ib", "--dry-run")[0] == 0
    assert code == 2 and "--on-conflict update needs a target that can update spaces" in err
    assert "on_conflict=" not in err  # the flag, not Python's argument
    assert all(r.method == "GET" for r in instabase.requests)


def test_authentication_failure_exits_4_with_one_message(served_neuroio):
    neuroio, _ = served_neuroio
    code, out, err = run("migrate", "src", "bad")
    assert code == 4 and out == ""
    assert err.count("Error:") == 1 and "wrong-token" not in err
    assert all(r.method == "GET" for r in neuroio.requests)


def test_a_failed_item_exits_1_and_says_how_to_resume(served_neuroio, tmp_path: Path):
    neuroio, _ = served_neuroio
    neuroio.faults.fail(400, 1, method="POST", body='{"message": "Validation error.", "error_codes": [1000]}')
    code, out, _ = run("migrate", "src", "nio", "--journal", str(tmp_path / "j.db"), "--concurrency", "1")
    assert code == 1 and "failed" in out and "run the same command again to resume" in out
    code, out, _ = run("migrate", "src", "nio", "--journal", str(tmp_path / "j.db"))
    assert code == 0 and "1 created" in out and "2 skipped" in out


def test_progress_bar_only_on_a_terminal(config: Path, monkeypatch: pytest.MonkeyPatch):
    from spacekit._migrate import _cli

    monkeypatch.setattr(_cli.Console, "is_terminal", property(lambda self: True))
    code, _, err = run("migrate", "src", "dst")
    assert code == 0 and "3/3" in err and "0 failed" in err and "ETA" in err  # the total, once listed
    code, out, err = run("migrate", "src", "dst", "--json")
    assert code == 0 and err == "" and json.loads(out)


def test_the_summary_comes_first_and_lines_only_for_what_needs_a_look(config: Path, tmp_path: Path):
    with spacekit.connect("dst") as store:
        store.create("alpha")
    code, out, _ = run("migrate", "src", "dst", "--on-conflict", "rename")
    lines = out.splitlines()
    assert code == 0 and "migrated 3 of 3 space(s) (3 created)" in lines[0]
    assert len(lines) == 3 and lines[1].startswith("action\toutcome\tsource\t")
    assert lines[2].split("\t")[:5] == ["rename", "created", "alpha", "1", "alpha (2)"]
    code, out, _ = run("migrate", "src", "dst", "--verbose")
    assert code == 0 and len(out.splitlines()) == 1 + 1 + 3  # the summary, a header, every space


def test_a_run_that_skipped_everything_does_not_say_migrated(config: Path, tmp_path: Path):
    journal = str(tmp_path / "j.db")
    assert run("migrate", "src", "dst", "--journal", journal)[0] == 0
    code, out, _ = run("migrate", "src", "dst", "--journal", journal)
    assert code == 0 and "nothing migrated (3 skipped)" in out and "migrated 3" not in out


def test_select_matching_nothing_is_an_error(config: Path):
    code, out, err = run("migrate", "src", "dst", "--select", "nope*")
    assert code == 2 and out == "" and "--select 'nope*' matched no space of src" in err
    code, _, err = run("migrate", "src", "dst", "--select", "nope*", "--dry-run")
    assert code == 2 and "matched no space" in err


def test_a_store_onto_itself_exits_2(config: Path):
    code, out, err = run("migrate", "src", "src")
    assert code == 2 and "same store" in err and out == ""


def test_no_tokens_warning_unless_asked(served_neuroio, tmp_path: Path):
    code, out, err = run("migrate", "nio", "dst")
    assert code == 0 and err == "" and "Note:" not in out and len(out.splitlines()) == 1
    code, out, _ = run("migrate", "nio", "dst", "--verbose", "--dry-run")
    assert code == 0 and "Note: space tokens" in out


def test_journals_leave_no_wal_or_shm_files_after_a_clean_exit(config: Path, tmp_path: Path):
    folder = tmp_path / "journals"
    folder.mkdir()
    assert run("migrate", "src", "dst", "--journal", str(folder / "j.db"))[0] == 0
    assert run("verify", "src", "dst", "--journal", str(folder / "j.db"))[0] == 0
    assert run("migrate", "src", "dst", "--journal", str(folder / "j.db"), "--dry-run")[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == ["j.db"]


def test_an_adoption_without_evidence_is_shown(served_neuroio):
    """NeuroIO gives no owner or creation time: a space adopted after a lost answer
    is shown for a person to check (see tests/test_migrate_adoption.py)."""
    neuroio, _ = served_neuroio
    plant(neuroio, "alpha")
    code, out, _ = run("migrate", "src", "nio", "--concurrency", "1")
    assert code == 0
    assert f"1 {ADOPTED}" in out.splitlines()[0]
    (line,) = [line for line in out.splitlines() if "alpha" in line]
    assert ADOPTED in line
