"""Stores for remote providers: a ``Provider`` description run by the HTTP engine.

``RemotePlugin(MyProvider)`` is all a remote plugin registers; it checks settings
(the engine's and the provider's), and opens a ``RemoteStore`` or
``AsyncRemoteStore`` that validates input, checks capabilities, and hands each
operation to the engine.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from ._engine import AsyncEngine, SyncEngine
from ._engineconfig import ENGINE_SETTINGS, EngineConfig
from ._listing import guarded
from ._model import Space, SpaceToken, Subspace
from ._plugin import EmulatorLike, Plugin, Provider, Request, Response, Setting, option_specs
from ._store import AsyncSpaceStore, SpaceStore
from ._validate import check_base_url, check_credential


class _RemoteMixin:
    _provider: Provider
    create_options: Mapping[str, Setting]

    def _describe(self, provider: Provider) -> None:
        self.provider = provider.name
        self.capabilities = provider.capabilities
        self.writable_fields = provider.writable_fields
        self.list_options = provider.list_options
        self.create_options = option_specs(provider.create_options)
        self.location = provider.base_url

    def stored_name(self, name: str) -> str:
        return self._provider.stored_name(name)

    def caller(self) -> str | None:
        return self._provider.caller()


class RemoteStore(_RemoteMixin, SpaceStore):
    """A ``SpaceStore`` over a remote provider's API."""

    def __init__(self, provider: Provider, config: EngineConfig | None = None) -> None:
        self._describe(provider)
        self._provider = provider
        self._engine = SyncEngine(provider, config)

    def _list(self, query: str | None, options: Mapping[str, Any]) -> Iterator[Space]:
        return self._engine.iterate(guarded(self._provider.list(query, options), self.provider, query))

    def _get(self, space_id: str) -> Space:
        return self._engine.run(self._provider.get(space_id))

    def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        return self._engine.run(self._provider.create(name, description, options))

    def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        return self._engine.run(self._provider.update(space_id, changes))

    def _delete(self, space_id: str) -> None:
        self._engine.run(self._provider.delete(space_id))

    def _create_token(self, space_id: str, permanent: bool) -> SpaceToken:
        return self._engine.run(self._provider.create_token(space_id, permanent))

    def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        return self._engine.run(self._provider.create_subspace(space_id, name, description, private))

    def _get_subspace(self, space_id: str, name: str) -> Subspace:
        return self._engine.run(self._provider.get_subspace(space_id, name))

    def _request(self, call: Request) -> Response:
        return self._engine.run(self._provider.request(call))

    def _check(self) -> None:
        self._engine.run(self._provider.check())

    def _account(self) -> str | None:
        """The account the provider names for these credentials (``Provider.account``),
        authenticating first where the provider names accounts and needs it."""
        if type(self._provider).account is Provider.account:
            return None
        self._engine.authenticate()
        return self._provider.account()

    def _close(self) -> None:
        self._engine.close()

    def protected(self, space: Space) -> str | None:
        return self._provider.protected(space)


class AsyncRemoteStore(_RemoteMixin, AsyncSpaceStore):
    """An ``AsyncSpaceStore`` over a remote provider's API."""

    def __init__(self, provider: Provider, config: EngineConfig | None = None) -> None:
        self._describe(provider)
        self._provider = provider
        self._engine = AsyncEngine(provider, config)

    def _list(self, query: str | None, options: Mapping[str, Any]) -> AsyncIterator[Space]:
        return self._engine.iterate(guarded(self._provider.list(query, options), self.provider, query))

    async def _get(self, space_id: str) -> Space:
        return await self._engine.run(self._provider.get(space_id))

    async def _create(self, name: str, description: str | None, options: Mapping[str, Any]) -> Space:
        return await self._engine.run(self._provider.create(name, description, options))

    async def _update(self, space_id: str, changes: Mapping[str, Any]) -> Space:
        return await self._engine.run(self._provider.update(space_id, changes))

    async def _delete(self, space_id: str) -> None:
        await self._engine.run(self._provider.delete(space_id))

    async def _create_token(self, space_id: str, permanent: bool) -> SpaceToken:
        return await self._engine.run(self._provider.create_token(space_id, permanent))

    async def _create_subspace(self, space_id: str, name: str, description: str, private: bool) -> Subspace:
        return await self._engine.run(self._provider.create_subspace(space_id, name, description, private))

    async def _get_subspace(self, space_id: str, name: str) -> Subspace:
        return await self._engine.run(self._provider.get_subspace(space_id, name))

    async def _request(self, call: Request) -> Response:
        return await self._engine.run(self._provider.request(call))

    async def _check(self) -> None:
        await self._engine.run(self._provider.check())

    async def _close(self) -> None:
        await self._engine.close()

    def protected(self, space: Space) -> str | None:
        return self._provider.protected(space)


class RemotePlugin(Plugin):
    """The plugin object for a remote provider: ``plugin = RemotePlugin(MyProvider, ...)``.

    ``emulator`` names the provider's emulator class as ``"module:Class"``; it is
    imported only when an emulator is asked for.
    """

    def __init__(self, provider: type[Provider], *, summary: str = "", emulator: str | None = None) -> None:
        self.provider_class = provider
        self.name = provider.name
        self.summary = summary
        self.capabilities = provider.capabilities
        base = Setting("base_url", default=provider.default_base_url, help="the API root")
        self.settings = {**ENGINE_SETTINGS, "base_url": base, **provider.settings}
        self.create_options = option_specs(provider.create_options)
        self._emulator = emulator

    def check_settings(self, values: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
        """Types, then URLs, credentials and the engine's ranges; each mistake a ``ConfigError``."""
        settings = super().check_settings(values, where=where)
        insecure = bool(settings.get("allow_insecure_http"))
        for key, value in settings.items():
            label = f"{where}: {key}" if where else key
            if key.endswith("_url") and value is not None:
                settings[key] = check_base_url(value, setting=label, allow_insecure_http=insecure)
            elif self.settings[key].secret and value not in (None, ""):
                check_credential(value, setting=label)
        EngineConfig.from_settings(settings, where=where)
        return settings

    def open(self, settings: Mapping[str, Any]) -> SpaceStore:
        checked = self.check_settings(settings)
        config = EngineConfig.from_settings(checked)
        config.check_transport(sync=True, where=self.name)
        return RemoteStore(self.provider_class(checked), config)

    def open_async(self, settings: Mapping[str, Any]) -> AsyncSpaceStore:
        checked = self.check_settings(settings)
        config = EngineConfig.from_settings(checked)
        config.check_transport(sync=False, where=self.name)
        return AsyncRemoteStore(self.provider_class(checked), config)

    def emulator(self) -> EmulatorLike | None:
        if not self._emulator:
            return None
        module, _, attr = self._emulator.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        return cls()  # type: ignore[no-any-return]
