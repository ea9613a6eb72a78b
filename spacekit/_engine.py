"""The HTTP engine: runs a provider's sans-I/O operations over httpx.

One engine per store owns one client (connections are reused), the credentials'
headers, timeouts, the user agent, retries (tenacity), the client-side rate limit,
the mapping of failures to spacekit errors, and redaction. ``SyncEngine`` and
``AsyncEngine`` differ only in how they wait and send; the decisions (what to
retry, how long to wait, which error) are made once, in ``_Policy``, from the
store's ``EngineConfig``.

Hard limits (``_limits``): a call ends by its deadline, an attempt by its timeout,
slow answers included; an answer is read as a stream and never held beyond
``max_response_bytes``. Whatever the server answers, the caller gets a result or a
``SpacekitError``: plugin code that trips on an answer (a ``KeyError`` on a missing
key, say) is reported as a ``ProtocolError`` about that answer.

A listing may yield a batch (``Requests``): its requests are sent concurrently, at
most ``BATCH_IN_FLIGHT`` at a time (the sync engine on a few threads it keeps until
``close``, the async engine as tasks), each through ``send`` as a lone request with
its own deadline; the answers go back in order as ``Responses``, failures in their
place.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import tenacity

from ._engineconfig import ENGINE_SETTINGS, EngineConfig
from ._errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SpacekitError,
)
from ._exchange import shown_path
from ._limits import ACCEPT_ENCODING, Body, TimedOut, Window, network_transport
from ._pacing import RateLimiter, Ticket, parse_retry_after
from ._plugin import ListOperation, Operation, Provider, Request, Requests, Response, Responses
from ._redact import redact, redact_error, scrub_library_logs, watch
from ._version import __version__

T = TypeVar("T")
log = logging.getLogger("spacekit.http")

USER_AGENT = f"spacekit/{__version__}"
#: sent with every request: only encodings ``Body`` undoes within its cap are asked for
HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING}
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_BACKOFF = 10.0
#: connections kept open per store: every worker of a migration (or a caller's own
#: threads) reuses one instead of opening its own for each request
MAX_CONNECTIONS = 100
#: merged request URLs kept per store (see ``_Policy.url``)
URL_CACHE = 512
POOL = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
#: requests of one listing's batch (``Requests``) in flight at once; the sync engine
#: runs them on at most this many threads, shared by every listing of the store
BATCH_IN_FLIGHT = 8

__all__ = ["ENGINE_SETTINGS", "AsyncEngine", "EngineConfig", "SyncEngine"]

scrub_library_logs()

# Failures that prove the request never left: safe to retry whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_DEFAULT_PORTS = {"https": 443, "http": 80}
_REFUSAL_IS_FINAL: contextvars.ContextVar[bool] = contextvars.ContextVar("refusal_is_final", default=False)


@contextlib.contextmanager
def refusal_is_final() -> Iterator[None]:
    """In this block (and thread), a refused connection is not retried: nothing listens
    there, and a check (``stores --check``) says so at once instead of after retries."""
    token = _REFUSAL_IS_FINAL.set(True)
    try:
        yield
    finally:
        _REFUSAL_IS_FINAL.reset(token)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _why(exc: BaseException) -> str:
    """Why a connection failed, in words: "connection refused", "name or service not known"."""
    for cause in _causes(exc):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    return type(exc).__name__


# What plugin code may raise when an answer is not what it expects.
_UNREADABLE = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError)


#: what a header value may hold: printable ASCII, spaces and tabs between
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?")

#: guards the making and closing of every sync engine's batch threads
_BATCH_LOCK = threading.Lock()


class _Retryable(Exception):
    """An attempt worth repeating: a retryable status, or a transport failure."""

    def __init__(self, error: SpacekitError, retry_after: float | None = None) -> None:
        super().__init__()  # the error's text stays with the error, which is redacted
        self.error = error
        self.retry_after = retry_after


class _StopBefore(tenacity.stop.stop_base):
    """Stop before a wait that would cross the deadline: tenacity's ``stop_before_delay``,
    measured against the call's deadline rather than the retry loop's start."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return time.monotonic() + (retry_state.upcoming_sleep or 0.0) >= self.deadline_at


