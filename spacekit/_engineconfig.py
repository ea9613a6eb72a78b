"""The HTTP engine's settings: checked once, when a store is opened, into ``EngineConfig``.

``EngineConfig`` is the one place the engine's defaults are written: the settings
schema that ``connect`` and the config file accept (``ENGINE_SETTINGS``) is derived
from it. ``EngineConfig.from_settings`` checks the ranges (a timeout is positive and
finite, retries a non-negative whole number, ...) and says which store and which
setting is wrong; a secret's value, or a value read from a reference or the
environment, is never part of the message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from ._errors import ConfigError
from ._settings import Setting

Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@attrs.frozen
class EngineConfig:
    """What the engine of one store runs with; build it with ``from_settings``."""

    base_url: str
    #: seconds for one attempt, from sending the request to the last byte of the answer
    timeout: float = 10.0
    #: attempts after the first one, for failures that are safe to repeat
    retries: int = 4
    #: seconds for a whole call: every attempt, wait and body read together
    deadline: float = 60.0
    #: the first retry's wait in seconds, doubled each time (with jitter, at most 10 s)
    backoff: float = 0.5
    #: requests per second on the client side; None for no limit
    rate_limit: float | None = None
    #: the largest answer read, in bytes; a larger one is a ProtocolError
    max_response_bytes: int = 32 * 2**20
    allow_insecure_http: bool = False
    #: an httpx transport (an emulator's, say); None for the network
    transport: Transport | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], *, where: str = "") -> EngineConfig:
        """The engine's part of checked settings, each value in its range, else ``ConfigError``."""
        values = {
            field.name: settings[field.name]
            for field in attrs.fields(cls)
            if settings.get(field.name) is not None
        }
        prefix = f"{where}: " if where else ""
        for name, check, wanted in _RANGES:
            value = values.get(name)
            if value is not None and not check(value):
                raise ConfigError(f"{prefix}setting {name!r} must be {wanted}, got {value!r}")
        if "base_url" not in values:
            raise ConfigError(f"{prefix}setting 'base_url' is missing")
        transport = values.get("transport")
        if transport is not None and not (_sends(transport, sync=True) or _sends(transport, sync=False)):
            raise ConfigError(
                f"{prefix}setting 'transport' must be an httpx transport, got {type(transport).__name__}"
            )
        return cls(**values)

    def check_transport(self, *, sync: bool, where: str = "") -> None:
        """A ``ConfigError`` unless the transport (if any) suits a sync or an async store."""
        if self.transport is None or _sends(self.transport, sync=sync):
            return
        prefix = f"{where}: " if where else ""
        kind, other, opener = (
            ("sync", "an async", "connect_async") if sync else ("async", "a sync", "connect")
        )
        article = "a" if sync else "an"
        raise ConfigError(
            f"{prefix}setting 'transport' is {other} httpx transport ({type(self.transport).__name__}), "
            f"which {article} {kind} store cannot use: open the store with spacekit.{opener}, or give "
            f"it {article} {kind} transport"
        )


def _sends(transport: Any, *, sync: bool) -> bool:
    """Whether ``transport`` is an httpx transport of that kind (duck-typed, as httpx is)."""
    return callable(getattr(transport, "handle_request" if sync else "handle_async_request", None))


MAX_SECONDS = 1e6
"""The longest timeout, deadline or backoff (about 11 days): longer waits overflow
the clocks and sockets they reach."""


def _seconds(value: Any) -> bool:
    return _number(value) and math.isfinite(value) and 0 < value <= MAX_SECONDS


def _pace(value: Any) -> bool:
    return _number(value) and math.isfinite(value) and value >= 1 / MAX_SECONDS


def _non_negative(value: Any) -> bool:
    return _number(value) and math.isfinite(value) and 0 <= value <= MAX_SECONDS


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_RANGES = (
    ("timeout", _seconds, f"a positive number of seconds, at most {MAX_SECONDS:g}"),
    ("deadline", _seconds, f"a positive number of seconds, at most {MAX_SECONDS:g}"),
    ("rate_limit", _pace, f"a finite number of requests per second, at least {1 / MAX_SECONDS:g}"),
    ("retries", _count, "a whole number, 0 or more"),
    ("backoff", _non_negative, f"a number of seconds from 0 to {MAX_SECONDS:g}"),
    ("max_response_bytes", _size, "a positive whole number of bytes"),
)

_KINDS: Mapping[str, type] = {
    "timeout": float,
    "retries": int,
    "deadline": float,
    "backoff": float,
    "rate_limit": float,
    "max_response_bytes": int,
    "allow_insecure_http": bool,
}

_HELP: Mapping[str, str] = {
    "base_url": "the API root",
    "timeout": "seconds for one attempt, from sending to the last byte of the answer",
    "retries": "retries after the first attempt",
    "deadline": "seconds for a whole call: attempts, waits and body reads together",
    "backoff": "first retry wait, doubled each time",
    "rate_limit": "requests per second, client side",
    "max_response_bytes": "the largest answer read, in bytes",
    "allow_insecure_http": "allow plain http to a host other than loopback",
}


def _setting(field: attrs.Attribute[Any]) -> Setting:
    default = None if field.default is attrs.NOTHING else field.default
    if field.name == "transport":
        return Setting("transport", object, None, configurable=False)
    return Setting(field.name, _KINDS.get(field.name, str), default, help=_HELP.get(field.name, ""))


ENGINE_SETTINGS: Mapping[str, Setting] = {field.name: _setting(field) for field in attrs.fields(EngineConfig)}
"""The settings every remote store accepts, with ``EngineConfig``'s defaults."""
