"""The emulator kit: stateful fakes of provider APIs, with fault injection.

An ``Emulator`` subclass implements one provider's API in ``handle`` (an
``httpx.Request`` in, an ``httpx.Response`` out), usually with a ``Router``. The
kit gives every emulator the rest, in one implementation shared by both modes:

- in-process: ``emulator.transport`` is an httpx transport (sync and async), no
  sockets; ``emulator.connect()`` opens a spacekit store wired to it;
- on loopback: ``with emulator.serve() as base_url:`` runs a threaded HTTP/1.1
  server (keep-alive, TCP_NODELAY) until the block ends;
- a request log (``emulator.requests``), a movable clock (``emulator.clock``), and
  faults (``emulator.faults``): statuses for the next N matching requests, 429 with
  ``Retry-After``, latency, dropped connections before or after the write is
  committed, malformed or truncated bodies, random failures, and a
  requests-per-second limit;
- from the state hooks a subclass writes (``add_space``, ``snapshot``, ``restore``):
  seeded spaces, ``reset()`` to the starting state, a state file kept across
  restarts (``keep_state``), and the control API under ``/_spacekit/`` (see
  ``_control``), which answers in both modes and is never logged, slowed or faulted.

State changes happen under ``emulator.lock``, so a served emulator is safe under
concurrent clients.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

import attrs
import httpx

from .._errors import ConfigError
from .._redact import cut, redact
from . import _control
from ._faults import Faults, seconds

if TYPE_CHECKING:
    from .._store import AsyncSpaceStore, SpaceStore
    from ._config_block import ConfigBlock
    from ._state import StateKeeper

IN_PROCESS_URL = "http://localhost"
"""The base URL stores use for an in-process emulator (no socket is opened)."""

Handler = Callable[..., httpx.Response]


def json_response(status: int, data: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """A response with a JSON body (``None`` gives an empty body)."""
    content = b"" if data is None else json.dumps(data).encode()
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    return httpx.Response(status, headers=all_headers, content=content)


@attrs.define
class LoggedRequest:
    """One request as the emulator saw it: the raw (still encoded) path and query,
    and the status answered (None until answered, and for a dropped connection)."""

    method: str
    path: str
    query: str
    headers: httpx.Headers
    body: bytes
    status: int | None = None

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Clock:
    """The emulator's idea of now; tests move it forward to expire tokens."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Dropped(Exception):
    """The emulator closes the connection instead of answering."""


class Router:
    """Routes by method and a regular expression on the raw path; the named groups
    are percent-decoded and passed to the handler as keywords."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern), handler))
            return handler

        return register

    def dispatch(self, owner: Any, request: httpx.Request) -> httpx.Response | None:
        """The handler's response; None if no route matches the path; 405 for a wrong method."""
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            return handler(owner, request, **params)
        if allowed:
            return json_response(405, {"message": "method not allowed"}, {"Allow": ", ".join(allowed)})
        return None


