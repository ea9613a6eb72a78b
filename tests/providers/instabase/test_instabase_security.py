"""The token never shows: not in repr, logs, errors, tracebacks or cassettes."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from spacekit_instabase import plugin
from spacekit_instabase._emulator import TOKEN, InstabaseEmulator

import spacekit
from spacekit.testing import find_secrets

CASSETTES = Path(__file__).resolve().parents[3] / "cassettes" / "instabase"


def shown(error: BaseException) -> str:
    """Everything a user could see of an error."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    parts += [str(getattr(error, name, "")) for name in ("body", "fields", "args")]
    return "\n".join(parts)


def test_repr_hides_the_token(ib: spacekit.SpaceStore, emulator: InstabaseEmulator) -> None:
    provider = plugin.provider_class(plugin.check_settings({"token": TOKEN}))
    for text in (repr(ib), str(ib), repr(provider), repr(ib.get("alice")), repr(ib.create("Repr Org"))):
        assert TOKEN not in text


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, f'{{"status": "ERROR", "msg": "Invalid token {TOKEN}"}}', spacekit.AuthenticationError),
        (200, f'{{"status": "ERROR", "msg": "cannot create org for {TOKEN}"}}', spacekit.ProviderError),
        (401, f'{{"status": "ERROR", "msg": "Bearer {TOKEN} refused"}}', spacekit.AuthenticationError),
        (503, f'{{"status": "ERROR", "msg": "down ({TOKEN})"}}', spacekit.ProviderUnavailable),
        (200, f"<html>token={TOKEN}</html>", spacekit.ProtocolError),
        (200, f'{{"echo": "{TOKEN}"}}', spacekit.ProtocolError),
    ],
    ids=["auth-200", "other-200", "401", "503", "html", "no-status"],
)
def test_errors_and_logs_never_carry_the_token(
    ib: spacekit.SpaceStore,
    emulator: InstabaseEmulator,
    caplog: pytest.LogCaptureFixture,
    status: int,
    body: str,
    error: type[Exception],
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.faults.fail(status, times=10, body=body)
    with pytest.raises(error) as caught:
        list(ib.list())
    assert TOKEN not in shown(caught.value)
    assert "***" in shown(caught.value)  # it was there, and was masked
    assert caplog.records, "the engine logs requests at DEBUG"
    assert TOKEN not in caplog.text
    assert find_secrets(caplog.text) == []


async def test_async_errors_never_carry_the_token(
    aib: spacekit.AsyncSpaceStore, emulator: InstabaseEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.faults.fail(200, method="POST", body=f'{{"status": "ERROR", "msg": "Expired token {TOKEN}"}}')
    with pytest.raises(spacekit.AuthenticationError) as caught:
        await aib.create("Secret Org")
    assert TOKEN not in shown(caught.value)
    assert TOKEN not in caplog.text


def test_a_successful_session_logs_no_token(
    ib: spacekit.SpaceStore, emulator: InstabaseEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.faults.fail(503, times=2, method="GET")
    list(ib.list())
    ib.create("Logged Org")
    assert "retry" in caplog.text
    assert TOKEN not in caplog.text
    assert find_secrets(caplog.text) == []


def test_a_mistyped_token_is_not_echoed() -> None:
    bad = 987654321
    with pytest.raises(spacekit.ConfigError) as caught:
        spacekit.connect("instabase", token=bad)
    assert str(bad) not in shown(caught.value)


@pytest.mark.parametrize("path", sorted(CASSETTES.rglob("*.yaml")), ids=lambda p: p.name)
def test_cassettes_hold_no_token(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert find_secrets(text) == []
    assert "authorization:\n      - REDACTED" in text
