"""Fuzzing the Instabase plugin: its readers, and whole operations against any answer."""

from __future__ import annotations

import pytest
from fuzzing import (
    bodies,
    fuzz_settings,
    json_values,
    operation_tests,
    response,
    result_or,
    result_or_spacekit_error,
    shaped,
)
from hypothesis import given
from hypothesis import strategies as st
from spacekit_instabase import InstabaseProvider, parse_space
from spacekit_instabase._emulator import InstabaseEmulator
from spacekit_instabase._payload import error_message, read_envelope, read_spaces

import spacekit

pytestmark = pytest.mark.memory_ceiling  # hostile answers: a regression fails, not the machine

SPACE = {
    "repo_owner": "acme",
    "full_name": "Acme",
    "account_type": "ORGANIZATION",
    "description": "d",
    "admins": [{"name": "bob", "type": "user"}],
    "repos": [{"repo_name": "r", "repo_owner": "acme", "is_admin": "true"}],
    "profile_photo_url": "https://x/p.png",
    "is_admin": True,
}
spaces = shaped(SPACE)
listings = shaped({"status": "OK", "spaces": [SPACE]}).map(
    lambda body: {**body, "spaces": body["spaces"]} if isinstance(body.get("spaces"), list) else body
)
envelopes = shaped({"status": "ERROR", "msg": "Invalid token", "message": "m", "error": "e"})
answers = bodies(
    listings,
    envelopes,
    st.fixed_dictionaries({"status": st.just("OK"), "spaces": st.lists(spaces, max_size=3)}),
)


@fuzz_settings
@given(item=spaces | json_values)
def test_parse_space_gives_a_space_or_a_value_error(item: object) -> None:
    result = result_or((ValueError,), lambda: parse_space(item))
    assert isinstance(result, (spacekit.Space, ValueError))


@fuzz_settings
@given(body=answers, status=st.sampled_from([200, 201]))
def test_reading_an_answer_gives_spaces_or_a_spacekit_error(body: bytes, status: int) -> None:
    result_or_spacekit_error(lambda: read_envelope(response(body, status)))
    result_or_spacekit_error(lambda: read_envelope(response(body, status), status_optional=True))
    result = result_or_spacekit_error(lambda: read_spaces(response(body, status)))
    assert isinstance(result, (list, spacekit.SpacekitError))


@fuzz_settings
@given(body=answers, status=st.sampled_from([400, 401, 403, 404, 409, 422, 429, 500, 503]))
def test_an_error_answer_is_always_read_into_a_spacekit_error(body: bytes, status: int) -> None:
    provider = InstabaseProvider({"base_url": "https://x", "token": "t" * 20})
    assert isinstance(provider.error(response(body, status)), spacekit.SpacekitError)
    message = error_message(response(body, status))
    assert message is None or isinstance(message, str)


# whole operations against a fresh emulator answering anything, sync and async
(
    test_every_operation_gives_a_result_or_a_spacekit_error,
    test_every_async_operation_gives_a_result_or_a_spacekit_error,
) = operation_tests(InstabaseEmulator, answers)
