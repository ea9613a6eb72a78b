"""Settings and options: how a plugin declares what it accepts, and the checks on values.

``Setting`` declares one setting (from keywords, the environment or the config
file) or one keyword option; ``check_settings`` is the one place settings are
coerced and checked, ``check_option_values`` the one place options are.

A value read from somewhere else (an ``env:``, ``file:`` or ``keyring:`` reference,
a ``SPACEKIT_*`` variable) is marked with ``sourced``: whatever key it landed in, it
could be a secret, so its ``repr`` names where it came from instead of showing it,
and every message about a bad setting (which shows values by ``repr``) follows.
The mark survives coercion to a number; ``str()`` and arithmetic see the value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ._errors import ConfigError, ValidationError
from ._suggest import did_you_mean


class _Sourced:
    """The mark of a value read from a reference or the environment (see ``sourced``)."""

    origin: str

    def __repr__(self) -> str:
        return f"<{self.origin}, not shown>"

    def __reduce__(self) -> tuple[Any, ...]:  # a copy keeps the value and its mark
        return (sourced, (self._value(), self.origin))

    def _value(self) -> Any:
        raise NotImplementedError


class _SourcedStr(_Sourced, str):
    def _value(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return str.__str__(self)


class _SourcedInt(_Sourced, int):
    def _value(self) -> int:
        return int(self)

    def __str__(self) -> str:
        return int.__repr__(self)


class _SourcedFloat(_Sourced, float):
    def _value(self) -> float:
        return float(self)

    def __str__(self) -> str:
        return float.__repr__(self)


_SOURCED: Mapping[type, type] = {str: _SourcedStr, int: _SourcedInt, float: _SourcedFloat}


def sourced(value: Any, origin: str) -> Any:
    """``value`` marked as read from ``origin`` ("the value of $TOKEN"):
    its ``repr``, and so any message about it, names the origin and not the value.
    Other kinds (a boolean) are returned unmarked: no message shows them."""
    kind = _SOURCED.get(type(value))
    if kind is None:
        return value
    marked = kind(value)
    marked.origin = origin
    return marked


def origin_of(value: object) -> str | None:
    """Where a ``sourced`` value came from; None for a value given as it is."""
    return value.origin if isinstance(value, _Sourced) else None


@attrs.frozen
class Setting:
    """One setting a plugin accepts, from keywords, the environment or the config file."""

    name: str
    kind: type = str
    default: Any = None
    required: bool = False
    secret: bool = False
    help: str = ""
    #: False for values only a program can give (an httpx transport, say)
    configurable: bool = True


def option_specs(declared: Mapping[str, Setting] | Iterable[str]) -> dict[str, Setting]:
    """A declaration of keyword options as ``{name: Setting}``; bare names accept any value."""
    if isinstance(declared, Mapping):
        return dict(declared)
    return {name: Setting(name, object) for name in declared}


def check_option_values(options: Mapping[str, Any], specs: Mapping[str, Setting], what: str) -> None:
    """Refuse, with a ``ValidationError``, options ``specs`` does not declare or of the wrong kind.

    ``None`` means "not given". The library takes values as they are (no strings
    read as numbers): the CLI turns its text into the declared kind first.
    """
    unknown = sorted(set(options) - set(specs))
    if unknown:
        known = ", ".join(sorted(specs)) or "none"
        raise ValidationError(f"unknown option(s) for {what}: {', '.join(unknown)} (known: {known})")
    for key, value in options.items():
        kind = specs[key].kind
        if value is None or kind is object:
            continue
        wrong = not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            wrong = False
        if wrong:
            expected = _KIND_NAMES.get(kind, "a " + kind.__name__)
            raise ValidationError(
                f"{what} option {key!r} must be {expected}, not {type(value).__name__}",
                fields={key: f"not {expected}"},
            )


class MissingSetting(ConfigError):
    """A required setting (``key``) was given nowhere; ``connect`` adds where to give it."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def check_settings(
    schema: Mapping[str, Setting], values: Mapping[str, Any], *, provider: str, where: str = ""
) -> dict[str, Any]:
    """Check ``values`` against ``schema``: the one place settings are validated."""
    prefix = f"{where}: " if where else ""
    unknown = sorted(set(values) - set(schema))
    if unknown:
        configurable = sorted(k for k, s in schema.items() if s.configurable)
        near = did_you_mean(unknown[0], configurable)
        raise ConfigError(
            f"{prefix}unknown setting {unknown[0]!r}{near} for provider {provider!r} "
            f"(known: {', '.join(configurable)})"
        )
    result: dict[str, Any] = {}
    for key, setting in schema.items():
        value = values.get(key, setting.default)
        if value is None:
            if setting.required:
                raise MissingSetting(f"{prefix}provider {provider!r} needs the setting {key!r}", key)
            result[key] = None
            continue
        result[key] = _coerce(setting, value, f"{prefix}setting {key!r}")
    return result


def _coerce(setting: Setting, value: Any, label: str) -> Any:
    origin = origin_of(value)
    coerced = _coerce_value(setting, value, label)
    return coerced if origin is None else sourced(coerced, origin)


def _coerce_value(setting: Setting, value: Any, label: str) -> Any:
    kind = setting.kind
    if kind is object or (isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))):
        return value
    if kind is str and isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if kind is bool and text.lower() in (
                "1",
                "true",
                "yes",
                "on",
                "0",
                "false",
                "no",
                "off",
            ):
                return text.lower() in ("1", "true", "yes", "on")
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
        except ValueError:
            pass
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    shown = "<hidden>" if setting.secret else repr(value)
    raise ConfigError(f"{label} must be {_KIND_NAMES.get(kind, 'a ' + kind.__name__)}, got {shown}")


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
