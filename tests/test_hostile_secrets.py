"""No secret printed, whatever the server echoes: in DEBUG logs of the HTTP libraries,
in an error's body as JSON-escaped or percent-encoded text, in a redirect's
``Location``, or in the error of ``Response.json()`` called on a passthrough answer."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any
from urllib.parse import quote

import pytest
from hostile import fixed, head, serving

import spacekit

pytestmark = pytest.mark.memory_ceiling

NEUROIO_TOKEN = "neuroio-secret-token-0123456789"
API_KEY = "datablist-secret-api-key-0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.datablist-secret-jwt.0123456789"
INSTABASE_TOKEN = "sk/live/instabase+secret/0123456789"


def echo_credentials(requests: list[str]) -> Any:
    """Answer a token exchange with ``JWT``; anything else with 200 and headers that
    echo the request's ``Authorization``, raw and transformed."""

    def answer(connection: socket.socket) -> None:
        request = requests[-1]
        if request.startswith("POST /token"):
            body = json.dumps({"access_token": JWT, "expires_in": 3600}).encode()
            connection.sendall(head(200, len(body)) + body)
            return
        said = next(
            (
                line.split(":", 1)[1].strip()
                for line in request.split("\r\n")
                if line.lower().startswith("authorization:")
            ),
            "",
        )
        echo = f"\r\nX-Echo-Authorization: {said}\r\nX-Echo-Quoted: {quote(said, safe='')}"
        connection.sendall(head(200, 2, echo) + b"{}")

    return answer


def _settings(provider: str, url: str) -> dict[str, Any]:
    if provider == "datablist":
        return {"api_key": API_KEY, "base_url": url, "auth_url": url, "retries": 0}
    return {"token": NEUROIO_TOKEN, "base_url": url, "retries": 0}


SECRETS = [NEUROIO_TOKEN, API_KEY, JWT, quote(JWT, safe=""), quote(NEUROIO_TOKEN, safe="")]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("provider", ["neuroio", "datablist"])
def test_an_echoed_credential_never_reaches_debug_logs(
    provider: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    requests: list[str] = []

    async def call_async() -> None:
        async with spacekit.connect_async(provider, **_settings(provider, url)) as store:
            await store.request("GET", "/x")

    with serving(echo_credentials(requests), requests=requests) as url:
        if mode == "async":
            asyncio.run(call_async())
        else:
            with spacekit.connect(provider, **_settings(provider, url)) as store:
                store.request("GET", "/x")
    assert any("X-Echo-Authorization" in record.getMessage() for record in caplog.records)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [secret for secret in SECRETS if secret in logged]


ECHOES = {
    "as it is": INSTABASE_TOKEN,
    "JSON-escaped": json.dumps(INSTABASE_TOKEN)[1:-1].replace("/", "\\/"),
    "percent-encoded": quote(INSTABASE_TOKEN, safe=""),
    "percent-encoded, lower case": quote(INSTABASE_TOKEN, safe="").lower(),
    "percent-encoded but the slashes": quote(INSTABASE_TOKEN),
}


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_a_transformed_echo_of_a_secret_is_redacted_from_errors(echo: str) -> None:
    body = b'{"status": "ERROR", "msg": "bad token ' + echo.encode() + b'"}'
    with (
        serving(fixed(401, body)) as url,
        spacekit.connect("instabase", token=INSTABASE_TOKEN, base_url=url, retries=0) as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        store.get("1")
    shown = f"{caught.value} {caught.value.body}"
    assert echo not in shown and "0123456789" not in shown
    assert "***" in (caught.value.body or "")


@pytest.mark.parametrize("provider", ["neuroio", "datablist"])
def test_response_json_on_a_passthrough_answer_raises_a_redacted_cut_error(provider: str) -> None:
    def answer(connection: socket.socket) -> None:
        if requests[-1].startswith("POST /token"):
            echo_credentials(requests)(connection)
            return
        body = f"<html> {secret} {'x' * 5000}</html>".encode()
        connection.sendall(head(200, len(body)) + body)

    requests: list[str] = []
    secret = JWT if provider == "datablist" else NEUROIO_TOKEN  # the caller never sees the JWT
    with (
        serving(answer, requests=requests) as url,
        spacekit.connect(provider, **_settings(provider, url)) as store,
    ):
        response = store.request("GET", "/x")
    with pytest.raises(spacekit.ProtocolError) as caught:
        response.json()
    body = caught.value.body or ""
    assert len(body) < 2100 and body.endswith("...")
    assert body.startswith("<html> *** x") and secret not in body


@pytest.mark.parametrize(
    "location",
    [
        "https://svc:hunter2pass@elsewhere.example/v1/x?key=querysecret",
        "https:\\\\svc:hunter2pass@elsewhere.example/v1/x",  # backslashes, read as slashes by browsers
        "https://svc:hunter2pass/x@elsewhere.example/v1/x",  # a slash in the password
    ],
)
def test_a_redirect_is_reported_without_the_user_info_of_its_location(location: str) -> None:
    with (
        serving(_redirect(location)) as url,
        spacekit.connect("neuroio", token=NEUROIO_TOKEN, base_url=url, retries=0) as store,
        pytest.raises(spacekit.ProtocolError, match="unexpected redirect") as caught,
    ):
        store.get("1")
    message = str(caught.value)
    assert "hunter2pass" not in message and "svc:" not in message and "querysecret" not in message
    assert "elsewhere.example/v1/x" in message


def _redirect(location: str) -> Any:
    def answer(connection: socket.socket) -> None:
        connection.sendall(head(302, 0, f"\r\nLocation: {location}"))

    return answer


def test_the_log_filter_redacts_a_record_whose_arguments_do_not_fit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with spacekit.connect("neuroio", token=NEUROIO_TOKEN, base_url="http://127.0.0.1:9"):
        logging.getLogger("httpcore.http11").debug("headers %s", [(b"X-Echo", NEUROIO_TOKEN.encode())])
        logging.getLogger("httpx").debug("broken %d %s", NEUROIO_TOKEN)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "headers" in logged and "broken" in logged and NEUROIO_TOKEN not in logged
