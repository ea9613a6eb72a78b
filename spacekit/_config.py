"""Configuration (minimal placeholder, replaced by the full TOML implementation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Resolved:
    provider: str
    settings: Mapping[str, Any]
    where: str = ""


def resolve(name: str | None, settings: Mapping[str, Any]) -> Resolved:
    return Resolved(name or "local", dict(settings))
