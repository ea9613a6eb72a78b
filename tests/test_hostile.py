"""Hard limits against hostile servers: slow drips, stalls, oversized and unreadable answers.

Each test first sets up the server that breaks the guarantee (see ``hostile``), then
checks that the caller gets a typed spacekit error, in time. The time bounds are
generous (they prove a limit holds, not how fast anything is).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hostile import compressed, drip_body, drip_headers, encoded, fixed, huge, serving, stall_after
from toy import TOKEN, ToyEmulator, plugin

import spacekit
from spacekit._cli import main

pytestmark = pytest.mark.memory_ceiling

TIMEOUT, DEADLINE = 0.5, 1.5
SLACK = 1.5  # scheduling noise on a loaded machine; far below what an unbounded read would take
BODY = b'{"id": 1, "name": "one", "pad": "' + b"a" * 40 + b'"}'


def _open(url: str, **settings: Any) -> spacekit.SpaceStore:
    return plugin.open(
        {"token": TOKEN, "base_url": url, "timeout": TIMEOUT, "deadline": DEADLINE, **settings}
    )


def _open_async(url: str, **settings: Any) -> spacekit.AsyncSpaceStore:
    merged = {"token": TOKEN, "base_url": url, "timeout": TIMEOUT, "deadline": DEADLINE, **settings}
    return plugin.open_async(merged)


def _timed(call: Callable[[], Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(spacekit.SpacekitError) as caught:
        call()
    return caught.value, time.monotonic() - started


async def _timed_async(call: Callable[[], Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(spacekit.SpacekitError) as caught:
        await call()
    return caught.value, time.monotonic() - started


SLOW_SERVERS = {
    "body one byte every 0.2 s": drip_body(BODY, 0.2),
    "headers one byte every 0.2 s": drip_headers(0.2),
    "half a body, then nothing": stall_after(BODY[:10], len(BODY)),
}


@pytest.mark.parametrize("answer", SLOW_SERVERS.values(), ids=SLOW_SERVERS.keys())
def test_a_slow_server_cannot_hold_a_call_past_its_deadline(answer: Any) -> None:
    with serving(answer) as url, _open(url, retries=10, backoff=0) as store:
        error, elapsed = _timed(lambda: store.get("1"))
    assert type(error) is spacekit.ProviderUnavailable
    assert "no complete answer within the" in str(error)
    assert elapsed < DEADLINE + SLACK


@pytest.mark.parametrize("answer", SLOW_SERVERS.values(), ids=SLOW_SERVERS.keys())
async def test_a_slow_server_cannot_hold_an_async_call_past_its_deadline(answer: Any) -> None:
    with serving(answer) as url:
        async with _open_async(url, retries=10, backoff=0) as store:
            error, elapsed = await _timed_async(lambda: store.get("1"))
    assert type(error) is spacekit.ProviderUnavailable
    assert elapsed < DEADLINE + SLACK


def test_one_attempt_is_bounded_by_the_timeout_not_by_each_read() -> None:
    # Without retries, the call ends with the first attempt's timeout, long before the
    # drip (about 15 s) would end: httpx's read timeout alone never fires here.
    with serving(drip_body(BODY, 0.2)) as url, _open(url, retries=0, deadline=60) as store:
        error, elapsed = _timed(lambda: store.get("1"))
    assert f"timeout of {TIMEOUT:g} s" in str(error)
    assert elapsed < TIMEOUT + SLACK


def test_a_write_cut_off_by_the_timeout_may_have_been_applied_and_is_not_repeated() -> None:
    requests: list[float] = []

    def answer(connection: Any) -> None:
        requests.append(time.monotonic())
        drip_body(BODY, 0.2)(connection)

    with serving(answer) as url, _open(url, retries=5, backoff=0) as store:
        error, _ = _timed(lambda: store.create("new"))
    assert isinstance(error, spacekit.ProviderUnavailable)
    assert error.maybe_applied is True
    assert "may have reached the provider" in str(error)
    assert len(requests) == 1


def test_a_read_cut_off_is_retried_within_the_deadline() -> None:
    calls: list[int] = []

    def answer(connection: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            drip_body(BODY, 0.2)(connection)
        else:
            fixed(200, BODY)(connection)

    with serving(answer) as url, _open(url, retries=3, backoff=0, deadline=30) as store:
        assert store.get("1").name == "one"
    assert len(calls) == 2


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "chunked"])
def test_an_answer_over_max_response_bytes_is_a_protocol_error(announce: bool) -> None:
    with (
        serving(huge(200_000, announce=announce)) as url,
        _open(url, max_response_bytes=50_000) as store,
        pytest.raises(spacekit.ProtocolError) as caught,
    ):
        store.get("1")
    message = str(caught.value)
    assert "max_response_bytes (50000 bytes)" in message and "raise that setting" in message


async def test_an_async_answer_over_max_response_bytes_is_a_protocol_error() -> None:
    with serving(huge(200_000, announce=False)) as url:
        async with _open_async(url, max_response_bytes=50_000) as store:
            with pytest.raises(spacekit.ProtocolError, match="max_response_bytes"):
                await store.get("1")


def test_an_answer_of_exactly_max_response_bytes_is_read() -> None:
    with serving(fixed(200, BODY)) as url, _open(url, max_response_bytes=len(BODY)) as store:
        assert store.get("1").name == "one"


def test_the_cap_holds_in_process_too() -> None:
    emulator = ToyEmulator()
    emulator.spaces[1] = {"id": 1, "name": "x" * 5000}
    with emulator.open(max_response_bytes=1000) as store, pytest.raises(spacekit.ProtocolError):
        store.get("1")


UNREADABLE = {
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested 500 deep": b'{"id": 1, "name": "a", "x": ' + b"[" * 500 + b"]" * 500 + b"}",
    "a 5000-digit id": b'{"id": ' + b"9" * 5000 + b', "name": "a"}',
    "NaN": b'{"id": NaN, "name": "a"}',
    "not UTF-8": b'{"id": 1, "name": "\xff\xfe"}',
    "binary": bytes(range(256)),
    "a list": b"[1, 2, 3]",
    "a name of the wrong type": b'{"id": 1, "name": {"a": 1}}',
    "no name": b'{"id": 1}',
    "empty": b"",
}


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_any_answer_gives_a_result_or_a_spacekit_error(body: bytes) -> None:
    emulator = ToyEmulator()
    for status in (200, 201, 400, 404, 500):
        emulator.faults.fail(status, body=body)
        with emulator.open(retries=0) as store, contextlib.suppress(spacekit.SpacekitError):
            store.get("1")  # a result is fine (the toy takes any name); no other exception is


@pytest.mark.parametrize("body", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_any_async_answer_gives_a_result_or_a_spacekit_error(body: bytes) -> None:
    emulator = ToyEmulator()
    emulator.faults.fail(200, body=body)
    async with emulator.open_async(retries=0) as store:
        with contextlib.suppress(spacekit.SpacekitError):
            await store.get("1")


def test_a_plugin_tripping_on_an_answer_is_a_protocol_error_naming_the_request() -> None:
    emulator = ToyEmulator()
    emulator.faults.fail(200, body=b'{"id": 1}')  # the toy reads item["name"]: a KeyError
    with emulator.open() as store, pytest.raises(spacekit.ProtocolError) as caught:
        store.get("1")
    assert "GET /spaces/1/" in str(caught.value) and "KeyError" in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_listing_tripping_on_a_later_page_is_a_protocol_error() -> None:
    emulator = ToyEmulator()
    emulator.spaces = {i: {"id": i, "name": f"s{i}"} for i in range(1, 6)}
    emulator.faults.fail(200, body=b'{"count": 5, "results": [{"id": 9}]}', path="/spaces/", method="GET")
    with emulator.open() as store, pytest.raises(spacekit.ProtocolError):
        list(store.list())


def test_limits_hold_under_asyncio_gather() -> None:
    async def main() -> list[BaseException | spacekit.Space]:
        with serving(drip_body(BODY, 0.2)) as url:
            async with _open_async(url, retries=0) as store:
                return await asyncio.gather(*(store.get("1") for _ in range(5)), return_exceptions=True)

    started = time.monotonic()
    results = asyncio.run(main())
    assert all(isinstance(r, spacekit.ProviderUnavailable) for r in results)
    assert time.monotonic() - started < TIMEOUT + SLACK


# -- the command line: a documented exit code, no traceback, no secret -----------------

CLI_TOKEN = "cli-secret-token-0123456789"


@pytest.fixture
def cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def write(text: str) -> None:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        monkeypatch.setenv("SPACEKIT_CONFIG", str(path))

    monkeypatch.setenv("CLI_TOKEN", CLI_TOKEN)
    return write


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _assert_clean(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and CLI_TOKEN not in result.output


def _remote(url: str, extra: str = "") -> str:
    return (
        f'[stores.s]\nprovider = "neuroio"\ntoken = "env:CLI_TOKEN"\nbase_url = "{url}"\nretries = 0\n{extra}'
    )


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"9" * 5000, b"\xff\xfe", b'{"id": 1}'])
def test_the_cli_exits_5_on_an_answer_it_cannot_read(cli_config: Callable[[str], None], body: bytes) -> None:
    with serving(fixed(200, body)) as url:
        cli_config(_remote(url))
        _assert_clean(_cli("spaces", "get", "1", "--store", "s"), 5)


def test_the_cli_exits_5_in_time_on_a_drip(cli_config: Callable[[str], None]) -> None:
    with serving(drip_body(BODY, 0.2)) as url:
        cli_config(_remote(url, "timeout = 0.5\ndeadline = 1.5\n"))
        started = time.monotonic()
        _assert_clean(_cli("spaces", "get", "1", "--store", "s"), 5)
    assert time.monotonic() - started < DEADLINE + SLACK


@pytest.mark.parametrize(
    "store",
    [
        '[stores.s]\nprovider = "local"\npath = "/dev/null"\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "file:/dev/zero"\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "env:CLI_TOKEN"\ntimeout = -1\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "env:CLI_TOKEN"\ntimeout = nan\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "env:CLI_TOKEN"\nbackoff = -1\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "tökén€1234"\n',
        '[stores.s]\nprovider = "neuroio"\ntoken = "env:CLI_TOKEN"\nbase_url = "ftp://bob:hunter2pass@h"\n',
    ],
    ids=[
        "dev-null-path",
        "dev-zero-token",
        "negative-timeout",
        "nan-timeout",
        "negative-backoff",
        "non-ascii-token",
        "url-with-password",
    ],
)
def test_the_cli_exits_2_on_a_bad_setting_without_showing_a_secret(
    cli_config: Callable[[str], None], store: str
) -> None:
    cli_config(store)
    result = _cli("spaces", "list", "--store", "s")
    _assert_clean(result, 2)
    assert "tökén" not in result.output and "hunter2pass" not in result.output


# -- NeuroIO's full list, read incrementally: held to the same depth -------------------

DEEP_LISTS = {
    "40000 deep": b"[" * 40_000 + b"]" * 40_000,
    "100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "100000 opened": b"[" * 100_000,
    "deep in the results": b'{"count": 1, "results": [' + b"[" * 60_000 + b"]" * 60_000 + b"]}",
    "101 deep in a space": b'[{"id": 1, "name": "a", "x": ' + b"[" * 99 + b"]" * 99 + b"}]",
}


@pytest.mark.parametrize("body", DEEP_LISTS.values(), ids=DEEP_LISTS.keys())
def test_a_deep_full_list_is_a_protocol_error_in_bounded_memory(body: bytes) -> None:
    settings = {"token": CLI_TOKEN, "retries": 0, "timeout": 5, "deadline": 8}
    with (
        serving(fixed(200, body)) as url,
        spacekit.connect("neuroio", base_url=url, **settings) as store,
        pytest.raises(spacekit.ProtocolError, match="deeper than 100 levels") as caught,
    ):
        list(store.list())
    assert CLI_TOKEN not in str(caught.value) and CLI_TOKEN not in (caught.value.body or "")


@pytest.mark.parametrize("body", DEEP_LISTS.values(), ids=DEEP_LISTS.keys())
async def test_an_async_deep_full_list_is_a_protocol_error_in_bounded_memory(body: bytes) -> None:
    settings = {"token": CLI_TOKEN, "retries": 0, "timeout": 5, "deadline": 8}
    with serving(fixed(200, body)) as url:
        async with spacekit.connect_async("neuroio", base_url=url, **settings) as store:
            with pytest.raises(spacekit.ProtocolError, match="deeper than 100 levels"):
                _ = [space async for space in store.list()]


def test_a_full_list_100_deep_is_read() -> None:
    body = b'[{"id": 1, "name": "a", "x": ' + b"[" * 98 + b"]" * 98 + b"}]"
    with (
        serving(fixed(200, body)) as url,
        spacekit.connect("neuroio", base_url=url, token=CLI_TOKEN) as store,
    ):
        assert [space.name for space in store.list()] == ["a"]


@pytest.mark.parametrize(
    "answer",
    [
        fixed(200, b"[" * 40_000 + b"]" * 40_000),
        encoded(compressed(64 * 2**20, ["gzip", "gzip"]), "gzip, gzip"),
    ],
    ids=["a list 40000 deep", "a gzip, gzip bomb"],
)
def test_the_cli_exits_5_on_a_hostile_listing(cli_config: Callable[[str], None], answer: Any) -> None:
    with serving(answer) as url:
        cli_config(_remote(url, "max_response_bytes = 1000000\n"))
        _assert_clean(_cli("spaces", "list", "--store", "s"), 5)
