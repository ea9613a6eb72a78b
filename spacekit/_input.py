"""Reading what a user points spacekit at: regular files only, and never without a bound.

Every file spacekit reads because a user named it (the config file, a ``file:``
reference, a manifest, an import file) is opened here. ``open_regular`` opens it
without waiting (a FIFO must not block the open) and refuses anything that is not a
regular file (a folder, a device such as ``/dev/zero``, a FIFO, a socket, a symlink
to one of them) and a file larger than its limit, from its size, before reading a
byte. ``read_regular`` reads such a file whole. ``lines`` reads a stream line by
line (standard input, which may be a pipe or a device) and holds at most one line
of ``max_line()`` bytes: a longer line is given as ``None`` and skipped as it is
read, and the stream ends in an error once ``max_file()`` bytes are read.

The limits: 1 MiB a line and 64 MiB a file, unless ``SPACEKIT_MAX_LINE_BYTES`` and
``SPACEKIT_MAX_FILE_BYTES`` say otherwise (enough for an export of tens of
thousands of spaces).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import IO

from ._errors import ConfigError, SpacekitError, ValidationError

LINE_VARIABLE = "SPACEKIT_MAX_LINE_BYTES"
FILE_VARIABLE = "SPACEKIT_MAX_FILE_BYTES"
MAX_LINE = 2**20
MAX_FILE = 64 * 2**20
_HINT = f" (${FILE_VARIABLE} sets the limit)"


def max_line() -> int:
    """The longest line read from a file a user names: ``$SPACEKIT_MAX_LINE_BYTES``, else 1 MiB."""
    return _limit(LINE_VARIABLE, MAX_LINE)


def max_file() -> int:
    """The largest file read because a user named it: ``$SPACEKIT_MAX_FILE_BYTES``, else 64 MiB."""
    return _limit(FILE_VARIABLE, MAX_FILE)


def _limit(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and int(text) > 0):
        raise ConfigError(f"${variable} must be a positive whole number of bytes (its value is not shown)")
    return int(text)


def open_regular(
    path: str | os.PathLike[str], limit: int | None, which: str, error: type[SpacekitError] = ConfigError
) -> IO[bytes]:
    """``path`` opened for reading, once it is known to be a regular file of at most
    ``limit`` bytes (None: ``max_file()``); anything else is ``error`` starting with
    ``which`` ("the manifest x")."""
    limit, hint = (max_file(), _HINT) if limit is None else (limit, "")
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"{which} cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"{which} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{which} is not a regular file (a device, a FIFO or a socket)")
        if info.st_size > limit:
            raise error(f"{which} is larger than {limit} bytes{hint}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_regular(
    path: str | os.PathLike[str], limit: int | None, which: str, error: type[SpacekitError] = ConfigError
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see ``open_regular``);
    a file that grew past the limit while it was read is refused too."""
    with open_regular(path, limit, which, error) as file:
        most = max_file() if limit is None else limit
        try:
            size = os.fstat(file.fileno()).st_size  # read() of a limit allocates all of it
            data = file.read(min(size, most) + 1)
            if len(data) > size:  # it grew while read
                data += file.read(most + 1 - len(data))
        except OSError as exc:
            raise error(f"{which} cannot be read ({exc.strerror})") from None
    if len(data) > most:
        raise error(f"{which} grew past {most} bytes while it was read")
    return data


def lines(file: IO[bytes], which: str) -> Iterator[bytes | None]:
    """The lines of ``file`` as bytes, at most ``max_line()`` each (``None`` for a
    longer one, skipped without ever being held whole); a ``ValidationError`` once
    more than ``max_file()`` bytes are read, so that no stream is read forever."""
    line_limit, total_limit = max_line(), max_file()
    total = 0

    def read(size: int) -> bytes:
        nonlocal total
        try:
            chunk = file.readline(size)
        except OSError as exc:
            raise ValidationError(f"{which} cannot be read ({exc.strerror})") from None
        total += len(chunk)
        if total > total_limit:
            raise ValidationError(f"{which} is larger than {total_limit} bytes{_HINT}")
        return chunk

    while line := read(line_limit + 1):
        if len(line) > line_limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = read(line_limit)
            yield None
        else:
            yield line