class Emulator(abc.ABC):
    """A stateful fake of one provider's API. Subclasses write ``handle`` and
    ``connect_settings``; the kit runs them in-process or on a loopback port."""

    provider: ClassVar[str]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[LoggedRequest] = []
        self.faults = Faults()
        self.clock = Clock()
        self.connections = 0  # connections accepted while served on loopback
        self.served = 0  # requests answered (or dropped) while served on loopback
        self._start: dict[str, Any] | None = None  # the state ``reset`` returns to
        self._state: StateKeeper | None = None

    @abc.abstractmethod
    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request of the provider's API (called under ``self.lock``)."""

    @abc.abstractmethod
    def connect_settings(self, base_url: str) -> dict[str, Any]:
        """The settings a spacekit store needs to talk to this emulator at ``base_url``."""

    def set_credential(self, credential: str) -> None:
        """Accept ``credential`` (a token, an API key) instead of this emulator's own,
        so that a served emulator keeps one credential across restarts
        (``spacekit emulate PROVIDER --token T``). Emulators of APIs with a credential
        override this; ``connect_settings`` then gives the new one."""
        raise NotImplementedError(f"the {self.provider} emulator takes no credential")

    # -- state hooks: what an emulator writes to be seeded, reset and kept -------------

    def add_space(self, name: str) -> Any:
        """Put a space named ``name`` straight into the state (``seed_spaces``)."""
        raise NotImplementedError(f"the {self.provider} emulator cannot add spaces")

    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-ready data, a copy, with the spaces under ``"spaces"``:
        what ``GET /_spacekit/spaces`` answers and a state file keeps. It holds no
        credential the emulator accepts or issued."""
        raise NotImplementedError(f"the {self.provider} emulator cannot give its state")

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the state with a ``snapshot``'s; ``ValueError`` (the state
        unchanged) if it is not one this emulator wrote."""
        raise NotImplementedError(f"the {self.provider} emulator cannot restore a state")

    def error_response(self, status: int, message: str) -> httpx.Response:
        """An error answer as the provider writes them: what the kit's rate limit,
        random failures and the control API's faults answer. Emulators override it."""
        return json_response(status, {"message": message})

    # -- built on the hooks ---------------------------------------------------------------

    def seed_spaces(self, count: int) -> None:
        """Add ``count`` spaces (``seed_0001``, ...) and make this the starting state."""
        width = max(4, len(str(count)))
        with self.lock:
            for number in range(1, count + 1):
                self.add_space(f"seed_{number:0{width}}")
            self._start = self.snapshot()

    def reset(self) -> None:
        """Back to the starting state (as it was at the first request, or after
        ``seed_spaces``); the request log and the armed faults emptied."""
        with self.lock:
            self._remember_start()
            assert self._start is not None
            self.restore(self._start)
            self.requests.clear()
            self.faults.disarm()
            self._save_state()

    def keep_state(self, path: str | Path) -> bool:
        """Keep the state in the file ``path`` across restarts: read it if it exists
        (True), else write the current state there (False); then write it, atomically
        and in the background, after each request that may change it (``save_state``
        waits for it). A file that is not an emulator state, or holds another
        provider's, is a ``ConfigError`` and is left as it is."""
        from ._state import StateFile, StateKeeper

        state_file = StateFile(Path(path), self.provider)
        with self.lock:
            self._remember_start()
            saved = state_file.read()
            if saved is not None:
                try:
                    self.restore(saved)
                except (ValueError, TypeError, KeyError) as exc:
                    raise ConfigError(
                        f"{path} holds a {self.provider} state this emulator cannot read ({exc}); "
                        "it was left as it is: move it away or name another file"
                    ) from None
            else:
                state_file.write(self.snapshot())
            self._state = StateKeeper(state_file, self._locked_snapshot)
        return saved is not None

    def save_state(self) -> None:
        """Wait until the state file (``keep_state``) holds every change made so far."""
        if self._state is not None:
            self._state.flush()

    def credentials(self) -> list[str]:
        """The credentials this emulator accepts (the values of its provider's secret
        settings): what its request log never shows."""
        settings = self.connect_settings(IN_PROCESS_URL)
        try:
            from .._registry import load

            schema = load(self.provider).settings
            keys = [key for key, setting in schema.items() if setting.secret]
        except ConfigError:  # an emulator of no installed provider: every string setting but URLs
            keys = [key for key in settings if not key.endswith("url")]
        return [str(settings[key]) for key in keys if isinstance(settings.get(key), str)]

    def shown_path(self, path: str) -> str:
        """A request's raw path as the control API and ``--log`` show it (without
        its query): credentials masked, cut to 200 characters."""
        secrets = self.credentials()
        secrets += [quote(secret, safe="") for secret in secrets]
        printable = "".join(c if c.isprintable() and c != " " else quote(c, safe="") for c in path)
        return cut(redact(printable, secrets), secrets, 200)

    def _remember_start(self) -> None:
        if self._start is None:
            self._start = self.snapshot()

    def _locked_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return self.snapshot()

    def _save_state(self) -> None:
        if self._state is not None:
            self._state.changed()

    def config_block(self, base_url: str, *, store: str | None = None) -> ConfigBlock:
        """A config file section for a store on this emulator served at ``base_url``:
        credentials as ``env:`` references, with the ``export`` lines that set them."""
        from ._config_block import config_block

        return config_block(self.provider, self.connect_settings(base_url), base_url, store=store)

    # -- the shared core of both modes ----------------------------------------------

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        """Answer the control API, or log, apply faults and the rate limit, and handle;
        ``Dropped`` means hang up."""
        raw = request.url.raw_path.decode("ascii")
        path, _, query = raw.partition("?")
        if _control.is_control(path):
            return _control.answer(self, request, path)
        logged = LoggedRequest(request.method, path, query, request.headers, request.content)
        with self.lock:
            if self._start is None:
                with contextlib.suppress(NotImplementedError):
                    self._remember_start()
            self.requests.append(logged)
        response = self._faulted_or_handled(request, logged)
        logged.status = response.status_code
        return response

    def _faulted_or_handled(self, request: httpx.Request, logged: LoggedRequest) -> httpx.Response:
        wait = self.faults.over_limit()
        if wait is not None:
            limited = self.error_response(429, "rate limit exceeded")
            limited.headers["Retry-After"] = seconds(wait)
            return limited
        fault = self.faults.take(logged)
        if fault is not None and fault.kind == "random":
            return self._random_failure(fault.status)
        if fault is not None and fault.kind == "status":
            return httpx.Response(fault.status, headers=fault.headers, content=fault.body)
        if fault is not None and fault.kind == "drop":
            raise Dropped
        response = self._handle_safely(request)
        if fault is not None and fault.kind == "drop_after_commit":
            raise Dropped
        if fault is not None and fault.kind == "status_after_commit":
            return httpx.Response(fault.status, headers=fault.headers, content=fault.body)
        if fault is not None and fault.kind == "malformed":
            body = fault.body or response.content[: len(response.content) // 2]
            return httpx.Response(
                response.status_code, headers={"Content-Type": "application/json"}, content=body
            )
        return response

    def _random_failure(self, status: int) -> httpx.Response:
        failure = self.error_response(status, "injected random failure")
        if status == 429:
            failure.headers["Retry-After"] = "1"
        return failure

    def _handle_safely(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            try:
                response = self.handle(request)
            except Exception as exc:  # an emulator bug must answer 500, not kill the server
                return json_response(500, {"message": f"emulator error: {type(exc).__name__}: {exc}"})
            if request.method not in ("GET", "HEAD"):
                self._save_state()
        response.read()
        return response

    # -- in-process -------------------------------------------------------------------

    @property
    def transport(self) -> EmulatorTransport:
        """An httpx transport (sync and async) answering from this emulator."""
        return EmulatorTransport(self)

    @property
    def recording_transport(self) -> httpx.MockTransport:
        """The same, wrapped so that vcrpy records it (vcrpy hooks only httpx's own
        transport classes): what cassette recording scripts use."""
        return httpx.MockTransport(self.transport.handle_request)

    def connect(self, **overrides: Any) -> SpaceStore:
        """A spacekit store talking to this emulator in-process."""
        from .._connect import connect

        settings = {**self.connect_settings(IN_PROCESS_URL), "transport": self.transport, **overrides}
        return connect(self.provider, **settings)

    def connect_async(self, **overrides: Any) -> AsyncSpaceStore:
        """An async spacekit store talking to this emulator in-process."""
        from .._connect import connect_async

        settings = {**self.connect_settings(IN_PROCESS_URL), "transport": self.transport, **overrides}
        return connect_async(self.provider, **settings)

    # -- on a loopback port ----------------------------------------------------------

    def delay(self, raw_path: bytes | str) -> float:
        """The latency a request to ``raw_path`` waits: ``faults.latency``, none for the control API."""
        path = raw_path.decode("ascii") if isinstance(raw_path, bytes) else raw_path
        return 0.0 if _control.is_control(path.partition("?")[0]) else self.faults.latency

    @contextlib.contextmanager
    def serve(
        self, port: int = 0, host: str = "127.0.0.1", *, log: Callable[[str], None] | None = None
    ) -> Iterator[str]:
        """Serve this emulator on ``host:port`` (0 picks a free port); yields the base URL.
        With ``log``, each request is written to it as one line (``_serve.log_line``)."""
        from ._serve import serving

        with serving(self, port, host, log) as base_url:
            yield base_url


class EmulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Both httpx transport interfaces over one emulator; a drop is a
    ``RemoteProtocolError``, as a real client would see it."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        delay = self.emulator.delay(request.url.raw_path)
        if delay:
            time.sleep(delay)
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        delay = self.emulator.delay(request.url.raw_path)
        if delay:
            await asyncio.sleep(delay)
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.emulator.dispatch(request)
        except Dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)


def emulated_providers() -> list[str]:
    """The installed providers whose plugin ships an emulator, sorted."""
    from .._registry import load, names

    found = []
    for name in names():
        with contextlib.suppress(ConfigError):
            if load(name).emulator() is not None:
                found.append(name)
    return found


def emulator_for(provider: str) -> Emulator:
    """A fresh emulator of ``provider``; a ``ConfigError`` for a provider that is not
    installed (suggesting the closest name) or ships no emulator (naming those that do)."""
    import difflib

    from .._registry import load, names

    try:
        plugin = load(provider)
    except ConfigError as exc:
        close = difflib.get_close_matches(provider, names(), n=1)
        raise ConfigError(f"{exc}; did you mean {close[0]!r}?" if close else str(exc)) from None
    emulator = plugin.emulator()
    if emulator is None:
        with_emulators = ", ".join(emulated_providers()) or "none"
        raise ConfigError(f"the {provider} plugin ships no emulator (these do: {with_emulators})")
    if not isinstance(emulator, Emulator):
        raise ConfigError(f"the {provider} plugin's emulator is not a spacekit.testing.Emulator")
    return emulator
