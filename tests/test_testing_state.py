"""An emulator's state: snapshots every provider's emulator restores, and the state
file (``spacekit/testing/_state.py``) that keeps one across restarts, written
atomically and never over a file it did not write."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from spacekit import ConfigError
from spacekit.testing import Emulator, Faults, emulator_for, log_line
from spacekit.testing._state import StateFile

PROVIDERS = ["datablist", "instabase", "neuroio"]


def _busy(provider: str) -> Emulator:
    """An emulator with spaces seeded, created through its API, and (NeuroIO) tokens issued."""
    emulator = emulator_for(provider)
    emulator.seed_spaces(3)
    with emulator.connect() as store:
        if provider == "instabase":
            store.create("made_here", description="by the API")
        else:
            created = store.create("made here")
            if provider == "neuroio":
                store.update(created.id, name="renamed")
    return emulator


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_snapshot_restores_to_the_same_state_in_a_fresh_emulator(provider: str) -> None:
    emulator = _busy(provider)
    snapshot = emulator.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot  # JSON as it is
    fresh = emulator_for(provider)
    fresh.restore(json.loads(json.dumps(snapshot)))
    assert fresh.snapshot() == snapshot
    with fresh.connect() as store:
        names = sorted(space.name for space in store.list())
    with emulator.connect() as store:
        assert names == sorted(space.name for space in store.list())


def test_neuroio_keeps_its_ids_and_token_counts_but_no_token_key() -> None:
    emulator = emulator_for("neuroio")
    with emulator.connect() as store:
        created = store.create("with tokens")
    token = {"Authorization": f"Token {emulator.connect_settings('')['token']}"}
    with httpx.Client(transport=emulator.transport, base_url="http://localhost", headers=token) as client:
        keys = [client.post(f"/v1/spaces/{created.id}/tokens/", json={"permanent": True}).json()["key"]]
        snapshot = emulator.snapshot()
        fresh = emulator_for("neuroio")
        fresh.restore(snapshot)
    assert not any(key in json.dumps(snapshot) for key in keys)
    with httpx.Client(transport=fresh.transport, base_url="http://localhost", headers=token) as client:
        client.headers["Authorization"] = f"Token {fresh.connect_settings('')['token']}"
        answers = [
            client.post(f"/v1/spaces/{created.id}/tokens/", json={"permanent": True}) for _ in range(5)
        ]
        assert [a.status_code for a in answers] == [201, 201, 201, 201, 400]  # five at most, one kept
        assert client.post("/v1/spaces/", json={"name": "next"}).json()["id"] == int(created.id) + 1


BAD_SNAPSHOTS = {
    "neuroio": [
        {},
        {"spaces": "none", "tokens": [], "next_space_id": 2, "next_token_id": 1},
        {"spaces": [{"id": 2, "name": "x"}], "tokens": [], "next_space_id": 3, "next_token_id": 1},
        {"spaces": [{"id": 1, "name": "default"}], "tokens": [], "next_space_id": 1, "next_token_id": 1},
        {"spaces": [{"id": 1, "name": " "}], "tokens": [], "next_space_id": 2, "next_token_id": 1},
        {"spaces": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], "tokens": [], "next_space_id": 2, "next_token_id": 1},
        {"spaces": [{"id": 1, "name": "default"}], "tokens": [{"space": 9, "id": 1, "permanent": True}],
         "next_space_id": 2, "next_token_id": 2},
    ],
    "instabase": [
        {},
        {"spaces": [{"repo_owner": "x"}]},
        {"spaces": [{"repo_owner": "x", "account_type": "ORGANIZATION", "is_admin": True, "repos": [{}]}]},
        {"spaces": [{"repo_owner": "x", "account_type": "USER", "is_admin": True}] * 2},
    ],
    "datablist": [
        {},
        {"spaces": [{"@id": "a", "name": "x"}]},
        {"spaces": [{"@id": "a/b", "@type": "Workspace", "name": "x", "user_id": "u"}]},
        {"spaces": [{"@id": "a", "@type": "Workspace", "name": "x", "user_id": "u"}] * 2},
    ],
}  # fmt: skip


@pytest.mark.parametrize(("provider", "snapshot"), [(p, s) for p, bad in BAD_SNAPSHOTS.items() for s in bad])
def test_a_snapshot_the_emulator_did_not_write_is_refused_and_changes_nothing(
    provider: str, snapshot: dict[str, object]
) -> None:
    emulator = _busy(provider)
    before = emulator.snapshot()
    with pytest.raises(ValueError):
        emulator.restore(snapshot)
    assert emulator.snapshot() == before


@pytest.mark.parametrize("provider", PROVIDERS)
def test_keep_state_writes_each_change_and_a_restart_reads_it(provider: str, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = emulator_for(provider)
    first.seed_spaces(1)
    assert first.keep_state(path) is False and path.exists()
    with first.connect() as store:
        store.create("kept_here")
    first.save_state()
    assert "kept_here" in path.read_text()
    again = emulator_for(provider)
    again.seed_spaces(1)  # the file wins over the seeds: they are not added twice
    assert again.keep_state(path) is True
    assert again.snapshot() == first.snapshot()
    again.reset()  # back to the start of this run, and the file says so
    again.save_state()
    assert "kept_here" not in path.read_text() and "seed_0001" in path.read_text()


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_state_file_must_be_a_regular_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state.json"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: opening it must not wait for one
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="is not a regular file"):
        emulator_for("neuroio").keep_state(path)


def test_a_burst_of_changes_ends_in_the_file(tmp_path: Path) -> None:
    emulator = emulator_for("datablist")
    path = tmp_path / "state.json"
    emulator.keep_state(path)
    with emulator.connect() as store:
        for number in range(40):
            store.create(f"burst {number}")
    emulator.save_state()
    saved = json.loads(path.read_text())["state"]["spaces"]
    assert sorted(space["name"] for space in saved) == sorted(f"burst {n}" for n in range(40))


def test_a_write_leaves_no_temporary_file_and_a_failed_one_keeps_the_old_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    state_file = StateFile(path, "neuroio")
    state_file.write({"spaces": [1]})
    assert state_file.read() == {"spaces": [1]} and os.listdir(tmp_path) == ["state.json"]

    def failing(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(ConfigError, match="No space left on device"):
        state_file.write({"spaces": [2]})
    assert state_file.read() == {"spaces": [1]} and os.listdir(tmp_path) == ["state.json"]


def test_a_served_emulator_that_cannot_write_its_state_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = emulator_for("neuroio")
    emulator.keep_state(tmp_path / "state.json")
    (tmp_path / "state.json").unlink()
    tmp_path.rmdir()  # the folder is gone: each write fails
    with emulator.connect() as store:
        store.create("one")
        emulator.save_state()
        store.create("two")
        emulator.save_state()
    assert capsys.readouterr().err.count("Warning: cannot write the state file") == 1


def test_random_failures_repeat_for_the_same_seed() -> None:
    class Seen:
        method, path = "GET", "/"

    def draws(seed: int) -> list[bool]:
        faults = Faults()
        faults.fail_randomly(0.3, 500, seed=seed)
        return [faults.take(Seen()) is not None for _ in range(50)]

    assert draws(1) == draws(1) != draws(2)
    assert 5 < sum(draws(1)) < 30
    with pytest.raises(ValueError):
        Faults().fail_randomly(1.5)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_credentials_are_the_secret_settings(provider: str) -> None:
    emulator = emulator_for(provider)
    emulator.set_credential("a-credential-of-mine")
    assert emulator.credentials() == ["a-credential-of-mine"]
    assert emulator.shown_path("/x/a-credential-of-mine/y") == "/x/***/y"


def test_a_log_line() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    assert (
        log_line(moment, "GET", "/v1/spaces/", 200, 3.14159)
        == "2026-01-02T03:04:05.678Z GET /v1/spaces/ 200 3.1ms"
    )
    assert log_line(moment, "POST", "/", None, 10) == "2026-01-02T03:04:05.678Z POST / dropped 10.0ms"
