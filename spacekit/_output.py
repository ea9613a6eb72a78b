"""How the command line prints: tables for people, lines for pipes, progress on a terminal.

- ``table``: on a terminal, a rich table sized to the window. When stdout is not a
  terminal (a pipe, a file), one record per line, tab-separated, under a header
  line, never wrapped or cut, so that ``grep``, ``cut -f`` and ``sort -t$'\\t'``
  work. In those lines a tab, a newline, a carriage return and a backslash inside a
  value are written ``\\t``, ``\\n``, ``\\r`` and ``\\\\``; an empty cell is an empty
  field. A table's title goes to stderr, so stdout holds only the records.
- ``progress``: a bar on stderr while it is a terminal (count, rate and, when the
  total is known, the time left); nothing otherwise.
- Colour only on a terminal, never with ``NO_COLOR`` set.
- Output that cannot be delivered is never taken for success: ``stdout_closed``
  says the process has no stdout at all (``>&-``), ``write_failure`` recognises a
  write that failed (a full disk, ``/dev/full``), and ``finish`` raises
  ``BrokenPipeError`` when stdout's reader left before reading everything (``|
  head -c1``), which a pipe's buffer would otherwise hide.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # rich is imported only to draw on a terminal
    from rich.console import Console


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (tables) rather than a pipe or a file (lines)."""
    return _isatty(sys.stdout)


def stdin_is_terminal() -> bool:
    """Whether stdin is a terminal: someone there to answer a question."""
    return _isatty(sys.stdin)


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (progress bars are drawn there)."""
    return _isatty(sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def stdout_closed() -> bool:
    """Whether the process has no stdout (started with ``>&-``): Python then sets
    ``sys.stdout`` to None, and every write would be dropped without a word."""
    return sys.stdout is None


#: errors of a write that did not happen (a full disk, a closed descriptor, a device failing)
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF, errno.EROFS})


def write_failure(error: BaseException) -> str | None:
    """The message for an error of writing the output, or None for any other error."""
    if isinstance(error, OSError) and not isinstance(error, BrokenPipeError) and error.errno in _WRITE_ERRORS:
        reason = error.strerror or type(error).__name__
        return f"the output could not be written ({reason}); what the command did before stands"
    return None


def finish() -> None:
    """Flush stdout at the end of a command; ``BrokenPipeError`` if its reader left
    with output unread (the pipe took it, but no one will read it)."""
    stream = sys.stdout
    if stream is None:
        return
    stream.flush()
    if _reader_left_early(stream):
        raise BrokenPipeError(errno.EPIPE, "the reader of standard output left before reading it all")


def _reader_left_early(stream: Any) -> bool:
    """Whether ``stream`` is a pipe whose reader has gone while bytes are still in it."""
    try:
        import fcntl
        import select
        import termios

        descriptor = stream.fileno()
        if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
            return False
        poll = select.poll()
        poll.register(descriptor, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poll.poll(0)):
            return False  # the reader is still there
        unread = bytearray(4)
        fcntl.ioctl(descriptor, termios.FIONREAD, unread, True)
        return int.from_bytes(unread, sys.byteorder) > 0
    except (ImportError, AttributeError, ValueError, OSError):  # not POSIX, or no real descriptor
        return False


def silence_stdout() -> None:
    """Point stdout at the null device, once its reader has gone (a broken pipe), so
    that nothing left in its buffer fails again when Python exits."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's stream)
        pass


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr): colour on a terminal unless ``NO_COLOR``."""
    from rich.console import Console

    return Console(
        stderr=stderr,
        color_system=None if os.environ.get("NO_COLOR") else "auto",
        highlight=False,
        force_terminal=(stderr_is_terminal() if stderr else stdout_is_terminal()) or None,
    )


def print_json(data: Any) -> None:
    """Indented JSON on stdout, non-ASCII characters kept."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, title: str | None = None) -> None:
    """Print records: a table on a terminal, tab-separated lines otherwise.

    Off a terminal the rows are written as they come, so a long listing streams;
    the header comes with the first row (or at the end of an empty listing), so a
    listing that fails before its first row prints nothing on stdout. ``None`` is
    shown as an empty cell.
    """
    if not stdout_is_terminal():
        lines = ("\t".join(_field(cell) for cell in row) for row in rows)
        first = next(lines, None)  # a listing that fails fails here, before the header
        if title:
            click.echo(f"{title}:", err=True)
        click.echo("\t".join(columns))
        for line in itertools.chain([first] if first is not None else [], lines):
            click.echo(line)
        return
    from rich.table import Table
    from rich.text import Text

    shown = Table(*columns, title=title, title_justify="left")
    shown.columns[0].overflow = "fold"
    for row in rows:
        shown.add_row(*(Text(_text(cell)) for cell in row))
    console().print(shown)


def _text(cell: object) -> str:
    return "" if cell is None else str(cell)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(cell: object) -> str:
    """One cell as a tab-separated field: separators and backslashes escaped."""
    return _text(cell).translate(_ESCAPES)


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr while it is a terminal; yields ``advance()``.

    With a ``total`` it shows done/total, the bar and the time left (ETA); without
    one, the count so far and the time elapsed. It disappears when the block ends.
    """
    if not stderr_is_terminal():
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[ProgressColumn] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    else:
        columns += [TextColumn("{task.completed} so far"), TimeElapsedColumn()]
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)
