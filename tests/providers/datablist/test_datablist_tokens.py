"""The token cache, driven without I/O: what the exchange sends, how an answer's
lifetime is read, and which secrets the engine is told to scrub."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from spacekit_datablist import DatablistProvider, _auth
from spacekit_datablist._auth import token_lifetime

import spacekit
from spacekit.plugin import Request, Response

KEY = "personal-api-key-for-tests"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def provider(**settings: Any) -> DatablistProvider:
    return DatablistProvider({"base_url": "https://data.datablist.com", **settings})


def authenticate(subject: DatablistProvider, answer: dict[str, Any] | bytes) -> Request:
    """Run ``authenticate`` with ``answer`` as the exchange's response; return its request."""
    operation = subject.authenticate()
    request = next(operation)
    content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    with pytest.raises(StopIteration):
        operation.send(Response(200, {}, content, request, "datablist"))
    return request


def test_the_exchange_request_is_exactly_the_documented_one() -> None:
    subject = provider(api_key=KEY, auth_url="https://account.datablist.com")
    assert subject.needs_authentication()
    request = authenticate(subject, {"access_token": TOKEN, "expires_in": 3600})
    assert (request.method, request.path) == ("POST", "https://account.datablist.com/token")
    assert request.json == {"apiKey": KEY}
    assert not request.authenticated
    assert request.headers == {"Accept": "application/json", "Content-Type": "application/json"}
    assert subject.headers() == {"Authorization": f"Bearer {TOKEN}"}
    assert not subject.needs_authentication()


def test_secrets_hold_the_key_and_the_current_token() -> None:
    subject = provider(api_key=KEY)
    authenticate(subject, {"access_token": TOKEN, "expires_in": 3600})
    assert {KEY, TOKEN} <= set(subject.secrets())
    assert KEY not in repr(subject) and TOKEN not in repr(subject) and TOKEN not in repr(subject._tokens)


def test_a_forgotten_token_is_renewable_only_with_a_key() -> None:
    keyed = provider(api_key=KEY)
    authenticate(keyed, {"access_token": TOKEN, "expires_in": 3600})
    assert keyed.forget_authentication() and keyed.needs_authentication() and keyed.headers() == {}
    given = provider(access_token=TOKEN)
    assert not given.needs_authentication()
    assert not given.forget_authentication()
    assert given.headers() == {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"expires_in": 172800, "expires_at": 1}, 172800),  # expires_in wins: no clock skew
        ({"expires_in": "3600"}, 3600),
        ({"expires_at": "NOW+7200"}, 7200),
        ({"expires_at": "NOW+7200 ms"}, 7200),  # milliseconds
        ({"expires_at": "2999-01-01T00:00:00Z"}, None),  # far away, checked below
        ({}, None),
        ({"expires_in": True}, None),
        ({"expires_in": "NaN"}, None),
        ({"expires_at": "soon"}, None),
    ],
)
def test_the_lifetime_comes_from_the_answer(answer: dict[str, Any], expected: float | None) -> None:
    # relative expiries are made now, not when the tests were collected
    if answer.get("expires_at") == "NOW+7200":
        answer = {"expires_at": time.time() + 7200}
    elif answer.get("expires_at") == "NOW+7200 ms":
        answer = {"expires_at": (time.time() + 7200) * 1000}
    lifetime = token_lifetime(answer)
    if expected is not None:
        assert lifetime == pytest.approx(expected, abs=5)
    elif "2999" in str(answer):
        assert lifetime is not None and lifetime > 1e10
    else:
        assert lifetime is None


def test_without_a_lifetime_the_token_is_renewed_after_a_401_only(monkeypatch: pytest.MonkeyPatch) -> None:
    subject = provider(api_key=KEY)
    authenticate(subject, {"access_token": TOKEN})
    monkeypatch.setattr(_auth, "_clock", lambda: 1e18)  # ages later
    assert not subject.needs_authentication()


@pytest.mark.parametrize(
    "answer",
    [b"not json", b'{"token_type": "Bearer"}', b'{"access_token": ""}', b'{"access_token": 3}', b"[]"],
)
def test_an_unreadable_exchange_answer_is_a_protocol_error(answer: bytes) -> None:
    subject = provider(api_key=KEY)
    with pytest.raises(spacekit.ProtocolError) as caught:
        authenticate(subject, answer)
    assert caught.value.body is None
    assert subject.needs_authentication()
