"""A toy provider and its emulator: the smallest remote plugin, for engine and kit tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from spacekit import Capability, Space
from spacekit.plugin import ListOperation, Operation, Provider, RemotePlugin, Request, Setting, quote_id
from spacekit.testing import Emulator, Router, json_response

TOKEN = "toy-secret-token-0123456789"


class ToyProvider(Provider):
    name = "toy"
    capabilities = frozenset(
        {Capability.LIST, Capability.GET, Capability.CREATE, Capability.UPDATE, Capability.DELETE}
    )
    default_base_url = "https://toy.example"
    settings = {"token": Setting("token", required=True, secret=True)}

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Token {self.config['token']}"}

    def list(self, query: str | None, options: Mapping[str, Any]) -> ListOperation:
        offset = 0
        while True:
            response = yield Request("GET", "/spaces/", params={"offset": str(offset)})
            page = response.json()
            for item in page["results"]:
                yield self.parse(item)
            offset += len(page["results"])
            if not page["results"] or offset >= page["count"]:
                return

    def get(self, space_id: str) -> Operation[Space]:
        response = yield Request("GET", f"/spaces/{quote_id(space_id)}/")
        return self.parse(response.json())

    def create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Operation[Space]:
        response = yield Request("POST", "/spaces/", json={"name": name})
        return self.parse(response.json())

    def update(self, space_id: str, changes: Mapping[str, Any]) -> Operation[Space]:
        response = yield Request("PATCH", f"/spaces/{quote_id(space_id)}/", json=dict(changes))
        return self.parse(response.json())

    def delete(self, space_id: str) -> Operation[None]:
        yield Request("DELETE", f"/spaces/{quote_id(space_id)}/")

    def parse(self, item: Mapping[str, Any]) -> Space:
        return Space(provider=self.name, id=str(item["id"]), name=item["name"], raw=item)


plugin = RemotePlugin(ToyProvider, summary="a toy for tests")


class ToyEmulator(Emulator):
    provider = "toy"
    router = Router()

    def __init__(self) -> None:
        super().__init__()
        self.spaces: dict[int, dict[str, Any]] = {}
        self.next_id = 1

    def connect_settings(self, base_url: str) -> dict[str, Any]:
        return {"token": TOKEN, "base_url": base_url}

    def open(self, **overrides: Any) -> Any:
        return plugin.open(
            {**self.connect_settings("http://localhost"), "transport": self.transport, **overrides}
        )

    def open_async(self, **overrides: Any) -> Any:
        settings = {**self.connect_settings("http://localhost"), "transport": self.transport, **overrides}
        return plugin.open_async(settings)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Token {TOKEN}":
            return json_response(401, {"message": "bad token"})
        return self.router.dispatch(self, request) or json_response(404, {"message": "no such path"})

    @router.route("GET", r"/spaces/")
    def _list(self, request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0"))
        items = list(self.spaces.values())
        return json_response(200, {"count": len(items), "results": items[offset : offset + 2]})

    @router.route("POST", r"/spaces/")
    def _create(self, request: httpx.Request) -> httpx.Response:
        item = {"id": self.next_id, "name": httpx.Response(200, content=request.content).json()["name"]}
        self.spaces[self.next_id] = item
        self.next_id += 1
        return json_response(201, item)

    @router.route("GET", r"/spaces/(?P<sid>[^/]+)/")
    def _get(self, request: httpx.Request, sid: str) -> httpx.Response:
        item = self.spaces.get(int(sid)) if sid.isdigit() else None
        return json_response(200, item) if item else json_response(404, {"message": "not found"})

    @router.route("PATCH", r"/spaces/(?P<sid>[^/]+)/")
    def _update(self, request: httpx.Request, sid: str) -> httpx.Response:
        item = self.spaces.get(int(sid)) if sid.isdigit() else None
        if not item:
            return json_response(404, {"message": "not found"})
        item.update(httpx.Response(200, content=request.content).json())
        return json_response(200, item)

    @router.route("DELETE", r"/spaces/(?P<sid>[^/]+)/")
    def _delete(self, request: httpx.Request, sid: str) -> httpx.Response:
        if not sid.isdigit() or self.spaces.pop(int(sid), None) is None:
            return json_response(404, {"message": "not found"})
        return httpx.Response(204)
