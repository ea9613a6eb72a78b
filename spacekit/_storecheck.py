"""Checking every configured store at once: what ``spacekit stores --check`` runs.

Each store is resolved and opened in turn (configuration is read in one thread, so
that its warnings can be collected), then every ``store.check()`` runs at the same
time, one thread each: the whole run takes about as long as the slowest store.
Each store ends in one state:

- ``ok``: reachable, and its credentials were taken;
- ``refused``: the provider refused the credentials (``AuthenticationError``,
  ``PermissionDenied``);
- ``unreachable``: the provider could not be reached or answered with a failure
  (any other ``ProviderError``);
- ``misconfigured``: the store could not be opened or used as configured
  (``ConfigError``, ``ValidationError``, ``Unsupported``, a provider not installed).

Reasons never carry the stores' secrets.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
import warnings
from collections.abc import Mapping, Sequence

import attrs

from . import _exitcodes
from ._connect import prepare
from ._engine import refusal_is_final
from ._errors import AuthenticationError, PermissionDenied, ProviderError, SpacekitError
from ._redact import redact
from ._store import SpaceStore

OK, REFUSED, UNREACHABLE, MISCONFIGURED, BROKEN = "ok", "refused", "unreachable", "misconfigured", "error"

#: the exit code of a run, by the worst state met, in this order of precedence
EXIT_CODES: dict[str, int] = {
    REFUSED: _exitcodes.DENIED,
    UNREACHABLE: _exitcodes.PROVIDER,
    MISCONFIGURED: _exitcodes.USAGE,
    BROKEN: _exitcodes.INTERNAL,
}


@attrs.frozen
class StoreCheck:
    """How one configured store answered its check."""

    name: str
    provider: str
    state: str
    reason: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


def exit_code(checks: Sequence[StoreCheck]) -> int:
    """0 when every store is ok; else the code of the first state of ``EXIT_CODES`` met."""
    states = {check.state for check in checks}
    return next((code for state, code in EXIT_CODES.items() if state in states), _exitcodes.OK)


def state_of(error: BaseException) -> str:
    if isinstance(error, (AuthenticationError, PermissionDenied)):
        return REFUSED
    if isinstance(error, ProviderError):
        return UNREACHABLE
    if isinstance(error, SpacekitError):
        return MISCONFIGURED
    return BROKEN


def check_stores(
    names: Sequence[str], providers: Mapping[str, str] | None = None
) -> tuple[list[StoreCheck], list[str]]:
    """Check the stores ``names`` concurrently; the results in the same order, and the
    configuration's warnings (literal secrets in the file, say). ``providers`` names
    each store's provider for stores that cannot even be resolved."""
    secrets: list[str] = []
    opened: dict[str, tuple[str, SpaceStore]] = {}
    results: dict[str, StoreCheck] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in names:
            provider = (providers or {}).get(name) or "?"
            try:
                opening = prepare(name, {})
                provider = opening.provider
                secrets += opening.secrets
                opened[name] = (provider, opening.open())
            except Exception as exc:  # one broken store must not hide the others
                results[name] = StoreCheck(name, provider, state_of(exc), _reason(exc))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(16, len(opened)))) as pool:
            futures = {name: pool.submit(_check, name, *pair) for name, pair in opened.items()}
            for name, future in futures.items():
                results[name] = future.result()
    finally:
        for _, store in opened.values():
            with contextlib.suppress(Exception):  # closing must not hide the results
                store.close()
    checks = [_redacted(results[name], secrets) for name in names]
    notes = list(dict.fromkeys(redact(str(w.message), secrets) for w in caught))
    return checks, notes


def _check(name: str, provider: str, store: SpaceStore) -> StoreCheck:
    started = time.perf_counter()
    try:
        with refusal_is_final():  # a closed port answers the same at once and after retries
            store.check()
    except Exception as exc:
        return StoreCheck(name, provider, state_of(exc), _reason(exc), _elapsed(started))
    return StoreCheck(name, provider, OK, None, _elapsed(started))


def _elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _reason(error: BaseException) -> str:
    text = str(error) if isinstance(error, SpacekitError) else f"unexpected {type(error).__name__}: {error}"
    return " ".join(text.split())  # one line per store


def _redacted(check: StoreCheck, secrets: list[str]) -> StoreCheck:
    if check.reason is None:
        return check
    return attrs.evolve(check, reason=redact(check.reason, secrets))
