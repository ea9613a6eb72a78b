"""From what a caller passes as source or target (a store, or a name) to an open store.

A name is opened with ``spacekit.connect`` and closed when the run ends; a store the
caller opened stays open. Only sync stores are taken: the engine runs their calls
in worker threads (see ``_run``).

``canonical_location`` tells when two locations are one store however they are
spelled (a URL's case, default port, loopback name, path; a file by any path): the
run lock, the same-store check and the journal's pair compare it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import posixpath
import re
import socket
from collections.abc import Iterator
from typing import Final
from urllib.parse import urlsplit

from .._connect import connect
from .._errors import ValidationError
from .._manifest import manifest_of
from .._store import AsyncSpaceStore, SpaceStore
from ._report import Identity

StoreLike = SpaceStore | str | os.PathLike[str]
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LOOPBACK: Final = "loopback"
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_NUMERIC_HOST: Final = re.compile(r"[0-9a-fx.]+")  # IPv4 as inet_aton reads it: 127.1, 0x7f.0.0.1


def identity(store: SpaceStore, name: str | None = None) -> Identity:
    """How journals and reports name a store: never a secret. A manifest is named by
    its own identity (its ``[manifest] name``, else its file name), not by its path, so
    that the same manifest checked out anywhere is the same source."""
    manifest = manifest_of(store)
    if manifest is not None:
        return Identity(store.provider, manifest.identity, None)
    return Identity(store.provider, store.location, name)


@contextlib.contextmanager
def opened(value: object, role: str) -> Iterator[tuple[SpaceStore, Identity]]:
    """The store for ``value`` (a store, a store's name, or a manifest's path) and its
    identity; a store opened here is closed on exit."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, SpaceStore):
        yield value, identity(value)
        return
    if isinstance(value, AsyncSpaceStore):
        raise ValidationError(
            f"the {role} is an AsyncSpaceStore; migrations take a SpaceStore (spacekit.connect) or a name"
        )
    if not isinstance(value, str):
        raise ValidationError(
            f"the {role} must be a SpaceStore, a store's name or a manifest's path, not {type(value).__name__}"
        )
    with connect(value) as store:
        yield store, identity(store, value)


def canonical_location(location: str) -> str:
    """One form for every spelling of a store's location: a URL's canonical form
    (``canonical_url``); for a path, the file itself (device and inode, whatever path,
    symlink or hard link reaches it), or its resolved path while it does not exist."""
    if urlsplit(location).scheme.lower() in _DEFAULT_PORTS:
        return canonical_url(location)
    if not os.path.isabs(location):
        return location
    try:
        info = os.stat(location)
    except OSError:
        return "path " + os.path.realpath(location)
    return f"file {info.st_dev}:{info.st_ino}"  # every path, symlink or hard link to it


def canonical_url(url: str) -> str:
    """``url`` with its scheme and host in lower case, its default port dropped, every
    loopback host as one, and its path normalized (dot segments, repeated and trailing
    slashes, percent-encoded unreserved characters)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return url  # check_base_url refuses such a URL before any store is opened
    shown_port = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{_host(parts.hostname or '')}{shown_port}{_path(parts.path)}"


def _host(host: str) -> str:
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return _LOOPBACK
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        if not _NUMERIC_HOST.fullmatch(host):
            try:
                return host.encode("idna").decode("ascii")
            except UnicodeError:
                return host
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # the unspecified address (0.0.0.0, ::) reaches this machine, as a loopback does
    return _LOOPBACK if address.is_loopback or address.is_unspecified else str(address)


def _path(path: str) -> str:
    path = re.sub(r"%([0-9A-Fa-f]{2})", _unescaped, path)
    path = posixpath.normpath("/" + re.sub("/+", "/", path))
    return "" if path == "/" else path.rstrip("/")


def _unescaped(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()
