"""One migration into a target at a time, on one machine.

Two runs writing into one target at once would each plan against a target that the
other is filling: every space would be created twice. ``held`` takes an exclusive
``flock`` on a file named after the target (its provider, its location, and a hash
of its credentials, standing for the account; never the secret itself) in the
user's runtime or cache folder, and writes into it which run holds it (pid,
journal, start time). A second run is refused at once with a ``ConfigError``
naming the holder. The kernel drops the lock when the holder exits, even when it
is killed, so a stale file never blocks anyone.

Runs on different machines writing into one target are not protected: nothing on
this machine can see them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

import platformdirs

from .._errors import ConfigError
from .._store import SpaceStore
from ._plan import account
from ._report import Identity


def lock_folders() -> list[str]:
    """Where the lock files may live, in order: the runtime folder where there is one,
    else the cache; the system's temporary folder if neither can be written."""
    first = (
        platformdirs.user_runtime_dir("spacekit")
        if os.environ.get("XDG_RUNTIME_DIR")
        else platformdirs.user_cache_dir("spacekit")
    )
    spare = os.path.join(tempfile.gettempdir(), f"spacekit-{os.getuid()}")
    return [os.path.join(first, "migrations"), os.path.join(spare, "migrations")]


def lock_key(target: SpaceStore) -> str:
    who = hashlib.sha256("\0".join(account(target)).encode()).hexdigest()
    where = f"{target.provider}\0{target.location}\0{who}"
    return hashlib.sha256(where.encode()).hexdigest()[:24]


@contextlib.contextmanager
def held(target: SpaceStore, who: Identity, journal: str | None) -> Iterator[None]:
    """Hold the target's migration lock for the block; refuse if another run holds it."""
    if target.location == ":memory:":  # an in-process store: no other process can reach it
        yield
        return
    fd = _open(f"{lock_key(target)}.lock")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"another migration into {who} is running on this machine ({_holder(fd)}); "
                "two runs into one target would duplicate its spaces: wait for it to finish"
            ) from None
        run = {"pid": os.getpid(), "journal": journal, "started": datetime.now(UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(run).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _open(name: str) -> int:
    """The lock file's descriptor, in the first folder that can hold it."""
    failures = []
    for folder in lock_folders():
        path = os.path.join(folder, name)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            failures.append(f"{path}: {exc.strerror}")
    raise ConfigError(f"cannot take the migration lock ({'; '.join(failures)})")


def _holder(fd: int) -> str:
    try:
        run = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        run = {}
    if not run:
        return "a run that is starting"
    journal = run.get("journal") or "no journal"
    return f"pid {run.get('pid', '?')}, journal {journal}, started {run.get('started', '?')}"
