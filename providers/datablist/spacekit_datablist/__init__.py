"""Datablist workspaces for spacekit.

    import spacekit

    with spacekit.connect("datablist", api_key="...") as store:
        for space in store.list(query="acme"):
            print(space.id, space.name)

Settings: ``api_key`` (a personal API key, exchanged for short-lived access tokens
that are renewed on their own) or ``access_token`` (a token obtained elsewhere,
never renewed), ``base_url`` (default ``https://data.datablist.com``), ``auth_url``
(default ``https://account.datablist.com``) and the engine's settings. Datablist
workspaces keep a name only: a description is dropped (``writable_fields``).
``spacekit emulate datablist`` serves the strict emulator in ``_emulator``.
"""

from spacekit.plugin import RemotePlugin

from ._provider import DatablistProvider
from ._wire import parse_workspace

plugin = RemotePlugin(
    DatablistProvider,
    summary="Datablist workspaces: list, get, create and delete (privileged), rename",
    emulator="spacekit_datablist._emulator:DatablistEmulator",
)

__all__ = ["DatablistProvider", "parse_workspace", "plugin"]
