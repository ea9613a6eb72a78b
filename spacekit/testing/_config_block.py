"""The config file section that ``spacekit emulate`` prints for a served emulator.

The store is named after the provider and the port (``neuroio-emulator-8001``), so
that the blocks of several emulators can sit in one file. Secret settings are
written as ``env:`` references to variables named after the store
(``NEUROIO_EMULATOR_8001_TOKEN``), with the ``export`` lines that set them: the file
then holds no secret (and draws no warning about its permissions). Each line that
the provider's plugin documents carries that help as a comment.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs


@attrs.frozen
class ConfigBlock:
    """A ``[stores.NAME]`` section and the environment its references need."""

    #: the store's name in the config file
    store: str
    #: the TOML section
    toml: str
    #: variable name -> value, for the ``env:`` references of the section
    environment: Mapping[str, str]

    @property
    def exports(self) -> list[str]:
        """POSIX shell lines setting ``environment`` (values quoted)."""
        return [f"export {name}={shlex.quote(value)}" for name, value in self.environment.items()]


def config_block(
    provider: str, settings: Mapping[str, Any], base_url: str, *, store: str | None = None
) -> ConfigBlock:
    """The block for a store with ``settings`` on an emulator of ``provider`` at ``base_url``."""
    from .._registry import load

    schema = load(provider).settings
    if store is None:
        port = urlsplit(base_url).port
        store = f"{provider}-emulator" + (f"-{port}" if port else "")
    prefix = re.sub(r"[^A-Za-z0-9]", "_", store).upper()
    lines = [f"[stores.{store}]", f"provider = {json.dumps(provider)}"]
    environment: dict[str, str] = {}
    for key, value in settings.items():
        setting = schema.get(key)
        if value is None or not isinstance(value, (str, int, float)) or setting is None:
            continue  # a transport or another value only a program can give
        if setting.secret:
            variable = f"{prefix}_{key.upper()}"
            environment[variable] = str(value)
            value = f"env:{variable}"
        line = f"{key} = {json.dumps(value)}"
        lines.append(f"{line}  # {setting.help}" if setting.help else line)
    return ConfigBlock(store, "\n".join(lines), environment)
