"""Careless input and settings at request time: a typed error before anything is
sent, never a raw ``RecursionError``, ``OverflowError``, ``UnicodeError`` or an
httpx/h11 error; messages that cut a long path."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
import tenacity
from hostile import fixed, head, serving
from spacekit_neuroio import NeuroIOProvider

import spacekit
from spacekit._engine import MAX_BACKOFF, _Policy
from spacekit.plugin import Request

pytestmark = pytest.mark.memory_ceiling

TOKEN = "neuroio-secret-token-0123456789"
SPACE = b'{"id": 1, "name": "one"}'


def _nested(depth: int) -> list[Any]:
    top: list[Any] = []
    inner = top
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return top


def _encoded(text: str, times: int) -> str:
    for _ in range(times):
        text = text.replace("%", "%25")
    return text


REFUSED = {
    "json nested 100000 deep": ("POST", "/x", None, _nested(100_000), "nests too deeply"),
    "json with a lone surrogate": ("POST", "/x", None, {"a": "\ud800"}, "lone surrogate"),
    "params with a lone surrogate": ("GET", "/x", {"q": "\ud800"}, None, "lone surrogate"),
    "params with a lone surrogate in a name": ("GET", "/x", {"\udfff": "1"}, None, "lone surrogate"),
    "params of a 5,000-digit integer": ("GET", "/x", {"q": 10**5000}, None, "too many digits"),
    "oversized params": ("GET", "/x", {"q": "b" * 100_000}, None, "at most 8192"),
    "a 100 KB path": ("GET", "/" + "p" * 100_000, None, None, "at most 8192"),
    "..;": ("GET", "/..;/admin", None, None, "'..' segments"),
    ".;": ("GET", "/v1/.;x/spaces", None, None, "'..' segments"),
    "dots encoded five times": ("GET", _encoded("/%2e%2e/admin", 5), None, None, "'..' segments"),
    "dots encoded twelve times": ("GET", _encoded("/%2E%2E/admin", 12), None, None, "'..' segments"),
    "encoded past the limit": ("GET", _encoded("/%2e%2e/admin", 40), None, None, "more than 16 times"),
    "an encoded line break": ("GET", "/a%0d%0aX-Evil:%201", None, None, "control characters"),
}


@pytest.mark.parametrize(("method", "path", "params", "body", "said"), REFUSED.values(), ids=REFUSED.keys())
def test_a_passthrough_request_that_cannot_be_sent_is_a_validation_error(
    method: str, path: str, params: Any, body: Any, said: str
) -> None:
    sent: list[str] = []
    with (
        serving(fixed(200, SPACE), requests=sent) as url,
        spacekit.connect("neuroio", token=TOKEN, base_url=url) as store,
    ):
        with pytest.raises(spacekit.ValidationError, match=said) as caught:
            store.request(method, path, params=params, json=body)

        async def main() -> None:
            async with spacekit.connect_async("neuroio", token=TOKEN, base_url=url) as astore:
                await astore.request(method, path, params=params, json=body)

        with pytest.raises(spacekit.ValidationError, match=said):
            asyncio.run(main())
    assert sent == []
    assert len(str(caught.value)) < 600  # a long path is cut in the message


@pytest.mark.parametrize(
    "settings",
    [
        {"timeout": 1e10, "deadline": 1e10},
        {"deadline": 1e300},
        {"rate_limit": 1e-300},
        {"backoff": 1e300},
    ],
    ids=["timeout 1e10", "deadline 1e300", "rate_limit 1e-300", "backoff 1e300"],
)
def test_settings_past_what_clocks_hold_are_a_config_error_at_open(settings: dict[str, Any]) -> None:
    with pytest.raises(spacekit.ConfigError, match=r"1e\+06|1e-06"):
        spacekit.connect("neuroio", token=TOKEN, base_url="http://127.0.0.1:9", **settings)
    with pytest.raises(spacekit.ConfigError):
        spacekit.connect_async("neuroio", token=TOKEN, base_url="http://127.0.0.1:9", **settings)


def test_thousands_of_retries_without_backoff_end_by_the_deadline_without_overflow() -> None:
    with (
        serving(fixed(503, b"{}")) as url,
        spacekit.connect(
            "neuroio", token=TOKEN, base_url=url, retries=2000, backoff=0, deadline=1.5
        ) as store,
        pytest.raises(spacekit.ProviderUnavailable),
    ):
        store.get("1")


def test_a_backoff_doubled_two_thousand_times_is_no_overflow() -> None:
    policy = _Policy(NeuroIOProvider({"token": TOKEN, "base_url": "http://127.0.0.1:9", "backoff": 1.0}))
    retrying = policy.retrying(Request("GET", "/x"), tenacity.Retrying, deadline_at=1e9)
    state = tenacity.RetryCallState(retrying, None, (), {})
    state.attempt_number = 2000
    assert 0 < retrying.wait(state) <= MAX_BACKOFF


def test_a_base_url_no_request_can_be_built_on_is_a_config_error_at_open() -> None:
    with pytest.raises(spacekit.ConfigError):
        spacekit.connect("neuroio", token=TOKEN, base_url="https://xn--.com")
    with pytest.raises(spacekit.ConfigError):
        spacekit.connect_async("neuroio", token=TOKEN, base_url="https://xn--.com")


def _exchange_answering(token: str) -> Any:
    body = json.dumps({"access_token": token, "expires_in": 3600}, ensure_ascii=False).encode()

    def answer(connection: socket.socket) -> None:
        connection.sendall(head(200, len(body)) + body)

    return answer


@pytest.mark.parametrize("token", ["tökén-0123456789", "abc0123456\r\nX-Evil: 1", "abc 0123456789\x00"])
def test_a_token_exchange_answering_a_token_no_header_can_carry_is_an_authentication_error(
    token: str,
) -> None:
    settings = {"api_key": "datablist-secret-api-key-0123", "retries": 0}
    with serving(_exchange_answering(token)) as url:
        with (
            spacekit.connect("datablist", base_url=url, auth_url=url, **settings) as store,
            pytest.raises(
                spacekit.AuthenticationError, match="credential for the Authorization header"
            ) as caught,
        ):
            store.get("1")

        async def main() -> None:
            async with spacekit.connect_async("datablist", base_url=url, auth_url=url, **settings) as astore:
                await astore.get("1")

        with pytest.raises(spacekit.AuthenticationError):
            asyncio.run(main())
    assert token not in str(caught.value) and "0123456" not in str(caught.value)
