"""Hypothesis strategies for hostile answers, and the one property every plugin keeps:
whatever a server answers, a reader returns its result or raises the error it
documents, and an operation returns its result or raises a ``SpacekitError``.

Example counts are kept small enough for CI (a few seconds a test); raise
``FUZZ_EXAMPLES`` in the environment for a longer run.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spacekit
from spacekit.plugin import Request, Response

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", " ", "1", "0", "null", "2024-01-01T00:00:00Z", "not a date", "OK", "ERROR"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def shaped(keys: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys a reader looks for (each present or not), of any value."""
    return st.fixed_dictionaries(
        {}, optional={key: json_values | st.just(value) for key, value in keys.items()}
    )


def encoded(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return values.map(lambda value: json.dumps(value).encode())


HOSTILE_BODIES = [
    b"",
    b"[" * 5000 + b"]" * 5000,
    b"[" * 40_000 + b"]" * 40_000,  # quadratic for an incremental parser without a depth limit
    b'{"count": 1, "results": ' + b"[" * 40_000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
    b"9" * 5000,
    b'{"id": NaN, "name": Infinity}',
    b"\xff\xfe\xfd",
    b'{"name": "\xc3\x28"}',
    b"<html>Bad Gateway</html>",
    b"null",
]


def bodies(*shapes: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Answers: the provider's shapes with hostile values, any JSON, any bytes, known traps."""
    return st.one_of(
        *(encoded(shape) for shape in shapes),
        encoded(json_values),
        st.binary(max_size=64),
        st.sampled_from(HOSTILE_BODIES),
    )


statuses = st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 405, 409, 422, 429, 500, 503])


def response(body: bytes, status: int = 200, method: str = "GET", path: str = "/x") -> Response:
    return Response(status, httpx.Headers({}), body, Request(method, path), "fuzz")


def result_or(errors: tuple[type[BaseException], ...], call: Callable[[], Any]) -> Any:
    """Run ``call``: a result, or one of ``errors``; any other exception fails the property."""
    try:
        return call()
    except errors as error:
        return error


def result_or_spacekit_error(call: Callable[[], Any]) -> Any:
    return result_or((spacekit.SpacekitError,), call)


def async_result_or_spacekit_error(call: Callable[[], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        try:
            return await call()
        except spacekit.SpacekitError as error:
            return error

    return asyncio.run(run())


OPERATIONS = ["list", "get", "create", "update", "delete", "create_token"]
_NEEDS = {
    "list": spacekit.Capability.LIST,
    "get": spacekit.Capability.GET,
    "create": spacekit.Capability.CREATE,
    "update": spacekit.Capability.UPDATE,
    "delete": spacekit.Capability.DELETE,
    "create_token": spacekit.Capability.TOKENS,
}


def run_operation(store: spacekit.SpaceStore, name: str) -> Any:
    """One operation of the store, by name (a listing read to its end, at most 500 spaces)."""
    if _NEEDS[name] not in store.capabilities:
        return None
    calls: dict[str, Callable[[], Any]] = {
        "list": lambda: [space for _, space in zip(range(500), store.list(), strict=False)],
        "get": lambda: store.get("1"),
        "create": lambda: store.create("fuzzed"),
        "update": lambda: store.update("1", name="renamed"),
        "delete": lambda: store.delete("1"),
        "create_token": lambda: store.create_token("1", permanent=True),
    }
    return calls[name]()


async def run_async_operation(store: spacekit.AsyncSpaceStore, name: str) -> Any:
    if _NEEDS[name] not in store.capabilities:
        return None
    if name == "list":
        found = []
        async for space in store.list():
            found.append(space)
            if len(found) >= 500:
                break
        return found
    if name == "get":
        return await store.get("1")
    if name == "create":
        return await store.create("fuzzed")
    if name == "update":
        return await store.update("1", name="renamed")
    if name == "delete":
        return await store.delete("1")
    return await store.create_token("1", permanent=True)


def answer_everything_with(emulator: Any, status: int, body: bytes) -> None:
    """Make the emulator answer every request (token exchanges too) with ``status`` and ``body``."""
    emulator.faults.clear()
    emulator.faults.fail(status, body=body, times=10_000)


def operation_tests(
    make_emulator: Callable[[], Any], answers: st.SearchStrategy[bytes]
) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two whole-operation fuzz tests (sync and async) of a plugin, against a fresh
    emulator per example answering ``answers`` with any status."""

    @fuzz_settings
    @given(status=statuses, body=answers, operation=st.sampled_from(OPERATIONS))
    def sync_test(status: int, body: bytes, operation: str) -> None:
        emulator = make_emulator()
        answer_everything_with(emulator, status, body)
        with emulator.connect(retries=0) as store:
            result_or_spacekit_error(lambda: run_operation(store, operation))

    @fuzz_settings
    @given(status=statuses, body=answers, operation=st.sampled_from(OPERATIONS))
    def async_test(status: int, body: bytes, operation: str) -> None:
        emulator = make_emulator()
        answer_everything_with(emulator, status, body)

        async def run() -> object:
            async with emulator.connect_async(retries=0) as store:
                return await run_async_operation(store, operation)

        async_result_or_spacekit_error(run)

    return sync_test, async_test
