"""``store.request`` and ``store.check``: one request through the engine, to a path
that cannot leave the store's base URL, against each provider's emulator."""

from __future__ import annotations

from typing import Any

import pytest

import spacekit
from spacekit import Capability
from spacekit._registry import load
from spacekit._validate import check_request_path
from spacekit.testing import Emulator

FAST = {"backoff": 0.01, "retries": 2, "deadline": 5.0}

#: per provider: a harmless GET, a POST that creates, and a path that names nothing
CALLS: dict[str, dict[str, Any]] = {
    "neuroio": {
        "get": ("/v1/whoami/", None),
        "post": ("/v1/spaces/", {"name": "made by hand"}),
        "missing": "/v1/spaces/999/",
    },
    "instabase": {
        "get": ("/api/v1/spaces/list", {"get_repos": "True"}),
        "post": ("/api/v1/organizations/by_hand", {"display_name": "By hand", "description": ""}),
        "missing": "/api/v1/nowhere",
    },
    "datablist": {
        "get": ("/", None),
        "post": ("/", {"name": "made by hand", "@type": "Workspace"}),
        "missing": "/no-such-workspace",
    },
}
PROVIDERS = sorted(CALLS)

HOSTILE_PATHS = [
    "http://evil.example/steal",
    "https://localhost/v1/whoami/",
    "//evil.example/steal",
    "///evil.example/steal",
    "\\\\evil.example\\steal",
    "/v1/\\..\\..\\x",
    "/%5c%5cevil.example/steal",
    "/v1/../../steal",
    "..",
    ".",
    "/v1/./whoami/",
    "/%2e%2e/steal",
    "/%2E%2E/steal",
    "/v1/%252e%252e/%252e%252e/steal",
    "/v1%2f..%2f..%2fsteal",
    "/v1/%c0%ae%c0%ae/%c0%ae%c0%ae/steal",  # overlong UTF-8 for ".", read so by some servers
    "/v1/whoami/#fragment",
    "javascript:alert(1)",
    "localhost:8000/v1/",
    "/v1/\x00",
    "/v1/\r\nHost: evil.example",
]


def emulator_for(provider: str) -> Emulator:
    emulator = load(provider).emulator()
    assert emulator is not None
    return emulator


def data_requests(emulator: Emulator) -> list[Any]:
    """What reached the provider's API (the Datablist token exchange aside)."""
    return [r for r in emulator.requests if r.path != "/token"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_get_and_post_go_through_the_engine(provider: str) -> None:
    emulator = emulator_for(provider)
    get_path, params = CALLS[provider]["get"]
    post_path, body = CALLS[provider]["post"]
    with emulator.connect(**FAST) as store:
        assert Capability.REQUEST in store.capabilities
        got = store.request("GET", get_path, params=params)
        posted = store.request("post", post_path, json=body)
        auth = store._provider.headers()["Authorization"]  # type: ignore[attr-defined]
    assert isinstance(got, spacekit.Response) and got.status == 200 and got.ok
    assert isinstance(got.json(), (dict, list)) and got.text == got.content.decode()
    assert posted.status in (200, 201)
    sent = data_requests(emulator)
    assert [(r.method, r.path) for r in sent] == [("GET", get_path), ("POST", post_path)]
    assert sent[0].params == (params or {})
    assert sent[1].json() == body
    for request in sent:
        assert request.headers["Authorization"] == auth
        assert request.headers["User-Agent"].startswith("spacekit/")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_async_store_sends_the_same(provider: str) -> None:
    emulator = emulator_for(provider)
    get_path, params = CALLS[provider]["get"]
    async with emulator.connect_async(**FAST) as store:
        response = await store.request("GET", get_path, params=params)
        with pytest.raises(spacekit.ValidationError):
            await store.request("GET", "https://evil.example/")
    assert response.status == 200
    assert [(r.method, r.path) for r in data_requests(emulator)] == [("GET", get_path)]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_path_leaving_the_base_url_is_refused_before_any_request(provider: str, path: str) -> None:
    emulator = emulator_for(provider)
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ValidationError) as caught:
        store.request("GET", path)
    assert caught.value.fields.keys() <= {"path"}
    assert emulator.requests == []  # not even a token exchange


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_error_status_raises_what_an_operation_would(provider: str) -> None:
    emulator = emulator_for(provider)
    with emulator.connect(**FAST) as store:
        with pytest.raises(spacekit.NotFound) as caught:
            store.request("GET", CALLS[provider]["missing"])
        assert caught.value.provider == provider
        # twice: a store that can renew its credential (Datablist) tries once more
        emulator.faults.fail(401, times=2, body='{"message": "no"}')
        with pytest.raises(spacekit.AuthenticationError):
            store.request("GET", CALLS[provider]["get"][0], params=CALLS[provider]["get"][1])


def test_an_instabase_200_that_says_error_is_raised() -> None:
    emulator = emulator_for("instabase")
    with emulator.connect(**FAST) as store:
        with pytest.raises(spacekit.Conflict, match="already exists"):
            store.request(
                "POST", "/api/v1/organizations/ib_eng", json={"display_name": "x", "description": ""}
            )
        with pytest.raises(spacekit.ProviderError, match="Unknown parameter"):
            store.request("GET", "/api/v1/spaces/list", params={"nonsense": "1"})
    with emulator.connect(token="not-the-token") as store, pytest.raises(spacekit.AuthenticationError):
        store.request("GET", "/api/v1/spaces/list")


