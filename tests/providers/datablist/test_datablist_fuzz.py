"""Fuzzing the Datablist plugin: its readers, and whole operations against any answer."""

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
from spacekit_datablist import DatablistProvider, parse_workspace
from spacekit_datablist._auth import TokenCache, token_lifetime
from spacekit_datablist._emulator import DatablistEmulator
from spacekit_datablist._wire import created_id, error_message, workspace_items

import spacekit

pytestmark = pytest.mark.memory_ceiling  # hostile answers: a regression fails, not the machine

WORKSPACE = {
    "@id": "w1",
    "@type": "Workspace",
    "name": "Acme",
    "user_id": "u1",
    "createdAt": "2024-01-01T00:00:00Z",
    "updatedAt": "2024-01-01T00:00:00",
}
TOKEN = {"access_token": "a" * 30, "expires_in": 3600, "expires_at": "2030-01-01T00:00:00Z"}
ERROR = {
    "message": "m",
    "error_description": "d",
    "error": "e",
    "code": "c",
    "detail": [{"loc": ["body", "name"], "msg": "bad"}],
}
workspaces = shaped(WORKSPACE)
answers = bodies(
    workspaces,
    shaped({"data": [WORKSPACE]}),
    st.fixed_dictionaries({"data": st.lists(workspaces, max_size=3)}),
    shaped(TOKEN),
    shaped(ERROR),
    st.fixed_dictionaries({"detail": st.lists(shaped({"loc": ["x"], "msg": "m"}), max_size=2)}),
)


@fuzz_settings
@given(item=workspaces | json_values)
def test_parse_workspace_gives_a_space_or_a_protocol_error(item: object) -> None:
    result = result_or((spacekit.ProtocolError,), lambda: parse_workspace(item, response(b"{}")))
    assert isinstance(result, (spacekit.Space, spacekit.ProtocolError))


@fuzz_settings
@given(body=answers)
def test_list_and_create_answers_give_a_result_or_a_protocol_error(body: bytes) -> None:
    result_or((spacekit.ProtocolError,), lambda: workspace_items(response(body)))
    result_or((spacekit.ProtocolError,), lambda: created_id(response(body, 201, "POST")))


@fuzz_settings
@given(body=answers, data=shaped(TOKEN) | json_values)
def test_a_token_answer_gives_a_token_or_a_protocol_error(body: bytes, data: object) -> None:
    cache = TokenCache(api_key="k" * 20, access_token=None, auth_url="https://x")
    result_or((spacekit.ProtocolError,), lambda: cache.accept(response(body, 200, "POST", "/token")))
    if isinstance(data, dict):
        lifetime = token_lifetime(data)
        assert lifetime is None or isinstance(lifetime, float)


@fuzz_settings
@given(
    body=answers,
    status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503]),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
)
def test_an_error_answer_is_always_read_into_a_spacekit_error(body: bytes, status: int, method: str) -> None:
    provider = DatablistProvider({"base_url": "https://x", "api_key": "k" * 20, "auth_url": "https://a"})
    assert isinstance(provider.error(response(body, status, method, "/w1")), spacekit.SpacekitError)
    message = error_message(response(body, status))
    assert message is None or isinstance(message, str)


# whole operations against a fresh emulator answering anything, sync and async
(
    test_every_operation_gives_a_result_or_a_spacekit_error,
    test_every_async_operation_gives_a_result_or_a_spacekit_error,
) = operation_tests(DatablistEmulator, answers)
