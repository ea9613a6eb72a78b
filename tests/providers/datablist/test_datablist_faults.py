"""Faults and secrets: retries where safe, typed errors for unreadable answers, and no
credential in a repr, a log line, an error or a traceback."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
from spacekit_datablist._emulator import API_KEY, DatablistEmulator

import spacekit
from spacekit.testing import find_secrets


def methods(emulator: DatablistEmulator, path: str) -> list[str]:
    return [r.method for r in emulator.requests if r.path == path]


def test_a_5xx_on_get_is_retried(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("flaky")
    emulator.faults.fail(503, times=2, method="GET")
    assert store.get(item["@id"]).name == "flaky"
    assert methods(emulator, f"/{item['@id']}") == ["GET"] * 3


def test_a_5xx_storm_ends_as_provider_unavailable(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.fail(502, times=10, method="GET")
    with pytest.raises(spacekit.ProviderUnavailable):
        list(store.list())
    assert methods(emulator, "/") == ["GET"] * 4  # the first try and three retries


def test_a_5xx_on_create_is_not_retried(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.fail(500, method="POST", path="^/$")
    with pytest.raises(spacekit.ProviderUnavailable):
        store.create("once")
    assert methods(emulator, "/") == ["POST"]


def test_a_dropped_create_may_have_been_applied(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.drop(after_commit=True, method="POST", path="^/$")
    with pytest.raises(spacekit.ProviderUnavailable) as caught:
        store.create("maybe")
    assert caught.value.maybe_applied
    assert [w["name"] for w in emulator.workspaces.values()] == ["maybe"]
    assert methods(emulator, "/") == ["POST"]


def test_a_dropped_delete_is_retried(emulator: DatablistEmulator, store: Any) -> None:
    item = emulator.add_workspace("gone")
    emulator.faults.drop(method="DELETE")
    store.delete(item["@id"])
    assert item["@id"] not in emulator.workspaces


def test_429_is_retried_even_for_create(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.throttle(retry_after="0", method="POST", path="^/$")
    assert store.create("patient").name == "patient"
    assert methods(emulator, "/").count("POST") == 2


@pytest.mark.parametrize("operation", ["list", "get"])
@pytest.mark.parametrize("truncate", [False, True], ids=["html", "truncated"])
def test_malformed_bodies_are_protocol_errors(
    emulator: DatablistEmulator, store: Any, operation: str, truncate: bool
) -> None:
    item = emulator.add_workspace("readable")
    path = "^/$" if operation == "list" else f"^/{item['@id']}$"
    emulator.faults.malformed(method="GET", path=path, truncate=truncate)
    with pytest.raises(spacekit.ProtocolError):
        list(store.list()) if operation == "list" else store.get(item["@id"])


def test_a_create_answer_without_id_is_a_protocol_error(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.malformed(method="POST", path="^/$", body=b'{"id": "not the documented key"}')
    with pytest.raises(spacekit.ProtocolError, match="@id"):
        store.create("x")


@pytest.mark.parametrize("truncate", [False, True], ids=["html", "truncated"])
def test_a_malformed_token_answer_is_a_protocol_error_without_the_token(
    emulator: DatablistEmulator, store: Any, truncate: bool
) -> None:
    emulator.faults.malformed(path="^/token$", truncate=truncate)
    with pytest.raises(spacekit.ProtocolError) as caught:
        list(store.list())
    assert caught.value.body is None
    assert find_secrets(str(caught.value)) == []


def test_a_5xx_storm_at_the_exchange_is_provider_unavailable(emulator: DatablistEmulator, store: Any) -> None:
    emulator.faults.fail(503, times=100, path="^/token$")
    with pytest.raises(spacekit.ProviderUnavailable):
        list(store.list())
    assert all(r.path == "/token" for r in emulator.requests)
    assert len(emulator.requests) == 4  # the store fixture allows 3 retries


def test_secrets_stay_out_of_reprs_logs_errors_and_tracebacks(
    emulator: DatablistEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    item = emulator.add_workspace("secret keeper")
    # an error body that echoes the credentials, as a careless server might
    with emulator.connect(backoff=0.01) as store:
        store.get(item["@id"])
        token = emulator.requests[-1].headers["Authorization"].removeprefix("Bearer ")
        echo = f'{{"message": "bad {API_KEY} and {token}"}}'
        emulator.faults.fail(503, times=10, method="GET", body=echo)
        emulator.faults.fail(400, method="PATCH", body=echo)
        with pytest.raises(spacekit.ProviderUnavailable) as unavailable:
            store.get(item["@id"])
        with pytest.raises(spacekit.ValidationError) as refused:
            store.update(item["@id"], name="n")
        seen: list[BaseException] = [unavailable.value, refused.value]
        shown = [repr(store), str(store), caplog.text]
        for error in seen:
            shown += [
                str(error),
                repr(error),
                str(getattr(error, "body", "")),
                *traceback.format_exception(error),
            ]
    text = "\n".join(shown)
    assert API_KEY not in text
    assert token not in text
    assert find_secrets(text) == []
    assert "***" in text  # the echoed values were masked, not lost
