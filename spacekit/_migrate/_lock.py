"""One run (a migrate or a sync) into a target at a time, on one machine.

Two runs writing into one target at once would each plan against a target that the
other is filling: every space would be created twice. ``held`` takes an exclusive
``flock`` on a file named after the target and writes into it which run holds it
(pid, journal, start time). A second run is refused at once with a ``ConfigError``
naming the holder. The kernel drops the lock when the holder exits, even when it
is killed, so a stale file never blocks anyone.

The file's name is a hash of the target's canonical form
(``_stores.canonical_location``), so that every spelling of one target meets on one
lock. The account joins the key: the one
the provider names (``Provider.account``: Datablist's ``account_id``), so that two
credentials of one account wait for each other, else a hash of the credentials
(never the secret itself).

Where the file lives (``lock_folders``) depends on no per-session variable, so that
a cron job and a login shell of one user meet: ``$SPACEKIT_LOCK_DIR`` when set,
else the user's cache folder, found from the home folder alone (not
``XDG_RUNTIME_DIR``, nor ``XDG_CACHE_HOME``, which a login shell may set and a cron
job does not); where that cannot be written, ``/tmp/spacekit-<uid>``. A folder is
used only if it is a folder (not a symlink), owned by this user and writable by no
one else (in the temporary folder: no access at all for others, mode 0700); a
folder failing that is refused with a ``ConfigError`` naming ``SPACEKIT_LOCK_DIR``,
never used. The folder is opened once and checked through its descriptor, and the
lock file is opened in it with ``O_NOFOLLOW``: a symlink planted in its place is
refused, and the file it points to is left untouched.

Runs on different machines writing into one target are not protected: nothing on
this machine can see them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

import platformdirs

from .._errors import ConfigError
from .._store import SpaceStore
from ._plan import account, wiring
from ._report import Identity
from ._stores import canonical_location

LOCK_DIR_VARIABLE: Final = "SPACEKIT_LOCK_DIR"
#: errors that mean "this folder cannot be written here": the next folder is tried
_UNWRITABLE: Final = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOTDIR,
        errno.ENOENT,
        errno.EEXIST,
        errno.ENOSPC,
        errno.EDQUOT,
    }
)
_OPEN_FILE: Final = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_OPEN_FOLDER: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


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
                f"another run (a migrate or a sync) into {who} is running on this machine ({_holder(fd)}); "
                "two runs into one target would duplicate its spaces: wait for it to finish"
            ) from None
        run = {"pid": os.getpid(), "journal": journal, "started": datetime.now(UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(run).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def lock_key(target: SpaceStore) -> str:
    """The name of the target's lock: one per target and account, however spelled."""
    named = _named_account(target)
    if named is None:
        who = "credentials " + hashlib.sha256("\0".join(account(target)).encode()).hexdigest()
    else:
        who = "account " + hashlib.sha256("\0".join((named, *wiring(target))).encode()).hexdigest()
    where = f"{target.provider}\0{canonical_location(target.location)}\0{who}"
    return hashlib.sha256(where.encode()).hexdigest()[:24]


def lock_folders() -> list[str]:
    """Where the lock files may live, in order: ``$SPACEKIT_LOCK_DIR`` alone when set;
    else the user's cache folder, then ``/tmp/spacekit-<uid>`` if it cannot be written."""
    chosen = os.environ.get(LOCK_DIR_VARIABLE)
    if chosen:
        return [os.path.abspath(os.path.expanduser(chosen))]
    return [os.path.join(_cache_folder(), "locks"), _temp_folder()]


def _named_account(target: SpaceStore) -> str | None:
    """The account the provider names for the target's credentials, if it names one."""
    ask = getattr(target, "_account", None)
    return ask() if callable(ask) else None


def _cache_folder() -> str:
    """The user's cache folder, from the home folder alone (see the module's docstring)."""
    if sys.platform == "darwin":
        return platformdirs.user_cache_dir("spacekit")  # ~/Library/Caches/spacekit
    return os.path.join(os.path.expanduser("~"), ".cache", "spacekit")


def _temp_folder() -> str:
    return os.path.join(_temp_root(), f"spacekit-{os.geteuid()}")


def _temp_root() -> str:
    """The system's temporary folder: /tmp, not $TMPDIR, which a session may set."""
    return "/tmp"  # the folder made in it is created 0700 and checked


def _open(name: str) -> int:
    """The lock file's descriptor, in the first folder that can hold it."""
    failures = []
    for folder in lock_folders():
        try:
            return _open_in(folder, name)
        except OSError as exc:
            if exc.errno not in _UNWRITABLE:
                raise _refused(folder, exc.strerror or str(exc)) from None
            failures.append(f"{folder}: {exc.strerror}")
    raise ConfigError(
        f"cannot take the migration lock ({'; '.join(failures)}); "
        f"set {LOCK_DIR_VARIABLE} to a folder of yours that no one else can write"
    )


def _open_in(folder: str, name: str) -> int:
    folder_fd = _folder(folder)
    try:
        try:
            fd = os.open(name, _OPEN_FILE, 0o600, dir_fd=folder_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refused(folder, f"{name} in it is a symlink") from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise _refused(folder, f"{name} in it is not a regular file of yours")
        return fd
    finally:
        os.close(folder_fd)


def _folder(folder: str) -> int:
    """A descriptor of ``folder``, created if missing; refused if it is not safe."""
    private = folder == _temp_folder()  # in the shared temporary folder
    if not private:
        os.makedirs(os.path.dirname(folder), exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    try:
        fd = os.open(folder, _OPEN_FOLDER)
    except OSError as exc:
        if os.path.islink(folder):
            raise _refused(folder, "it is a symlink") from None
        if exc.errno == errno.ENOTDIR:
            raise _refused(folder, "it is not a folder") from None
        raise
    info = os.fstat(fd)
    others = 0o077 if private else 0o022
    why = None
    if info.st_uid != os.geteuid():
        why = f"it belongs to another user (uid {info.st_uid})"
    elif info.st_mode & others:
        why = f"others may {'use' if private else 'write in'} it (mode {stat.S_IMODE(info.st_mode):o})"
    if why is not None:
        os.close(fd)
        raise _refused(folder, why)
    return fd


def _refused(folder: str, why: str) -> ConfigError:
    return ConfigError(
        f"the lock folder {folder} is not safe to use: {why}; it was not used. Remove it, "
        f"or set {LOCK_DIR_VARIABLE} to a folder of yours that no one else can write"
    )


def _holder(fd: int) -> str:
    try:
        run = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        run = {}
    if not isinstance(run, dict) or not run:
        return "a run that is starting"
    journal = run.get("journal") or "no journal"
    return f"pid {run.get('pid', '?')}, journal {journal}, started {run.get('started', '?')}"
