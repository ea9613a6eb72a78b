"""NeuroIO spaces for spacekit.

Registered in the entry-point group ``spacekit.providers`` as ``neuroio``::

    store = spacekit.connect("neuroio", token="...")

The provider (``_provider``) describes NeuroIO's IAM API without doing I/O; the
emulator (``_emulator``) is a strict fake of the same API, imported only when a
test or ``spacekit emulate neuroio`` asks for it.
"""

from spacekit.plugin import RemotePlugin

from ._provider import NeuroIOProvider, parse_space, parse_token

plugin = RemotePlugin(
    NeuroIOProvider,
    summary="NeuroIO spaces (IAM API): list, search, get, create, update, delete, space tokens",
    emulator="spacekit_neuroio._emulator:NeuroIOEmulator",
)

__all__ = ["NeuroIOProvider", "parse_space", "parse_token", "plugin"]
