"""No secret anywhere in an error: message, args, attributes, body, fields, or its chain.

Every provider's emulator is made to echo the store's credentials back, in the
shapes each plugin reads (a message, field errors, a raw body) and at every
position around the cut that shortens an error's body, for each error status.
Then the whole exception is walked: its text, its repr, every attribute, every
exception of its ``__cause__``/``__context__`` chain, and the formatted traceback.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections.abc import Callable, Iterator

import pytest

import spacekit
from spacekit._redact import BODY_LIMIT
from spacekit.testing import Emulator

PROVIDERS = ["neuroio", "instabase", "datablist"]
STATUSES = [200, 400, 401, 403, 404, 409, 422, 500]
POSITIONS = 40  # positions of an echoed secret around the body's cut (every one, for short secrets)


def texts(error: BaseException) -> Iterator[str]:
    """Every text an exception shows or holds, through its whole chain."""
    yield "".join(traceback.format_exception(error))
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield from (repr(a) for a in current.args)
        for value in vars(current).values():
            yield repr(value)
            if isinstance(value, BaseException):
                pending.append(value)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def assert_clean(error: BaseException, secrets: list[str]) -> None:
    for text in texts(error):
        for secret in secrets:
            assert secret not in text
    body = getattr(error, "body", None) or ""
    for secret in secrets:  # nothing left of a secret cut in two by the body's limit
        assert not any(body.removesuffix("...").endswith(secret[:n]) for n in range(4, len(secret)))


def open_store(emulator: Emulator) -> tuple[spacekit.SpaceStore, list[str]]:
    store = emulator.connect(retries=0)
    with contextlib.suppress(spacekit.SpacekitError):
        list(store.list())  # Datablist exchanges its key for an access token first
    provider = store._provider  # type: ignore[attr-defined]
    return store, sorted(set(provider.secrets()))


def echoes(secret: str) -> list[bytes]:
    """Bodies that echo ``secret`` back in every shape a plugin reads, and around the cut."""
    message = f"bad token Token {secret}"
    shaped = {
        "message": message,
        "msg": message,
        "detail": message,
        "status": "ERROR",
        "error": message,
        "fields": [{"name": "name", "message": f"echo Token {secret}"}],
        secret: [f"field named by the secret {secret}"],
    }
    bodies = [json.dumps(shaped).encode(), f"<html>{message}</html>".encode()]
    span = len(secret) + 3  # from wholly before the cut to wholly after it
    for step in range(POSITIONS):
        before = BODY_LIMIT - len(secret) - 1 + step * span // POSITIONS
        bodies.append(("x" * before + secret + "y" * 50).encode())
    prefix = '{"message": "'
    bodies.append((prefix + "x" * (BODY_LIMIT - len(prefix) - 5) + secret + '"}').encode())
    return bodies


@pytest.mark.parametrize("provider", PROVIDERS)
def test_echoed_credentials_never_reach_an_error(
    provider: str, spacekit_emulator: Callable[[str], Emulator]
) -> None:
    emulator = spacekit_emulator(provider)
    store, secrets = open_store(emulator)
    assert secrets
    provider_object = store._provider  # type: ignore[attr-defined]
    checked = 0
    with store:
        for which in (0, -1):  # Datablist: the API key, and the access token of the moment
            for index in range(len(echoes("x" * 40))):
                for status in STATUSES if index < 2 else (200, 400):
                    secrets = list(provider_object.secrets())
                    body = echoes(secrets[which])[index]
                    emulator.faults.fail(status, body=body, method="GET")
                    try:
                        store.get("some-id")
                    except spacekit.SpacekitError as error:
                        assert_clean(error, secrets)
                        checked += 1
                    emulator.faults.clear()
    assert checked > 100


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_echoed_credentials_never_reach_an_async_error(
    provider: str, spacekit_emulator: Callable[[str], Emulator]
) -> None:
    emulator = spacekit_emulator(provider)
    async with emulator.connect_async(retries=0) as store:
        async for _ in store.list():
            pass
        provider_object = store._provider  # type: ignore[attr-defined]
        for which in (0, -1):
            for status in STATUSES:
                secrets = list(provider_object.secrets())
                emulator.faults.fail(status, body=echoes(secrets[which])[0], method="GET")
                with pytest.raises(spacekit.SpacekitError) as caught:
                    await store.get("some-id")
                assert_clean(caught.value, secrets)
                emulator.faults.clear()


def test_an_error_chain_holds_no_foreign_exception() -> None:
    # An httpx error holds the request, and so the Authorization header: never chained.
    store = spacekit.connect(
        "neuroio", token="tok-0123456789abcdef", base_url="http://127.0.0.1:9", retries=0
    )
    with store, pytest.raises(spacekit.ProviderUnavailable) as caught:
        store.get("1")
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert_clean(caught.value, ["tok-0123456789abcdef"])


def test_redact_error_scrubs_every_attribute_and_the_chain() -> None:
    from spacekit._redact import redact_error

    secret = "s3cr3t-value-0123456789"
    inner = spacekit.ValidationError(f"inner {secret}", fields={"name": f"echo {secret}"}, body=secret)
    outer = spacekit.ProtocolError(f"outer {secret}", body="b" * 1995 + secret, fields={secret: "x"})
    outer.extra = (secret, [secret], {"k": secret})  # type: ignore[attr-defined]
    outer.add_note(f"note {secret}")
    outer.__context__ = inner
    inner.__cause__ = KeyError(secret)
    redact_error(outer, [secret])
    assert_clean(outer, [secret])
    assert inner.__cause__ is None
    assert outer.body == "b" * 1995 + "***"  # redacted first, so it fits the limit whole


def test_cut_masks_a_secret_straddling_the_limit_at_every_position() -> None:
    from spacekit._redact import cut, redact

    secret = "abcdefghijklmnop"
    for before in range(BODY_LIMIT - len(secret) - 2, BODY_LIMIT + 2):
        text = "x" * before + secret + "y" * 100
        shown = cut(redact(text, [secret]), [secret])
        assert all(secret[:n] not in shown for n in range(4, len(secret) + 1))
        assert len(shown) <= BODY_LIMIT + 3
