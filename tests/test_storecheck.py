"""``spacekit stores --check`` (spacekit._storecheck): every configured store checked at
once, against emulators served on loopback, with its exit codes."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from spacekit_instabase._emulator import InstabaseEmulator
from spacekit_neuroio._emulator import NeuroIOEmulator

from spacekit._cli import main
from spacekit._storecheck import StoreCheck, exit_code

FAST = {"backoff": 0.01, "retries": 1, "deadline": 5.0}


def write_config(path: Path, stores: dict[str, dict[str, Any]]) -> None:
    lines = []
    for name, settings in stores.items():
        lines.append(f"[stores.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("SPACEKIT_CONFIG", str(path))
    return path


@contextlib.contextmanager
def served(emulator: Any) -> Iterator[str]:
    with emulator.serve() as url:
        yield url


def neuroio(url: str, token: str, **extra: Any) -> dict[str, Any]:
    return {"provider": "neuroio", "base_url": url, "token": token, **FAST, **extra}


def test_good_refused_unreachable_and_misconfigured_stores(config: Path, tmp_path: Path) -> None:
    good, ib = NeuroIOEmulator(), InstabaseEmulator()
    with served(good) as good_url, served(ib) as ib_url:
        stores = {
            "good": neuroio(good_url, good.token),
            "local": {"provider": "local", "path": str(tmp_path / "s.db")},
            "refused": {"provider": "instabase", "base_url": ib_url, "token": "wrong-token-value", **FAST},
            "down": neuroio("http://127.0.0.1:9", "some-token-value"),
            "typo": {"provider": "neurio", "token": "x"},
        }
        write_config(config, stores)
        result = run("stores", "--check", "--json")
        table = run("stores", "--check")
    assert result.exit_code == 4, result.output  # refused credentials win
    checks = {item["name"]: item for item in json.loads(result.stdout)["stores"]}
    assert list(checks) == list(stores)
    assert {name: item["state"] for name, item in checks.items()} == {
        "good": "ok",
        "local": "ok",
        "refused": "refused",
        "down": "unreachable",
        "typo": "misconfigured",
    }
    assert checks["good"]["reason"] is None
    assert "Authentication failed" in checks["refused"]["reason"]
    assert "cannot reach" in checks["down"]["reason"]
    assert "unknown provider 'neurio'" in checks["typo"]["reason"]
    assert checks["typo"]["provider"] == "neurio"
    assert [(r.method, r.path) for r in good.requests] == [("GET", "/v1/whoami/")] * 2
    assert table.exit_code == 4
    lines = table.stdout.splitlines()
    for name, state in (("good", "ok"), ("refused", "refused"), ("down", "unreachable")):
        assert any(name in line and state in line for line in lines), table.stdout
    for secret in ("wrong-token-value", "some-token-value", good.token):
        assert secret not in table.output + result.output


@pytest.mark.parametrize(
    ("states", "code"),
    [
        ([], 0),
        (["ok", "ok"], 0),
        (["ok", "refused", "unreachable", "misconfigured"], 4),
        (["unreachable", "misconfigured"], 5),
        (["ok", "misconfigured"], 2),
    ],
)
def test_exit_codes(states: list[str], code: int) -> None:
    assert exit_code([StoreCheck(str(i), "p", state) for i, state in enumerate(states)]) == code


def test_only_unreachable_exits_5_and_only_misconfigured_exits_2(config: Path) -> None:
    write_config(config, {"down": neuroio("http://127.0.0.1:9", "some-token-value")})
    assert run("stores", "--check").exit_code == 5
    write_config(config, {"bad": {"provider": "neuroio", "token": "t0ken-value", "base_url": "ftp://x"}})
    result = run("stores", "--check", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["stores"][0]["state"] == "misconfigured"


def test_a_closed_port_names_where_and_why_and_is_not_retried_in_a_check(
    config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(config, {"down": neuroio("http://127.0.0.1:9", "some-token-value", retries=3)})
    with caplog.at_level("INFO", logger="spacekit.http"):
        result = run("stores", "--check", "--json")
    (check,) = json.loads(result.stdout)["stores"]
    assert (result.exit_code, check["state"]) == (5, "unreachable")
    assert "cannot reach the provider at 127.0.0.1:9 (connection refused)" in check["reason"]
    assert not [r for r in caplog.records if "retry" in r.getMessage()]  # asked once
    caplog.clear()
    with caplog.at_level("INFO", logger="spacekit.http"):  # an operation still retries it
        assert run("spaces", "list", "--store", "down").exit_code == 5
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 3


def test_all_ok_exits_0_and_nothing_configured_says_so(config: Path) -> None:
    emulator = NeuroIOEmulator()
    with served(emulator) as url:
        write_config(config, {"a": neuroio(url, emulator.token), "b": {"provider": "memory"}})
        assert run("stores", "--check").exit_code == 0
    write_config(config, {})
    result = run("stores", "--check")
    assert result.exit_code == 0
    assert "no stores are configured" in result.stderr


class _Meeting(NeuroIOEmulator):
    """Answers ``whoami`` only once every store's check has arrived: checks run one
    after the other would break the barrier and get a 500."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.barrier.wait(timeout=5)
        return super().handle(request)


def test_stores_are_checked_concurrently(config: Path) -> None:
    barrier = threading.Barrier(3)
    emulators = [_Meeting(barrier) for _ in range(3)]
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(served(e)) for e in emulators]
        write_config(
            config,
            {
                f"s{i}": neuroio(url, e.token, retries=0)
                for i, (e, url) in enumerate(zip(emulators, urls, strict=True))
            },
        )
        result = run("stores", "--check", "--json")
    assert result.exit_code == 0, result.output
    assert [item["state"] for item in json.loads(result.stdout)["stores"]] == ["ok"] * 3
