"""The HTTP engine: runs a provider's sans-I/O operations over httpx.

One engine per store owns one client (connections are reused), the credentials'
headers, timeouts, the user agent, retries (tenacity), the client-side rate limit,
the mapping of failures to spacekit errors, and redaction. ``SyncEngine`` and
``AsyncEngine`` differ only in how they wait and send; the decisions (what to
retry, how long to wait, which error) are made once, in ``_Policy``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, TypeVar

import httpx
import tenacity

from ._errors import ProtocolError, ProviderError, ProviderUnavailable, RateLimited, SpacekitError
from ._pacing import RateLimiter, parse_retry_after
from ._plugin import ListOperation, Operation, Provider, Request, Response, Setting
from ._redact import redact, redact_error
from ._version import __version__

T = TypeVar("T")
log = logging.getLogger("spacekit.http")

USER_AGENT = f"spacekit/{__version__}"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF = 10.0

ENGINE_SETTINGS: Mapping[str, Setting] = {
    "base_url": Setting("base_url", help="the API root"),
    "timeout": Setting("timeout", float, 10.0, help="seconds for one request"),
    "retries": Setting("retries", int, 4, help="retries after the first attempt"),
    "deadline": Setting("deadline", float, 60.0, help="seconds for all attempts together"),
    "backoff": Setting("backoff", float, 0.5, help="first retry wait, doubled each time"),
    "rate_limit": Setting("rate_limit", float, None, help="requests per second, client side"),
    "allow_insecure_http": Setting("allow_insecure_http", bool, False),
    "transport": Setting("transport", object, None, configurable=False),
}

# Failures that prove the request never left: safe to retry whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _Retryable(Exception):
    """An attempt worth repeating: a retryable status, or a transport failure."""

    def __init__(self, error: SpacekitError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _Policy:
    """Decisions shared by both engines."""

    def __init__(self, provider: Provider) -> None:
        cfg = provider.config
        self.provider = provider
        self.retries: int = max(0, cfg.get("retries") or 0)
        self.deadline: float = cfg.get("deadline") or 60.0
        backoff = cfg.get("backoff")
        self.backoff: float = 0.5 if backoff is None else float(backoff)
        self.limiter = RateLimiter(cfg.get("rate_limit"))
        self.auth_generation = 0

    def client_options(self) -> dict[str, Any]:
        return dict(
            base_url=self.provider.base_url,
            timeout=httpx.Timeout(self.provider.config.get("timeout") or 10.0),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,  # credentials never follow a redirect
        )

    def build(self, client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
        headers = dict(request.headers)
        if request.authenticated:
            headers.update(self.provider.headers())
        try:
            return client.build_request(
                request.method,
                request.path,
                params=dict(request.params) or None,
                json=request.json,
                headers=headers,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProtocolError(f"cannot build request: {exc}", provider=self.provider.name) from None

    def retrying(self, request: Request, cls: type[Any]) -> Any:
        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return exc.retry_after
            cap = min(MAX_BACKOFF, self.backoff * 2 ** (state.attempt_number - 1))
            return random.uniform(cap / 2, cap)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            status = getattr(getattr(exc, "error", None), "status", None)
            wait_s = state.next_action.sleep if state.next_action else 0.0
            log.info(
                "%s %s: %s, retry %d in %.2fs",
                request.method,
                _path(request),
                status or "network failure",
                state.attempt_number,
                wait_s,
            )

        return cls(
            stop=tenacity.stop_after_attempt(self.retries + 1) | tenacity.stop_before_delay(self.deadline),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            before_sleep=before_sleep,
            reraise=True,
        )

    def transport_error(self, request: Request, exc: httpx.HTTPError) -> Exception:
        """Map an httpx failure: retryable when it cannot have been applied twice."""
        name = self.provider.name
        if isinstance(exc, _NOT_SENT):
            return _Retryable(
                ProviderUnavailable(
                    f"{request.method} {_path(request)}: cannot reach the provider ({type(exc).__name__})",
                    provider=name,
                )
            )
        if isinstance(exc, httpx.TransportError):
            maybe = not request.idempotent
            error = ProviderUnavailable(
                f"{request.method} {_path(request)}: the connection failed ({type(exc).__name__})"
                + ("; the request may have reached the provider" if maybe else ""),
                provider=name,
                maybe_applied=maybe,
            )
            return error if maybe else _Retryable(error)
        return ProtocolError(f"{request.method} {_path(request)}: {type(exc).__name__}", provider=name)

    def classify(self, request: Request, raw: httpx.Response) -> Response:
        """Turn an httpx response into ours, raising for statuses that are failures."""
        response = Response(raw.status_code, raw.headers, raw.content, request, self.provider.name)
        status = raw.status_code
        if 300 <= status < 400:
            where = _without_query(raw.headers.get("location", ""))
            raise ProtocolError(
                f"{request.method} {_path(request)}: unexpected redirect (status {status}) to "
                f"{where or 'nowhere'}; redirects are not followed so that credentials stay with "
                "the provider (check base_url)",
                provider=self.provider.name,
                status=status,
            )
        if status < 400:
            return response
        error = self.provider.error(response)
        retry_after = parse_retry_after(raw.headers.get("retry-after"))
        if isinstance(error, RateLimited) and error.retry_after is None:
            error.retry_after = retry_after
        # Everyone on this store holds off for the server's wait; a wait past the
        # deadline is not waited out (the caller gets RateLimited at once instead).
        if status == 429 and retry_after and retry_after <= self.deadline:
            self.limiter.pause(retry_after)
        # A 429 was refused before any work was done: safe to retry for any method.
        if status in RETRY_STATUSES and (request.idempotent or status == 429):
            raise _Retryable(error, retry_after)
        raise error

    def scrub(self, error: BaseException) -> BaseException:
        return redact_error(error, self._secrets())

    def _secrets(self) -> list[str]:
        values = list(self.provider.secrets())
        values += [v.split(" ", 1)[-1] for v in self.provider.headers().values()]
        return values

    def log_exchange(self, request: Request, status: int, started: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.0f ms",
                request.method,
                redact(_path(request), self._secrets()),
                status,
                (time.perf_counter() - started) * 1000,
            )


def _path(request: Request) -> str:
    return _without_query(request.path)


def _without_query(url: str) -> str:
    """A URL or path without its query and fragment, which may carry secrets."""
    return url.split("?", 1)[0].split("#", 1)[0]


class SyncEngine:
    """Runs operations over one ``httpx.Client``."""

    def __init__(self, provider: Provider) -> None:
        self.policy = _Policy(provider)
        self.provider = provider
        self._client = httpx.Client(
            transport=provider.config.get("transport"), **self.policy.client_options()
        )
        self._auth_lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def run(self, op: Operation[T]) -> T:
        """Drive one operation to its result."""
        try:
            item = next(op)
            while True:
                try:
                    response = self.send(item)
                except SpacekitError as exc:
                    item = op.throw(exc)
                else:
                    item = op.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None

    def iterate(self, op: ListOperation) -> Iterator[Any]:
        """Drive a listing, handing out spaces as they come."""
        try:
            item = next(op)
            while True:
                if isinstance(item, Request):
                    try:
                        response = self.send(item)
                    except SpacekitError as exc:
                        item = op.throw(exc)
                    else:
                        item = op.send(response)
                else:
                    yield item
                    item = op.send(None)
        except StopIteration:
            return
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None
        finally:
            op.close()

    def send(self, request: Request) -> Response:
        self._authenticate_if_needed()
        generation = self.policy.auth_generation
        try:
            return self._send_with_retries(request)
        except ProviderError as exc:
            if exc.status != 401 or not request.authenticated or not self._reauthenticate(generation):
                raise
        return self._send_with_retries(request)

    def _send_with_retries(self, request: Request) -> Response:
        try:
            for attempt in self.policy.retrying(request, tenacity.Retrying):
                with attempt:
                    return self._attempt(request)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: Request) -> Response:
        delay = self.policy.limiter.reserve()
        if delay > 0:
            time.sleep(delay)
        built = self.policy.build(self._client, request)
        started = time.perf_counter()
        try:
            raw = self._client.send(built)
        except httpx.HTTPError as exc:
            raise self.policy.transport_error(request, exc) from None
        self.policy.log_exchange(request, raw.status_code, started)
        return self.policy.classify(request, raw)

    def _authenticate_if_needed(self) -> None:
        if self.provider.needs_authentication():
            with self._auth_lock:
                if self.provider.needs_authentication():
                    self._run_auth()

    def _reauthenticate(self, generation: int) -> bool:
        with self._auth_lock:
            if generation != self.policy.auth_generation:
                return True  # someone else already renewed the credentials
            if not self.provider.forget_authentication():
                return False
            self._run_auth()
            return True

    def _run_auth(self) -> None:
        op = self.provider.authenticate()
        try:
            item = next(op)
            while True:
                item = op.send(self._send_with_retries(item))
        except StopIteration:
            self.policy.auth_generation += 1


class AsyncEngine:
    """Runs operations over one ``httpx.AsyncClient``; the twin of ``SyncEngine``."""

    def __init__(self, provider: Provider) -> None:
        self.policy = _Policy(provider)
        self.provider = provider
        self._client = httpx.AsyncClient(
            transport=provider.config.get("transport"), **self.policy.client_options()
        )
        self._auth_lock: asyncio.Lock | None = None

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self, op: Operation[T]) -> T:
        try:
            item = next(op)
            while True:
                try:
                    response = await self.send(item)
                except SpacekitError as exc:
                    item = op.throw(exc)
                else:
                    item = op.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None

    async def iterate(self, op: ListOperation) -> AsyncIterator[Any]:
        try:
            item = next(op)
            while True:
                if isinstance(item, Request):
                    try:
                        response = await self.send(item)
                    except SpacekitError as exc:
                        item = op.throw(exc)
                    else:
                        item = op.send(response)
                else:
                    yield item
                    item = op.send(None)
        except StopIteration:
            return
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None
        finally:
            op.close()

    async def send(self, request: Request) -> Response:
        await self._authenticate_if_needed()
        generation = self.policy.auth_generation
        try:
            return await self._send_with_retries(request)
        except ProviderError as exc:
            if exc.status != 401 or not request.authenticated or not await self._reauthenticate(generation):
                raise
        return await self._send_with_retries(request)

    async def _send_with_retries(self, request: Request) -> Response:
        try:
            async for attempt in self.policy.retrying(request, tenacity.AsyncRetrying):
                with attempt:
                    return await self._attempt(request)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, request: Request) -> Response:
        delay = self.policy.limiter.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
        built = self.policy.build(self._client, request)
        started = time.perf_counter()
        try:
            raw = await self._client.send(built)
        except httpx.HTTPError as exc:
            raise self.policy.transport_error(request, exc) from None
        self.policy.log_exchange(request, raw.status_code, started)
        return self.policy.classify(request, raw)

    def _lock(self) -> asyncio.Lock:
        if self._auth_lock is None:
            self._auth_lock = asyncio.Lock()
        return self._auth_lock

    async def _authenticate_if_needed(self) -> None:
        if self.provider.needs_authentication():
            async with self._lock():
                if self.provider.needs_authentication():
                    await self._run_auth()

    async def _reauthenticate(self, generation: int) -> bool:
        async with self._lock():
            if generation != self.policy.auth_generation:
                return True
            if not self.provider.forget_authentication():
                return False
            await self._run_auth()
            return True

    async def _run_auth(self) -> None:
        op = self.provider.authenticate()
        try:
            item = next(op)
            while True:
                item = op.send(await self._send_with_retries(item))
        except StopIteration:
            self.policy.auth_generation += 1
