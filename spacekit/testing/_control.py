"""The control API of an emulator: plain HTTP under ``/_spacekit/``, off the provider's paths.

A user's own tests, in any language, drive a served emulator with it; it needs no
credential, and its requests are never logged, slowed, limited or faulted:

- ``POST /_spacekit/reset``: back to the starting state, the request log and the
  armed faults emptied;
- ``GET /_spacekit/requests``: the request log, ``[{"method", "path", "status"}]``
  (``status`` null for a dropped connection; paths without their query, credentials
  masked);
- ``POST /_spacekit/faults`` with ``{"status": 503, "times": 2, "method": "POST",
  "path": "^/$"}``: the next ``times`` (default 1) requests matching ``method`` and
  the regular expression ``path`` (both optional) answer ``status`` in the
  provider's error format (a 429 with ``Retry-After``: ``retry_after`` seconds,
  default 1); ``GET`` lists the armed faults;
- ``GET /_spacekit/spaces``: the state, ``{"provider", "spaces": [...], ...}``.

Every answer is JSON; a bad request is 400 with ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ._emulator import Emulator

PREFIX = "/_spacekit/"

#: (method, path, what it does): the endpoints, as ``spacekit emulate`` lists them
ENDPOINTS = (
    ("POST", "/_spacekit/reset", "back to the starting state; empties the request log and armed faults"),
    ("GET", "/_spacekit/requests", "the request log: [{method, path, status}]"),
    (
        "POST",
        "/_spacekit/faults",
        'arm a fault: {"status": 503, "times": 2, "method": "POST", "path": "^/$"}',
    ),
    ("GET", "/_spacekit/spaces", "the state, as JSON"),
)

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
FAULT_KEYS = ("status", "times", "method", "path", "retry_after")
MAX_TIMES = 1_000_000
MAX_BODY = 64 * 1024


def is_control(path: str) -> bool:
    """Whether a raw path (without query) is the control API's."""
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


class _BadRequest(Exception):
    pass


def answer(emulator: Emulator, request: httpx.Request, path: str) -> httpx.Response:
    """The control API's answer to ``request`` (its raw ``path`` without query)."""
    routes = {
        ("POST", "/_spacekit/reset"): _reset,
        ("GET", "/_spacekit/requests"): _requests,
        ("POST", "/_spacekit/faults"): _arm,
        ("GET", "/_spacekit/faults"): _armed,
        ("GET", "/_spacekit/spaces"): _spaces,
    }
    route = routes.get((request.method, path))
    if route is None:
        allowed = [method for method, known in routes if known == path]
        if allowed:
            return _json(405, {"error": f"{path} takes {', '.join(allowed)}"}, {"Allow": ", ".join(allowed)})
        known = ", ".join(f"{method} {endpoint}" for method, endpoint, _ in ENDPOINTS)
        return _json(404, {"error": f"no control endpoint {path}; there are: {known}"})
    try:
        return route(emulator, request)
    except _BadRequest as exc:
        return _json(400, {"error": str(exc)})
    except NotImplementedError as exc:
        return _json(501, {"error": str(exc)})


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"Content-Type": "application/json", **(headers or {})},
        content=json.dumps(data).encode(),
    )


def _reset(emulator: Emulator, request: httpx.Request) -> httpx.Response:
    emulator.reset()
    return _json(200, {"reset": True})


def _requests(emulator: Emulator, request: httpx.Request) -> httpx.Response:
    with emulator.lock:
        logged = list(emulator.requests)
    return _json(
        200, [{"method": r.method, "path": emulator.shown_path(r.path), "status": r.status} for r in logged]
    )


def _spaces(emulator: Emulator, request: httpx.Request) -> httpx.Response:
    with emulator.lock:
        state = emulator.snapshot()
    return _json(200, {"provider": emulator.provider, **state})


def _armed(emulator: Emulator, request: httpx.Request) -> httpx.Response:
    return _json(200, emulator.faults.armed())


def _arm(emulator: Emulator, request: httpx.Request) -> httpx.Response:
    fault = _fault(request.content)
    status = fault["status"]
    failure = emulator.error_response(status, "injected fault")
    headers = {"Content-Type": failure.headers.get("Content-Type", "application/json")}
    if status == 429:
        headers["Retry-After"] = str(fault["retry_after"])
    emulator.faults.fail(
        status,
        fault["times"],
        method=fault["method"],
        path=fault["path"],
        body=failure.read(),
        headers=headers,
    )
    return _json(201, fault)


def _fault(body: bytes) -> dict[str, Any]:
    """The checked body of ``POST /_spacekit/faults``, completed with defaults."""
    if len(body) > MAX_BODY:
        raise _BadRequest(f"the body is over {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _BadRequest('the body must be a JSON object such as {"status": 503, "times": 2}') from None
    if not isinstance(data, dict):
        raise _BadRequest('the body must be a JSON object such as {"status": 503, "times": 2}')
    unknown = sorted(set(data) - set(FAULT_KEYS))
    if unknown:
        raise _BadRequest(f"unknown key(s) {', '.join(unknown)}; the keys are {', '.join(FAULT_KEYS)}")
    if "status" not in data:
        raise _BadRequest("status is required: the HTTP status to answer, 200 to 599")
    status = _integer(data, "status", 200, 599, None)
    times = _integer(data, "times", 1, MAX_TIMES, 1)
    retry_after = _integer(data, "retry_after", 0, 86400, 1)
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        raise _BadRequest(f"method must be one of {', '.join(METHODS)}")
    path = data.get("path")
    if path is not None:
        if not isinstance(path, str) or len(path) > 1000:
            raise _BadRequest("path must be a regular expression (a string of at most 1000 characters)")
        try:
            re.compile(path)
        except re.error as exc:
            raise _BadRequest(f"path is not a valid regular expression: {exc}") from None
    return {
        "status": status,
        "times": times,
        "method": method.upper() if method else None,
        "path": path,
        "retry_after": retry_after if status == 429 else None,
    }


def _integer(data: dict[str, Any], key: str, low: int, high: int, default: int | None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _BadRequest(f"{key} must be a whole number from {low} to {high}")
    return value
