"""Configuration: from a store's name (or nothing) to a provider and its settings.

``resolve`` is what ``connect`` calls. It reads the TOML file (``$SPACEKIT_CONFIG``,
else ``config.toml`` in the user config directory) and applies one precedence::

    keyword arguments  >  the environment  >  the config file  >  the embedded local store

The name is a configured store, else an installed provider. With no name,
``$SPACEKIT_STORE`` names the store, else the file's ``default``, else it is the
embedded ``local`` store. The environment gives settings as
``SPACEKIT_<NAME>_<SETTING>`` where NAME is the store's (or provider's) name in
upper case with other characters turned into ``_``: ``SPACEKIT_WORK_TOKEN`` for the
store ``work``, ``SPACEKIT_NEUROIO_TOKEN`` for ``connect("neuroio")``.

String values in the file may be references, resolved only for the store in use:
``env:NAME``, ``file:PATH`` (``~`` expanded, relative to the file's folder, contents
stripped) and ``keyring:SERVICE/USER`` (needs the ``keyring`` package). A ``file://``
URL is not a reference: it is taken as it is written (and is no http(s) URL). Every
mistake is a ``ConfigError`` naming the file, the store and the key, and never a
secret's value; nor the value of any setting read from a reference or the
environment, whatever its key: such a value is ``sourced`` and messages name where
it came from instead. A literal secret in a file that others may read draws a
``UserWarning``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import platformdirs

from . import _registry
from ._errors import ConfigError
from ._input import read_regular
from ._plugin import Plugin, Setting, check_settings
from ._settings import sourced
from ._suggest import did_you_mean

CONFIG_VARIABLE = "SPACEKIT_CONFIG"
STORE_VARIABLE = "SPACEKIT_STORE"
EMBEDDED = "local"
TOP_LEVEL_KEYS = frozenset({"default", "stores"})
REFERENCE_KINDS = ("env:", "file:", "keyring:")
MAX_CONFIG_FILE = 1024 * 1024
MAX_REFERENCED_FILE = 64 * 1024
"""The largest file a ``file:`` reference reads: a credential, not a data set."""


@attrs.frozen(repr=False)
class Resolved:
    """Which provider to open, with which settings; ``where`` labels their origin."""

    provider: str
    settings: Mapping[str, Any]
    where: str = ""
    #: the configured store's name, or the provider's when none is configured: the
    #: NAME of the ``SPACEKIT_<NAME>_<SETTING>`` variables
    name: str = ""
    #: the config file, if the store is one of its ``[stores.NAME]``
    config: Path | None = None

    def how_to_set(self, key: str) -> str:
        """Where a user gives the setting ``key``: the environment, the config file."""
        variable = env_prefix(self.name or self.provider) + key.upper()
        if self.config is not None:
            return f"set the key {key!r} in {self.where}, or the environment variable {variable}"
        return (
            f"set the environment variable {variable}, or configure a store with the key {key!r} "
            f"in {config_path()[0]}"
        )

    def __repr__(self) -> str:  # settings hold secrets: show only their keys
        keys = ", ".join(sorted(self.settings))
        return f"Resolved(provider={self.provider!r}, settings=<{keys}>, where={self.where!r})"


@attrs.frozen
class Config:
    """The config file as read (empty when there is none): its path, default and stores."""

    path: Path
    default: str | None = None
    stores: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def label(self, store: str) -> str:
        """How messages name a store: ``/home/me/.config/spacekit/config.toml [stores.work]``."""
        key = store if re.fullmatch(r"[A-Za-z0-9_-]+", store) else f'"{store}"'
        return f"{self.path} [stores.{key}]"


def config_path() -> tuple[Path, bool]:
    """The config file's path, and whether it was named explicitly (``$SPACEKIT_CONFIG``)."""
    explicit = os.environ.get(CONFIG_VARIABLE)
    if explicit:
        return Path(explicit).expanduser(), True
    return platformdirs.user_config_path("spacekit") / "config.toml", False


