"""spacekit-instabase: Instabase Spaces as a spacekit store.

Registered in the entry-point group ``spacekit.providers`` as ``instabase``::

    store = spacekit.connect("instabase", token="...")                    # www.instabase.com
    store = spacekit.connect("instabase", token="...", base_url="https://ib.example.com")

Spaces can be listed (``admin_only=True`` for those you administer), read one at a
time, and created as Organization Spaces (``handle=`` sets the space's handle, the organization's name in URLs).
Subspaces (repos) are created and read with ``create_subspace`` and ``get_subspace``.
Instabase has no API to update or delete a space, nor per-space tokens.
"""

from spacekit.plugin import RemotePlugin

from ._payload import parse_space
from ._provider import InstabaseProvider, check_org_name, derive_org_name

plugin = RemotePlugin(
    InstabaseProvider,
    summary="Instabase Spaces: list, get, create organization spaces and their subspaces",
    emulator="spacekit_instabase._emulator:InstabaseEmulator",
)

__all__ = ["InstabaseProvider", "check_org_name", "derive_org_name", "parse_space", "plugin"]