def test_retries_follow_the_method() -> None:
    emulator = emulator_for("neuroio")
    with emulator.connect(**FAST) as store:
        emulator.faults.fail(503, times=1)
        assert store.request("GET", "/v1/whoami/").status == 200
        assert len(emulator.requests) == 2
        emulator.requests.clear()
        emulator.faults.fail(503, times=1)
        with pytest.raises(spacekit.ProviderUnavailable):
            store.request("POST", "/v1/spaces/", json={"name": "once"})
        assert len(emulator.requests) == 1
        emulator.requests.clear()
        emulator.faults.fail(503, times=1)
        assert store.request("POST", "/v1/spaces/", json={"name": "twice"}, retry_safe=True).status == 201
        assert len(emulator.requests) == 2
        emulator.requests.clear()
        emulator.faults.drop(method="DELETE")
        store.request("DELETE", "/v1/spaces/2/")  # dropped once, sent again
        assert [r.method for r in emulator.requests] == ["DELETE", "DELETE"]


def test_the_response_shows_no_secret() -> None:
    emulator = emulator_for("neuroio")
    with emulator.connect(**FAST) as store:
        response = store.request("GET", "/v1/whoami/", params={"key": "s3cr3t-value"})
    shown = repr(response) + repr(response.request) + str(response)
    assert shown.count("<Response 200 GET /v1/whoami/>") == 2
    assert "s3cr3t-value" not in shown and emulator.token not in shown


def test_an_error_never_carries_the_credential() -> None:
    emulator = emulator_for("neuroio")
    with emulator.connect(**FAST) as store:
        emulator.faults.fail(500, times=3, body=f'{{"message": "echo {emulator.token}"}}')
        with pytest.raises(spacekit.ProviderUnavailable) as caught:
            store.request("GET", "/v1/whoami/")
    assert emulator.token not in str(caught.value) + str(caught.value.body)


@pytest.mark.parametrize(
    ("args", "keywords"),
    [
        (("TRACE", "/"), {}),
        ((42, "/"), {}),
        (("GET", None), {}),
        (("GET", "/"), {"params": {"flag": True}}),
        (("GET", "/"), {"params": ["a"]}),
        (("POST", "/"), {"json": {"bad": {1, 2}}}),
        (("POST", "/"), {"json": float("nan")}),
        (("POST", "/"), {"retry_safe": "yes"}),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    args: tuple[Any, ...], keywords: dict[str, Any]
) -> None:
    emulator = emulator_for("neuroio")
    with emulator.connect(**FAST) as store, pytest.raises(spacekit.ValidationError):
        store.request(*args, **keywords)
    assert emulator.requests == []


@pytest.mark.parametrize("provider", ["local", "memory"])
async def test_embedded_stores_have_no_passthrough(provider: str, tmp_path: Any) -> None:
    settings = {"path": str(tmp_path / "s.db")} if provider == "local" else {}
    with spacekit.connect(provider, **settings) as store:
        assert Capability.REQUEST not in store.capabilities
        with pytest.raises(spacekit.Unsupported):
            store.request("GET", "/")
        store.check()  # reachable, always
    async with spacekit.connect_async(provider, **settings) as astore:
        with pytest.raises(spacekit.Unsupported):
            await astore.request("GET", "/")
        await astore.check()


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("https://ib.example.com", "api/v1/x", "/api/v1/x"),
        ("https://ib.example.com/prefix", "/api/v1/x?a=1", "/api/v1/x?a=1"),
        ("https://ib.example.com/prefix/", "/", "/"),
        ("https://ib.example.com", "/a:b/c", "/a:b/c"),
        ("https://ib.example.com", "/spaces%20here", "/spaces%20here"),
    ],
)
def test_paths_that_stay_under_the_base_url(base: str, path: str, expected: str) -> None:
    assert check_request_path(path, base) == expected


@pytest.mark.parametrize("path", ["/../other", "/%2e%2e/other", "//ib.example.com/prefix/x", "/..%2fother"])
def test_paths_that_leave_a_path_prefix(path: str) -> None:
    with pytest.raises(spacekit.ValidationError):
        check_request_path(path, "https://ib.example.com/prefix")


# -- check() ------------------------------------------------------------------------

CHEAPEST = {
    "neuroio": [("GET", "/v1/whoami/", "")],
    "instabase": [("GET", "/api/v1/spaces/list", "")],
    "datablist": [("POST", "/token", ""), ("GET", "/", "")],
}
BAD_CREDENTIAL = {
    "neuroio": {"token": "wrong"},
    "instabase": {"token": "wrong"},
    "datablist": {"api_key": "wrong"},
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_makes_the_cheapest_authenticated_request(provider: str) -> None:
    emulator = emulator_for(provider)
    with emulator.connect(**FAST) as store:
        assert store.check() is None
    assert [(r.method, r.path, r.query) for r in emulator.requests] == CHEAPEST[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_check_raises_for_a_refused_credential(provider: str) -> None:
    emulator = emulator_for(provider)
    with (
        emulator.connect(**FAST, **BAD_CREDENTIAL[provider]) as store,
        pytest.raises(spacekit.AuthenticationError) as caught,
    ):
        store.check()
    assert "wrong" not in str(caught.value)
    async with emulator.connect_async(**FAST, **BAD_CREDENTIAL[provider]) as astore:
        with pytest.raises(spacekit.AuthenticationError):
            await astore.check()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_check_raises_for_an_unreachable_provider(provider: str) -> None:
    settings = {**emulator_for(provider).connect_settings("http://127.0.0.1:9"), **FAST}
    with spacekit.connect(provider, **settings) as store, pytest.raises(spacekit.ProviderUnavailable):
        store.check()
