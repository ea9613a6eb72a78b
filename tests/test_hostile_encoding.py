"""Compressed answers against ``max_response_bytes``: every ``Content-Encoding`` layer
is undone a piece at a time and counted as it is inflated, so a few kilobytes that
inflate to hundreds of megabytes end with a ``ProtocolError`` in bounded memory.

Every test runs under a memory ceiling (``tests/ceiling.py``) well below what the
bombs inflate to: a regression that inflates a bomb whole fails instead of eating
the machine.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import zlib
from typing import Any

import pytest
from fuzzing import (
    OPERATIONS,
    async_result_or_spacekit_error,
    bodies,
    fuzz_settings,
    result_or_spacekit_error,
    run_async_operation,
    run_operation,
    statuses,
)
from hostile import compressed, encoded, serving
from hypothesis import given
from hypothesis import strategies as st
from toy import TOKEN, plugin

import spacekit

pytestmark = pytest.mark.memory_ceiling(megabytes=160)

CAP = 1_000_000
BODY = b'{"id": 1, "name": "one"}'
BOMB_SIZE = 256 * 2**20  # what each bomb inflates to: far over the ceiling and the cap


BOMBS = {
    "gzip": ("gzip",),
    "gzip, gzip": ("gzip", "gzip"),
    "gzip, deflate": ("gzip", "deflate"),
    "gzip, gzip, gzip": ("gzip", "gzip", "gzip"),
}


@pytest.fixture(scope="module")
def bombs() -> dict[tuple[str, ...], bytes]:
    """Made once, in the test process (each test runs in a child of it): the first
    layer is the slow one, and every bomb starts with the same."""
    made = {("gzip",): compressed(BOMB_SIZE, ["gzip"])}
    for layers in BOMBS.values():
        made[layers] = functools.reduce(_layer, layers[1:], made[("gzip",)])
    return made


def _layer(data: bytes, encoding: str) -> bytes:
    return gzip.compress(data) if encoding == "gzip" else _deflate(data, 15)


def _open(url: str, **settings: Any) -> spacekit.SpaceStore:
    return plugin.open({"token": TOKEN, "base_url": url, "retries": 0, "max_response_bytes": CAP, **settings})


@pytest.mark.parametrize("layers", BOMBS.values(), ids=BOMBS.keys())
def test_a_compression_bomb_ends_at_max_response_bytes(
    layers: tuple[str, ...], bombs: dict[tuple[str, ...], bytes]
) -> None:
    with (
        serving(encoded(bombs[layers], ", ".join(layers))) as url,
        _open(url) as store,
        pytest.raises(spacekit.ProtocolError, match="max_response_bytes"),
    ):
        store.get("1")


@pytest.mark.parametrize("layers", BOMBS.values(), ids=BOMBS.keys())
def test_an_async_compression_bomb_ends_at_max_response_bytes(
    layers: tuple[str, ...], bombs: dict[tuple[str, ...], bytes]
) -> None:
    async def main() -> None:
        settings = {"token": TOKEN, "base_url": url, "retries": 0, "max_response_bytes": CAP}
        async with plugin.open_async(settings) as store:
            await store.get("1")

    with (
        serving(encoded(bombs[layers], ", ".join(layers))) as url,
        pytest.raises(spacekit.ProtocolError, match="max_response_bytes"),
    ):
        asyncio.run(main())


@pytest.mark.parametrize("layers", [("gzip", "gzip"), ("gzip", "deflate", "gzip")], ids=["two", "three"])
def test_a_bomb_under_a_generous_cap_ends_at_the_decompression_ratio(
    layers: tuple[str, ...], bombs: dict[tuple[str, ...], bytes]
) -> None:
    bomb = functools.reduce(_layer, layers[1:], bombs[("gzip",)])
    with (
        serving(encoded(bomb, ", ".join(layers))) as url,
        _open(url, max_response_bytes=200 * 2**20) as store,  # over the memory ceiling
        pytest.raises(spacekit.ProtocolError, match="inflates more than 2000 times over"),
    ):
        store.get("1")


def test_a_highly_compressible_answer_of_one_layer_is_read() -> None:
    body = BODY[:-1] + b', "pad": "' + b" " * 4_000_000 + b'"}'  # as far as one layer goes: 1,022 times over
    with (
        serving(encoded(gzip.compress(body, 9), "gzip")) as url,
        _open(url, max_response_bytes=2**23) as store,
    ):
        assert store.get("1").name == "one"


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


READABLE = {
    "gzip": (gzip.compress(BODY), "gzip"),
    "x-gzip": (gzip.compress(BODY), "x-gzip"),
    "deflate": (_deflate(BODY, 15), "deflate"),
    "raw deflate": (_deflate(BODY, -15), "deflate"),
    "gzip, gzip": (gzip.compress(gzip.compress(BODY)), "gzip, gzip"),
    "deflate, gzip": (gzip.compress(_deflate(BODY, 15)), "deflate, gzip"),
    "identity": (BODY, "identity"),
    "identity, gzip": (gzip.compress(BODY), "identity, GZIP"),
    "a large gzip answer": (gzip.compress(BODY[:-1] + b', "pad": "' + b"a" * 500_000 + b'"}'), "gzip"),
}


@pytest.mark.parametrize(("body", "encoding"), READABLE.values(), ids=READABLE.keys())
def test_an_encoded_answer_is_read_whole(body: bytes, encoding: str) -> None:
    with serving(encoded(body, encoding)) as url, _open(url) as store:
        assert store.get("1").name == "one"


def test_an_encoded_answer_of_exactly_the_cap_is_read() -> None:
    body = BODY[:-1] + b', "pad": "' + b"a" * 1000 + b'"}'
    with (
        serving(encoded(gzip.compress(body), "gzip")) as url,
        _open(url, max_response_bytes=len(body)) as store,
    ):
        assert store.get("1").name == "one"
    with (
        serving(encoded(gzip.compress(body), "gzip")) as url,
        _open(url, max_response_bytes=len(body) - 1) as store,
        pytest.raises(spacekit.ProtocolError, match="max_response_bytes"),
    ):
        store.get("1")


UNDECODABLE = {
    "br": (b"\x8b\x02\x80", "br", "'br' is not one spacekit asked for"),
    "zstd": (b"\x28\xb5\x2f\xfd", "zstd", "'zstd' is not one spacekit asked for"),
    "compress": (b"\x1f\x9d", "compress", "not one spacekit asked for"),
    "corrupt gzip": (b"\x1f\x8b" + b"\x00" * 30, "gzip", "not valid gzip data"),
    "not deflate": (b"plain text, not deflate", "deflate", "not valid deflate data"),
    "four layers": (BODY, "gzip, gzip, gzip, gzip", "encoded 4 times over"),
}


@pytest.mark.parametrize(("body", "encoding", "said"), UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_an_answer_that_cannot_be_decoded_is_a_protocol_error(body: bytes, encoding: str, said: str) -> None:
    with (
        serving(encoded(body, encoding)) as url,
        _open(url) as store,
        pytest.raises(spacekit.ProtocolError, match=said) as caught,
    ):
        store.get("1")
    assert "GET /spaces/1/" in str(caught.value)


def test_only_encodings_that_are_undone_within_the_cap_are_asked_for() -> None:
    seen: list[str] = []

    def answer(connection: Any) -> None:
        encoded(BODY, "identity")(connection)

    with serving(answer, requests=seen) as url, _open(url) as store:
        store.get("1")
    assert "accept-encoding: gzip, deflate\r\n" in seen[0].lower()


# -- every provider, every operation, the token exchange, the passthrough ------------

PROVIDERS = {
    "neuroio": {"token": "neuroio-secret-token-0123"},
    "instabase": {"token": "instabase-secret-token-0123"},
    "datablist exchange": {"api_key": "datablist-secret-key-0123"},
    "datablist token": {"access_token": "datablist-secret-jwt-0123"},
}
CALLS = [*OPERATIONS, "request"]


def _settings(url: str, provider: str) -> dict[str, Any]:
    extra = {"auth_url": url} if provider.startswith("datablist") else {}
    return {**PROVIDERS[provider], "base_url": url, "retries": 0, "max_response_bytes": CAP, **extra}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_call_of_every_provider_ends_at_the_cap(
    provider: str, call: str, bombs: dict[tuple[str, ...], bytes]
) -> None:
    with serving(encoded(bombs[("gzip", "gzip")], "gzip, gzip")) as url:
        with spacekit.connect(provider.split()[0], **_settings(url, provider)) as store:
            outcome = result_or_spacekit_error(
                lambda: store.request("GET", "/x") if call == "request" else run_operation(store, call)
            )
        with_async = async_result_or_spacekit_error(lambda: _async_call(url, provider, call))
    for result in (outcome, with_async):
        if result is not None:  # None: the store lacks that capability
            assert isinstance(result, spacekit.ProtocolError), result
            assert "max_response_bytes" in str(result)


async def _async_call(url: str, provider: str, call: str) -> Any:
    async with spacekit.connect_async(provider.split()[0], **_settings(url, provider)) as store:
        if call == "request":
            return await store.request("GET", "/x")
        return await run_async_operation(store, call)


# -- fuzzing: any answer, in any stack of encodings, whole or cut short --------------


@fuzz_settings
@given(
    body=bodies(st.just({"id": 1, "name": "one"})),
    layers=st.lists(st.sampled_from(["gzip", "deflate", "x-gzip", "identity"]), max_size=3),
    cut=st.integers(min_value=0, max_value=40),
    status=statuses,
)
def test_any_answer_in_any_encoding_gives_a_result_or_a_spacekit_error(
    body: bytes, layers: list[str], cut: int, status: int
) -> None:
    for layer in layers:
        if layer != "identity":
            body = _layer(body, "deflate" if layer == "deflate" else "gzip")
    body = body[: len(body) - cut] if cut < len(body) else body  # a stream cut short, too
    with serving(encoded(body, ", ".join(layers) or "identity", status)) as url, _open(url) as store:
        result_or_spacekit_error(lambda: store.get("1"))