def load() -> Config:
    """Read and check the config file; no file (unless named explicitly) is an empty config."""
    path, explicit = config_path()
    if not explicit and not path.exists():
        return Config(path)
    content = read_regular(path, MAX_CONFIG_FILE, f"{path}: the config file")
    import tomllib  # here: with no config file, nothing reads TOML

    try:
        data = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"{path}: the config file nests tables or arrays too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return _parse(path, data)


def _parse(path: Path, data: Mapping[str, Any]) -> Config:
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        near = did_you_mean(unknown[0], TOP_LEVEL_KEYS)
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r}{near} (allowed: default, stores)")
    default = data.get("default")
    if default is not None and not isinstance(default, str):
        raise ConfigError(f"{path}: key 'default' must be a store's name (a string)")
    stores = data.get("stores", {})
    if not isinstance(stores, Mapping):
        raise ConfigError(f"{path}: key 'stores' must be a table: [stores.NAME]")
    config = Config(path, default, stores)
    for name, store in stores.items():
        _check_store(config.label(name), store)
    return config


def _check_store(where: str, store: object) -> None:
    if not isinstance(store, Mapping):
        raise ConfigError(f"{where}: a store must be a table with a 'provider' key")
    if not isinstance(store.get("provider"), str):
        raise ConfigError(f"{where}: key 'provider' is missing or not a string")
    for key, value in store.items():
        if not isinstance(value, (str, int, float)):  # bool is an int
            raise ConfigError(
                f"{where}: key {key!r} must be a string, number or boolean, not {type(value).__name__}"
            )


def default_store(config: Config) -> str | None:
    """The store used when none is named: ``$SPACEKIT_STORE``, else the file's default."""
    return os.environ.get(STORE_VARIABLE) or config.default


def resolve(name: str | None, settings: Mapping[str, Any]) -> Resolved:
    """The provider and settings for ``connect(name, **settings)``."""
    config = load()
    origin = ""
    if name is None:
        name = default_store(config)
        origin = (
            f" (from ${STORE_VARIABLE})" if os.environ.get(STORE_VARIABLE) else f" (default in {config.path})"
        )
        if name is None:
            return _provider(EMBEDDED, settings)
    if name in config.stores:
        return _store(config, name, settings)
    if name in _registry.BUILT_IN or name in _registry.names():
        return _provider(name, settings)
    raise _unknown(config, name, origin)


def _unknown(config: Config, name: str, origin: str) -> ConfigError:
    stores = ", ".join(sorted(config.stores)) or "none"
    installed = ", ".join(_registry.names()) or "none"
    hint = f"; install it with: {_registry.INSTALL_HINTS[name]}" if name in _registry.INSTALL_HINTS else ""
    near = did_you_mean(name, [*config.stores, *_registry.names(), *_registry.INSTALL_HINTS])
    return ConfigError(
        f"unknown store {name!r}{origin}{near}: configured stores in {config.path}: {stores}; "
        f"installed providers: {installed}{hint}"
    )


def _provider(name: str, settings: Mapping[str, Any]) -> Resolved:
    plugin = _registry.load(name)
    where = f"{name} (keywords, {env_prefix(name)}* variables)"
    return Resolved(name, {**_environment(name, plugin), **settings}, where, name)


def _store(config: Config, name: str, settings: Mapping[str, Any]) -> Resolved:
    where = config.label(name)
    store = dict(config.stores[name])
    provider = store.pop("provider")
    try:
        plugin = _registry.load(provider)
    except ConfigError as exc:
        raise ConfigError(f"{where}: key 'provider': {exc}") from None
    schema = _configurable(plugin)
    _check_keys(plugin, store, where)
    _warn_literal_secrets(config, plugin, store, where)
    values = {key: _dereference(value, key, where, config.path.parent) for key, value in store.items()}
    checked = check_settings({k: schema[k] for k in values}, values, provider=provider, where=where)
    settings = {**checked, **_environment(name, plugin), **settings}
    return Resolved(provider, settings, where, name, config.path)


