"""Fuzzing the NeuroIO plugin: its readers, and whole operations against any answer."""

from __future__ import annotations

import pytest
from fuzzing import (
    bodies,
    fuzz_settings,
    json_values,
    operation_tests,
    response,
    result_or,
    shaped,
)
from hypothesis import given
from hypothesis import strategies as st
from spacekit_neuroio import NeuroIOProvider, parse_space, parse_token
from spacekit_neuroio._emulator import NeuroIOEmulator
from spacekit_neuroio._provider import _envelope, _read_page

import spacekit

pytestmark = pytest.mark.memory_ceiling  # hostile answers: a regression fails, not the machine

SPACE = {"id": 1, "name": "a space", "extra": None}
TOKEN = {
    "id": 1,
    "key": "k" * 20,
    "is_active": True,
    "created": "2024-01-01",
    "expires": 0,
    "permanent": True,
}
PAGE = {"count": 1, "next": None, "previous": None, "results": [SPACE]}
ERROR = {"error_codes": [1], "message": "m", "detail": "d", "fields": [{"name": "n", "message": "m"}]}

spaces = shaped(SPACE)
pages = st.one_of(shaped(PAGE), st.lists(spaces | json_values, max_size=3))
answers = bodies(spaces, shaped(TOKEN), pages, shaped(ERROR))


@fuzz_settings
@given(item=spaces | json_values)
def test_parse_space_gives_a_space_or_a_value_error(item: object) -> None:
    result = result_or((ValueError,), lambda: parse_space(item))
    assert isinstance(result, (spacekit.Space, ValueError))


@fuzz_settings
@given(item=shaped(TOKEN) | json_values)
def test_parse_token_gives_a_token_or_a_value_error(item: object) -> None:
    result = result_or((ValueError,), lambda: parse_token(item, "1", permanent=True))
    assert isinstance(result, (spacekit.SpaceToken, ValueError))


@fuzz_settings
@given(body=answers)
def test_reading_a_page_gives_items_or_a_protocol_error(body: bytes) -> None:
    result = result_or((spacekit.ProtocolError,), lambda: _read_page(response(body)))
    assert isinstance(result, (tuple, spacekit.ProtocolError))


@fuzz_settings
@given(body=answers, status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503]))
def test_an_error_answer_is_always_read_into_a_spacekit_error(body: bytes, status: int) -> None:
    provider = NeuroIOProvider({"base_url": "https://x", "token": "t" * 20})
    error = provider.error(response(body, status))
    assert isinstance(error, spacekit.SpacekitError)
    message, fields = _envelope(response(body, status))
    assert isinstance(message, str) and all(isinstance(v, str) for v in fields.values())


# whole operations against a fresh emulator answering anything, sync and async
(
    test_every_operation_gives_a_result_or_a_spacekit_error,
    test_every_async_operation_gives_a_result_or_a_spacekit_error,
) = operation_tests(NeuroIOEmulator, answers)
