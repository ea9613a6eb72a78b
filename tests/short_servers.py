"""A small NeuroIO-shaped spaces API whose listings fall short on purpose.

Written from the provider's published facts alone (``/v1/spaces/`` paged by
``limit``/``offset`` with ``{"count", "next", "previous", "results"}``, ``q`` by
name, ``GET``/``PATCH``/``DELETE /v1/spaces/{id}/``, ``POST /v1/spaces/``), not from
the plugin's emulator. A ``Short`` rule makes the first ``times`` listings (the
requests without ``q``, counted from each one at offset 0) end early:

- ``count``: every page states ``n`` more spaces than there are;
- ``next``: the page at offset ``at`` holds ``n`` spaces and ``next`` is null;
- ``empty``: the page at offset ``at`` is empty (``next`` null);
- ``middle``: ``n`` spaces from offset ``at`` on are left out of the pages, the
  count still telling them;
- ``hide``: ``n`` spaces from offset ``at`` on are left out, and out of the count:
  a listing that adds up and still misses them (only a read of its own finds them).

Usable in-process (an httpx transport) and on a loopback port (for the CLI).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

import spacekit

TOKEN = "short-token"
_ONE = re.compile(r"^/v1/spaces/([^/]+)/$")


@dataclass(frozen=True)
class Short:
    kind: str  # "count", "next", "empty", "middle", "hide"
    at: int = 0
    n: int = 0
    times: int = 1  # how many listings fall short (a large number: every one)


class ShortServer:
    def __init__(self, names: list[str], *, page: int = 100, short: Short | None = None) -> None:
        self.spaces: dict[int, str] = {n + 1: name for n, name in enumerate(names)}
        self.next_id = len(names) + 1
        self.page = page
        self.short = short
        self.listings = 0
        self.log: list[str] = []  # "METHOD path" of every request
        self.lock = threading.Lock()

    # -- what a test reads ------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self.spaces.values())

    def deletes(self) -> list[str]:
        return [line for line in self.log if line.startswith("DELETE")]

    def store(self, **settings: Any) -> spacekit.SpaceStore:
        return spacekit.connect(
            "neuroio",
            token=TOKEN,
            base_url="https://short.test",
            transport=httpx.MockTransport(self),
            retries=1,
            backoff=0.001,
            deadline=10.0,
            **settings,
        )

    # -- the API ----------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer(
            request.method, request.url.path, dict(request.url.params), request.content
        )
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    def answer(self, method: str, path: str, params: dict[str, str], content: bytes) -> tuple[int, Any]:
        with self.lock:
            self.log.append(f"{method} {path}")
            if path == "/v1/spaces/" and method == "GET":
                return 200, self._page(params)
            if path == "/v1/spaces/" and method == "POST":
                name = json.loads(content)["name"]
                space_id, self.next_id = self.next_id, self.next_id + 1
                self.spaces[space_id] = name
                return 201, {"id": space_id, "name": name}
            found = _ONE.match(path)
            if found is None or not found.group(1).isdigit():
                return 404, {"error_codes": [404], "message": "Not found."}
            space_id = int(found.group(1))
            if space_id not in self.spaces:
                return 404, {"error_codes": [404], "message": "Not found."}
            if method == "GET":
                return 200, {"id": space_id, "name": self.spaces[space_id]}
            if method == "PATCH":
                self.spaces[space_id] = json.loads(content)["name"]
                return 200, {"id": space_id, "name": self.spaces[space_id]}
            if method == "DELETE":
                del self.spaces[space_id]
                return 204, None
            return 405, {"error_codes": [405], "message": "Method not allowed."}

    def _page(self, params: dict[str, str]) -> dict[str, Any]:
        limit = min(int(params.get("limit", "20")), self.page)
        offset = int(params.get("offset", "0"))
        query = params.get("q", "")
        rows = [{"id": k, "name": v} for k, v in sorted(self.spaces.items())]
        if query:
            rows = [row for row in rows if query.casefold() in row["name"].casefold()]
        elif offset == 0:
            self.listings += 1
        count = len(rows)
        short = self.short if not query and self.short and self.listings <= self.short.times else None
        if short is not None and short.kind in ("middle", "hide"):
            rows = rows[: short.at] + rows[short.at + short.n :]
            count = len(rows) if short.kind == "hide" else count
        results = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        if short is not None:
            if short.kind == "count":
                count += short.n
            elif short.kind == "next" and offset == short.at:
                results, more = results[: short.n], False
            elif short.kind == "empty" and offset == short.at:
                results, more = [], False
        following = f"https://short.test/v1/spaces/?limit={limit}&offset={offset + limit}" if more else None
        return {"count": count, "next": following, "previous": None, "results": results}

    # -- on a loopback port -----------------------------------------------------------

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Authorization") != f"Token {TOKEN}":
                    status, body = 401, {"error_codes": [401], "message": "Invalid token."}
                else:
                    status, body = server.answer(self.command, url.path, params, self.rfile.read(length))
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)