def _configurable(plugin: Plugin) -> dict[str, Setting]:
    """The plugin's settings a user may give (not, say, an httpx transport)."""
    return {k: s for k, s in plugin.settings.items() if s.configurable}


def _check_keys(plugin: Plugin, values: Mapping[str, Any], where: str) -> None:
    schema = _configurable(plugin)
    unknown = sorted(set(values) - set(schema))
    if unknown:
        known = ", ".join(sorted(schema))
        near = did_you_mean(unknown[0], schema)
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}{near} for provider {plugin.name!r} (known: {known})"
        )


def env_prefix(name: str) -> str:
    """The prefix of a store's environment settings: ``SPACEKIT_WORK_`` for ``work``."""
    return "SPACEKIT_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"


def _environment(name: str, plugin: Plugin) -> dict[str, Any]:
    """Settings from ``SPACEKIT_<NAME>_<SETTING>`` variables, each checked under its own name."""
    result: dict[str, Any] = {}
    for key, setting in _configurable(plugin).items():
        variable = env_prefix(name) + key.upper()
        if variable in os.environ:
            value = {key: sourced(os.environ[variable], f"the value of ${variable}")}
            result |= check_settings({key: setting}, value, provider=plugin.name, where=variable)
    return result


def _is_reference(value: object) -> bool:
    """Whether a value is a reference: ``file://`` starts a URL, not a file reference."""
    return isinstance(value, str) and value.startswith(REFERENCE_KINDS) and not value.startswith("file://")


def _dereference(value: Any, key: str, where: str, folder: Path) -> Any:
    if not _is_reference(value):
        return value
    kind, _, target = value.partition(":")
    label = f"{where}: key {key!r}"
    if kind == "env":
        return sourced(_from_env(target, label), f"the value of ${target}")
    if kind == "file":
        path = folder / Path(target).expanduser()
        return sourced(_from_file(path, label), f"the contents of the file {path}")
    return sourced(_from_keyring(target, label), f"the keyring's password for {target}")


def _from_env(variable: str, label: str) -> str:
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{label} refers to the environment variable {variable}, which is not set")
    return value


def _from_file(path: Path, label: str) -> str:
    """A regular file's text, at most ``MAX_REFERENCED_FILE`` bytes; never a device, FIFO or folder."""
    data = read_regular(path, MAX_REFERENCED_FILE, f"{label} refers to the file {path}, which")
    try:
        value = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{label} refers to the file {path}, which is not UTF-8 text") from None
    if not value:
        raise ConfigError(f"{label} refers to the file {path}, which is empty")
    return value


def _from_keyring(target: str, label: str) -> str:
    service, _, user = target.rpartition("/")
    if not service or not user:
        raise ConfigError(f"{label}: a keyring reference is keyring:SERVICE/USER, got keyring:{target}")
    try:
        import keyring
    except ImportError:
        raise ConfigError(
            f"{label} is a keyring reference, but keyring is not installed: pip install keyring"
        ) from None
    try:
        value = keyring.get_password(service, user)
    except Exception as exc:  # any backend failure; its message names no secret
        raise ConfigError(f"{label}: the keyring lookup failed ({type(exc).__name__}: {exc})") from None
    if not value:
        raise ConfigError(f"{label}: the keyring has no password for service {service!r}, user {user!r}")
    return str(value)


def _warn_literal_secrets(config: Config, plugin: Plugin, store: Mapping[str, Any], where: str) -> None:
    if os.name == "nt":  # no group/other permission bits to read
        return
    mode = config.path.stat().st_mode
    if not mode & 0o077:
        return
    for key, value in store.items():
        if plugin.settings[key].secret and not _is_reference(value):
            warnings.warn(
                f"{where}: key {key!r} is a literal secret in a file others can read "
                f"(mode {mode & 0o777:o}); use an env:, file: or keyring: reference, "
                f"or chmod 600 {config.path}",
                UserWarning,
                stacklevel=5,  # the caller of connect()
            )
