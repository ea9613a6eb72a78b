"""Cassettes hold no secrets: the scrubbers, and a scan of every recorded file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from spacekit.testing import find_secrets, scrub_body, vcr_config
from spacekit.testing._cassettes import scrub_request, scrub_response

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def _files() -> list[Path]:
    return sorted(p for p in CASSETTES.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(CASSETTES)))
def test_no_cassette_holds_anything_token_shaped(path: Path) -> None:
    assert find_secrets(path.read_text(encoding="utf-8")) == []


def test_the_scan_would_catch_real_tokens() -> None:
    assert find_secrets(f"access_token: {JWT}")
    assert find_secrets("Authorization: Bearer abcdefghijklmnop")
    assert find_secrets("Token 0123456789abcdef0123456789abcdef")
    assert find_secrets("Authorization: REDACTED, Token REDACTED") == []


def test_request_scrubbing_covers_headers_query_and_body() -> None:
    request = SimpleNamespace(
        headers={"AUTHORIZATION": "Token abc123456789", "Accept": "application/json"},
        uri="https://x.example/v1/spaces/?q=te&api_key=abc123456789&limit=20",
        body=json.dumps({"apiKey": "abc123456789", "name": "n"}).encode(),
    )
    scrub_request(request)
    assert request.headers == {"AUTHORIZATION": "REDACTED", "Accept": "application/json"}
    assert "abc123456789" not in request.uri and "q=te" in request.uri and "limit=20" in request.uri
    assert json.loads(request.body) == {"apiKey": "REDACTED", "name": "n"}


def test_response_scrubbing_covers_set_cookie_and_json_keys() -> None:
    response = {
        "headers": {"Set-Cookie": ["session=abc"], "Content-Type": ["application/json"]},
        "body": {"string": json.dumps({"access_token": JWT, "nested": [{"key": "k" * 40}], "n": 1}).encode()},
    }
    scrub_response(response)
    assert response["headers"]["Set-Cookie"] == ["REDACTED"]
    assert json.loads(response["body"]["string"]) == {
        "access_token": "REDACTED",
        "nested": [{"key": "REDACTED"}],
        "n": 1,
    }


def test_non_json_bodies_pass_through() -> None:
    assert scrub_body(b"<html>") == b"<html>"


def test_the_config_matches_on_body_and_never_records_by_default() -> None:
    config = vcr_config()
    assert "body" in config["match_on"] and "record_mode" not in config
    assert vcr_config("none")["record_mode"] == "none"