class _Policy:
    """Decisions shared by both engines."""

    def __init__(self, provider: Provider, config: EngineConfig | None = None) -> None:
        self.provider = provider
        self.config = config or EngineConfig.from_settings(provider.config)
        self.limiter = RateLimiter(self.config.rate_limit, max_hold=self.config.deadline)
        self.auth_generation = 0
        #: what every request is built on; set from the engine's client (``adopt``)
        self.base_url = httpx.URL(provider.base_url)
        self.headers = httpx.Headers(HEADERS)
        self._urls: dict[str, httpx.URL] = {}
        watch(self)  # httpx's and httpcore's own logs are redacted with this store's secrets

    def client_options(self) -> dict[str, Any]:
        return dict(
            base_url=self.provider.base_url,
            timeout=httpx.Timeout(self.config.timeout),
            headers=HEADERS,
            follow_redirects=False,  # credentials never follow a redirect
            limits=POOL,
        )

    def adopt(self, client: httpx.Client | httpx.AsyncClient) -> None:
        """Build requests against this client's base URL and default headers."""
        self.base_url, self.headers = client.base_url, client.headers
        self._urls.clear()

    def closed(self) -> ProviderError:
        """What a request on a closed store meets."""
        name = self.provider.name
        return ProviderError(f"the {name} store is closed: open it again to use it", provider=name)

    def deadline_at(self) -> float:
        """When a call starting now must end."""
        return time.monotonic() + self.config.deadline

    def window(self, request: Request, deadline_at: float, ticket: Ticket) -> Window:
        """The time the next attempt may take; none left is ``ProviderUnavailable``, and
        no slot of the store's pace before the deadline (``ticket``) is ``RateLimited``."""
        if ticket.slot is None:
            limit = self.config.rate_limit
            raise RateLimited(
                f"{request.label}: the store's pace has no slot for this request before the "
                f"deadline of {self.config.deadline:g} s (the next is in {ticket.delay:.3g} s); "
                + (
                    f"rate_limit is {limit:g} requests per second"
                    if limit
                    else "the provider's 429 answers set it"
                )
                + ", so it was not sent",
                provider=self.provider.name,
                retry_after=ticket.delay,
            )
        window = Window.open(self.config.timeout, deadline_at)
        if window.expired():
            raise ProviderUnavailable(
                f"{request.label}: the deadline of {self.config.deadline:g} s "
                "passed before the request could be sent",
                provider=self.provider.name,
            )
        return window

    def build(self, request: Request, window: Window) -> httpx.Request:
        """The request as httpx sends it: the engine's base URL and headers, the
        credentials' headers, the body as JSON, the attempt's timeouts."""
        try:
            headers = self.headers.copy()
            headers.update(request.headers)
        except (TypeError, ValueError) as exc:  # a header a plugin set that HTTP cannot carry
            raise ProtocolError(
                f"{request.label}: cannot build request: a header {type(exc).__name__}",
                provider=self.provider.name,
            ) from None
        if request.authenticated:
            self.credential_headers(headers)
        try:
            return httpx.Request(
                request.method,
                self.url(request.path),
                params=dict(request.params) or None,
                json=request.json,
                headers=headers,
                extensions={"timeout": window.timeouts()},
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProtocolError(f"cannot build request: {exc}", provider=self.provider.name) from None
        except (TypeError, ValueError) as exc:  # a body that is not JSON, say
            raise ProtocolError(
                f"cannot build request: {type(exc).__name__}", provider=self.provider.name
            ) from None

    def credential_headers(self, headers: httpx.Headers) -> None:
        """Add the credentials' headers; one that HTTP cannot carry (a line break, a
        character beyond ASCII: a token exchange may answer anything) is an
        ``AuthenticationError`` naming the credential, never sent."""
        for name, value in self.provider.headers().items():
            if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
                raise AuthenticationError(
                    f"the {self.provider.name} credential for the {name} header holds characters "
                    "an HTTP header cannot carry (a line break, a control character or a character "
                    "beyond ASCII); it was not sent (its value is not shown)",
                    provider=self.provider.name,
                )
            headers[name] = value

    def check_base_url(self) -> None:
        """A ``ConfigError`` now, at open, for a base URL no request can be built on
        (a host name that IDNA refuses, say)."""
        try:
            httpx.Request("GET", self.url("/"))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise ConfigError(
                f"{self.provider.name}: base_url is not a URL a request can be sent to "
                f"({type(exc).__name__})",
            ) from None

    def url(self, path: str) -> httpx.URL:
        """A plugin's path under the provider's base URL (an absolute URL as it is),
        merged as httpx merges it with a client's ``base_url``. Parsing a URL costs
        more than the rest of building a request, and most paths repeat (every create
        of a migration goes to one), so the last ``URL_CACHE`` are kept."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(path)
            if url.is_relative_url:
                url = self.base_url.copy_with(raw_path=self.base_url.raw_path + url.raw_path.lstrip(b"/"))
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            self._urls[path] = url
        return url

    def body(self, request: Request, window: Window) -> Body:
        return Body(window, self.config.max_response_bytes, request.label, self.provider.name)

    def retrying(self, request: Request, cls: type[Any], deadline_at: float) -> Any:
        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return exc.retry_after
            doublings = min(state.attempt_number - 1, 32)  # far past MAX_BACKOFF; never an overflow
            cap = min(MAX_BACKOFF, self.config.backoff * 2**doublings)
            return random.uniform(cap / 2, cap)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            status = getattr(getattr(exc, "error", None), "status", None)
            wait_s = state.next_action.sleep if state.next_action else 0.0
            log.info(
                "%s: %s, retry %d in %.2fs",
                redact(request.label, self._secrets()),
                status or "network failure",
                state.attempt_number,
                wait_s,
            )

        return cls(
            stop=tenacity.stop_after_attempt(self.config.retries + 1) | _StopBefore(deadline_at),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            before_sleep=before_sleep,
            reraise=True,
        )

    def transport_error(self, request: Request, exc: httpx.HTTPError, window: Window) -> Exception:
        """Map an httpx failure: retryable when it cannot have been applied twice."""
        name = self.provider.name
        sent = not isinstance(exc, _NOT_SENT)
        if isinstance(exc, httpx.TimeoutException) or window.expired():
            return self.timed_out(request, window, sent=sent)
        if not sent:
            url = self.url(request.path)
            where = f"{url.host}:{url.port or _DEFAULT_PORTS.get(url.scheme, '')}"
            error = ProviderUnavailable(
                f"{request.label}: cannot reach the provider at {where} ({_why(exc)})", provider=name
            )
            refused = any(isinstance(cause, ConnectionRefusedError) for cause in _causes(exc))
            return error if refused and _REFUSAL_IS_FINAL.get() else _Retryable(error)
        if isinstance(exc, httpx.TransportError):
            maybe = not request.idempotent
            error = ProviderUnavailable(
                f"{request.label}: the connection failed ({type(exc).__name__})"
                + ("; the request may have reached the provider" if maybe else ""),
                provider=name,
                maybe_applied=True,
            )
            return error if maybe else _Retryable(error)
        return ProtocolError(f"{request.label}: {type(exc).__name__}", provider=name)

    def timed_out(self, request: Request, window: Window, *, sent: bool) -> Exception:
        """The attempt's window ended: retry within the deadline where that is safe."""
        cfg = self.config
        limit = f"deadline of {cfg.deadline:g} s" if window.by_deadline else f"timeout of {cfg.timeout:g} s"
        unknown = sent and not request.idempotent
        error = ProviderUnavailable(
            f"{request.label}: no complete answer within the {limit}"
            + ("; the request may have reached the provider" if unknown else ""),
            provider=self.provider.name,
            maybe_applied=sent,
        )
        return error if window.by_deadline or unknown else _Retryable(error)

    def classify(self, request: Request, raw: httpx.Response, content: bytes) -> Response:
        """Turn an httpx response into ours, raising for statuses that are failures."""
        response = Response(raw.status_code, raw.headers, content, request, self.provider.name, self.scrub)
        status = raw.status_code
        if 300 <= status < 400:
            where = shown_path(raw.headers.get("location", ""))
            raise ProtocolError(
                f"{request.label}: unexpected redirect (status {status}) to "
                f"{where or 'nowhere'}; redirects are not followed so that credentials stay with "
                "the provider (check base_url)",
                provider=self.provider.name,
                status=status,
            )
        if status < 400:
            return response
        error = self.resume(response, self.provider.error, response)
        retry_after = parse_retry_after(raw.headers.get("retry-after"))
        if isinstance(error, RateLimited) and error.retry_after is None:
            error.retry_after = retry_after
        # A 429 was refused before any work was done: safe to retry for any method.
        if status in RETRY_STATUSES and (request.idempotent or status == 429):
            raise _Retryable(error, retry_after)
        raise error

    def resume(self, response: Response | None, step: Any, value: Any) -> Any:
        """Run plugin code on an answer: what it trips on is a ``ProtocolError`` about it."""
        try:
            return step(value)
        except (StopIteration, SpacekitError):
            raise
        except _UNREADABLE as exc:
            if response is None:
                raise
            raise ProtocolError(
                f"{response.label}: the {self.provider.name} "
                f"plugin cannot read the answer ({type(exc).__name__})",
                provider=self.provider.name,
                status=response.status,
            ) from None  # no body: it may hold a credential not known yet (a token exchange's)

    def scrub(self, error: BaseException) -> BaseException:
        return redact_error(error, self._secrets())

    def secrets_now(self) -> list[str]:
        """Every secret of the store at this moment (a token exchange adds some)."""
        return self._secrets()

    def _secrets(self) -> list[str]:
        values = list(self.provider.secrets())
        values += [v.split(" ", 1)[-1] for v in self.provider.headers().values()]
        return values

    def log_exchange(self, request: Request, status: int, started: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s -> %d in %.0f ms",
                redact(request.label, self._secrets()),
                status,
                (time.perf_counter() - started) * 1000,
            )


def _start(raw: httpx.Response, body: Body) -> bytes | None:
    """Start reading ``raw`` into ``body``: None when its bytes are to be read as they
    come over the wire (``iter_raw``, undecoded), else its content, which httpx read
    and decoded when the answer was made (an in-process transport's answer)."""
    read = raw.is_stream_consumed
    body.start(raw.headers, raw.status_code, decoded=read)
    return raw.content if read else None


class _Stepper:
    """One operation driven step by step; plugin failures on an answer become errors."""

    def __init__(self, policy: _Policy, op: Generator[Any, Any, Any]) -> None:
        self.policy = policy
        self.op = op
        self.last: Response | None = None

    def first(self) -> Any:
        return next(self.op)

    def answer(self, response: Response | None) -> Any:
        if response is not None:
            self.last = response
        return self.policy.resume(self.last, self.op.send, response)

    def answers(self, responses: Responses, answered: Sequence[Response | SpacekitError]) -> Any:
        """Send a batch's answers; plugin code that trips on them is reported about
        the batch's first answer (they share a path: a batch is one listing's pages)."""
        self.last = next((a for a in answered if isinstance(a, Response)), self.last)
        return self.policy.resume(self.last, self.op.send, responses)

    def fail(self, error: SpacekitError) -> Any:
        return self.policy.resume(self.last, self.op.throw, error)


class SyncEngine:
    """Runs operations over one ``httpx.Client``."""

    def __init__(self, provider: Provider, config: EngineConfig | None = None) -> None:
        self.policy = _Policy(provider, config)
        self.provider = provider
        transport = self.policy.config.transport or network_transport(limits=POOL)
        self._client = httpx.Client(transport=transport, **self.policy.client_options())  # type: ignore[arg-type]
        self._transport: httpx.BaseTransport = transport  # type: ignore[assignment]
        self.policy.adopt(self._client)
        self.policy.check_base_url()
        self._auth_lock = threading.Lock()

    #: the threads batches are sent on, made on the first batch (see ``_batch_pool``)
    _batch_threads: ThreadPoolExecutor | None = None
    _closed = False  # set by ``close``: no request is sent after it

    def close(self) -> None:
        with _BATCH_LOCK:
            self._closed = True
            threads, self._batch_threads = self._batch_threads, None
        if threads is not None:
            threads.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def run(self, op: Operation[T]) -> T:
        """Drive one operation to its result, within one deadline."""
        deadline_at = self.policy.deadline_at()
        steps = _Stepper(self.policy, op)
        try:
            item = steps.first()
            while True:
                try:
                    response = self.send(item, deadline_at)
                except SpacekitError as exc:
                    item = steps.fail(exc)
                else:
                    item = steps.answer(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None

    def iterate(self, op: ListOperation) -> Iterator[Any]:
        """Drive a listing, handing out spaces as they come; each page has its own
        deadline, and the requests of a batch are sent concurrently."""
        steps = _Stepper(self.policy, op)
        try:
            item = steps.first()
            while True:
                if isinstance(item, Request):
                    try:
                        response = self.send(item, self.policy.deadline_at())
                    except SpacekitError as exc:
                        item = steps.fail(exc)
                    else:
                        item = steps.answer(response)
                elif isinstance(item, Requests):
                    answered = self._send_batch(item)
                    item = steps.answers(Responses(answered), answered)
                else:
                    yield item
                    item = steps.answer(None)
        except StopIteration:
            return
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None
        finally:
            op.close()

    def _send_batch(self, batch: Requests) -> list[Response | SpacekitError]:
        """Every request of ``batch`` through ``send``, at most ``BATCH_IN_FLIGHT`` at a
        time; each answer, or the error it ended with, in the batch's order."""
        threads = self._batch_pool() if len(batch) > 1 else None
        if threads is None:  # one request, or a closed engine: no thread to wait on
            return [self._answer(request) for request in batch]
        futures: list[Future[Response | SpacekitError]] = [
            threads.submit(self._answer, request) for request in batch
        ]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:  # an interrupt while waiting: start no more of them
                future.cancel()

    def _answer(self, request: Request) -> Response | SpacekitError:
        """One request of a batch, with its own deadline from when it is sent."""
        try:
            return self.send(request)
        except SpacekitError as exc:
            return exc

    def _batch_pool(self) -> ThreadPoolExecutor | None:
        with _BATCH_LOCK:
            if self._batch_threads is None and not self._closed:
                self._batch_threads = ThreadPoolExecutor(BATCH_IN_FLIGHT, thread_name_prefix="spacekit-batch")
            return self._batch_threads

    def send(self, request: Request, deadline_at: float | None = None) -> Response:
        if self._closed:
            raise self.policy.closed()
        deadline_at = deadline_at or self.policy.deadline_at()
        self._authenticate_if_needed(deadline_at)
        generation = self.policy.auth_generation
        try:
            return self._send_with_retries(request, deadline_at)
        except ProviderError as exc:
            if (
                exc.status != 401
                or not request.authenticated
                or not self._reauthenticate(generation, deadline_at)
            ):
                raise
        return self._send_with_retries(request, deadline_at)

    def _send_with_retries(self, request: Request, deadline_at: float) -> Response:
        try:
            return self._attempt(request, deadline_at)  # most calls end here: no retry loop built
        except _Retryable as exc:
            first: _Retryable | None = exc
        try:
            for attempt in self.policy.retrying(request, tenacity.Retrying, deadline_at):
                with attempt:
                    if first is not None:  # the first attempt's failure, as tenacity's first
                        failed, first = first, None
                        raise failed
                    return self._attempt(request, deadline_at)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: Request, deadline_at: float) -> Response:
        ticket = self.policy.limiter.acquire(until=deadline_at)
        window = self.policy.window(request, deadline_at, ticket)
        built = self.policy.build(request, window)
        body = self.policy.body(request, window)
        started = time.perf_counter()
        bounded = window.applied()
        try:
            # Straight to the transport: the client would add only cookies (never
            # kept), redirects (never followed) and auth flows (none), at a cost
            # comparable to the exchange's own.
            raw = self._transport.handle_request(built)
            raw.request = built
            try:
                read = _start(raw, body)
                content = body.read(raw.iter_raw() if read is None else (read,), raw.status_code)
            finally:
                raw.close()
        except TimedOut:
            raise self.policy.timed_out(request, window, sent=True) from None
        except httpx.HTTPError as exc:
            raise self.policy.transport_error(request, exc, window) from None
        finally:
            window.release(bounded)
        self.policy.limiter.observe(
            ticket, raw.status_code, parse_retry_after(raw.headers.get("retry-after"))
        )
        self.policy.log_exchange(request, raw.status_code, started)
        return self.policy.classify(request, raw, content)

    def authenticate(self) -> None:
        """Authenticate now, if the provider needs it, as before a request."""
        if self._closed:
            raise self.policy.closed()
        try:
            self._authenticate_if_needed(self.policy.deadline_at())
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None

    def _authenticate_if_needed(self, deadline_at: float) -> None:
        if self.provider.needs_authentication():
            with self._auth_lock:
                if self.provider.needs_authentication():
                    self._run_auth(deadline_at)

    def _reauthenticate(self, generation: int, deadline_at: float) -> bool:
        with self._auth_lock:
            if generation != self.policy.auth_generation:
                return True  # someone else already renewed the credentials
            if not self.provider.forget_authentication():
                return False
            self._run_auth(deadline_at)
            return True

    def _run_auth(self, deadline_at: float) -> None:
        steps = _Stepper(self.policy, self.provider.authenticate())
        try:
            item = steps.first()
            while True:
                item = steps.answer(self._send_with_retries(item, deadline_at))
        except StopIteration:
            self.policy.auth_generation += 1


class AsyncEngine:
    """Runs operations over one ``httpx.AsyncClient``; the twin of ``SyncEngine``."""

    def __init__(self, provider: Provider, config: EngineConfig | None = None) -> None:
        self.policy = _Policy(provider, config)
        self.provider = provider
        self._client = httpx.AsyncClient(
            transport=self.policy.config.transport,  # type: ignore[arg-type]
            **self.policy.client_options(),
        )
        self.policy.adopt(self._client)
        self.policy.check_base_url()
        self._auth_lock: asyncio.Lock | None = None

    _closed = False  # set by ``close``: no request is sent after it

    async def close(self) -> None:
        self._closed = True
        await self._client.aclose()

    async def run(self, op: Operation[T]) -> T:
        deadline_at = self.policy.deadline_at()
        steps = _Stepper(self.policy, op)
        try:
            item = steps.first()
            while True:
                try:
                    response = await self.send(item, deadline_at)
                except SpacekitError as exc:
                    item = steps.fail(exc)
                else:
                    item = steps.answer(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None

    async def iterate(self, op: ListOperation) -> AsyncIterator[Any]:
        steps = _Stepper(self.policy, op)
        try:
            item = steps.first()
            while True:
                if isinstance(item, Request):
                    try:
                        response = await self.send(item, self.policy.deadline_at())
                    except SpacekitError as exc:
                        item = steps.fail(exc)
                    else:
                        item = steps.answer(response)
                elif isinstance(item, Requests):
                    answered = await self._send_batch(item)
                    item = steps.answers(Responses(answered), answered)
                else:
                    yield item
                    item = steps.answer(None)
        except StopIteration:
            return
        except SpacekitError as exc:
            raise self.policy.scrub(exc) from None
        finally:
            op.close()

    async def _send_batch(self, batch: Requests) -> list[Response | SpacekitError]:
        """The twin of ``SyncEngine._send_batch``: tasks, at most ``BATCH_IN_FLIGHT``
        sending at once; none is left running when this returns or is cancelled."""
        in_flight = asyncio.Semaphore(BATCH_IN_FLIGHT)

        async def answer(request: Request) -> Response | SpacekitError:
            async with in_flight:
                try:
                    return await self.send(request)  # its own deadline, from when it is sent
                except SpacekitError as exc:
                    return exc

        tasks = [asyncio.ensure_future(answer(request)) for request in batch]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, request: Request, deadline_at: float | None = None) -> Response:
        if self._closed:
            raise self.policy.closed()
        deadline_at = deadline_at or self.policy.deadline_at()
        await self._authenticate_if_needed(deadline_at)
        generation = self.policy.auth_generation
        try:
            return await self._send_with_retries(request, deadline_at)
        except ProviderError as exc:
            if (
                exc.status != 401
                or not request.authenticated
                or not await self._reauthenticate(generation, deadline_at)
            ):
                raise
        return await self._send_with_retries(request, deadline_at)

    async def _send_with_retries(self, request: Request, deadline_at: float) -> Response:
        try:
            return await self._attempt(request, deadline_at)
        except _Retryable as exc:
            first: _Retryable | None = exc
        try:
            async for attempt in self.policy.retrying(request, tenacity.AsyncRetrying, deadline_at):
                with attempt:
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    return await self._attempt(request, deadline_at)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, request: Request, deadline_at: float) -> Response:
        ticket = await self.policy.limiter.acquire_async(until=deadline_at)
        window = self.policy.window(request, deadline_at, ticket)
        built = self.policy.build(request, window)
        body = self.policy.body(request, window)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(window.left()):
                raw = await self._client.send(built, stream=True)
                try:
                    read = _start(raw, body)
                    if read is not None:
                        body.feed(read, raw.status_code)
                    else:
                        async for chunk in raw.aiter_raw():
                            body.feed(chunk, raw.status_code)
                finally:
                    await raw.aclose()
        except (TimedOut, TimeoutError):
            raise self.policy.timed_out(request, window, sent=True) from None
        except httpx.HTTPError as exc:
            raise self.policy.transport_error(request, exc, window) from None
        self.policy.limiter.observe(
            ticket, raw.status_code, parse_retry_after(raw.headers.get("retry-after"))
        )
        self.policy.log_exchange(request, raw.status_code, started)
        return self.policy.classify(request, raw, body.content())

    def _lock(self) -> asyncio.Lock:
        if self._auth_lock is None:
            self._auth_lock = asyncio.Lock()
        return self._auth_lock

    async def _authenticate_if_needed(self, deadline_at: float) -> None:
        if self.provider.needs_authentication():
            async with self._lock():
                if self.provider.needs_authentication():
                    await self._run_auth(deadline_at)

    async def _reauthenticate(self, generation: int, deadline_at: float) -> bool:
        async with self._lock():
            if generation != self.policy.auth_generation:
                return True
            if not self.provider.forget_authentication():
                return False
            await self._run_auth(deadline_at)
            return True

    async def _run_auth(self, deadline_at: float) -> None:
        steps = _Stepper(self.policy, self.provider.authenticate())
        try:
            item = steps.first()
            while True:
                item = steps.answer(await self._send_with_retries(item, deadline_at))
        except StopIteration:
            self.policy.auth_generation += 1
