"""The command line's exit codes, and the one mapping from errors to them.

0   success
1   not everything was done (some items failed, or a deletion was not confirmed)
2   usage or configuration: a bad command line, ConfigError, ValidationError, Unsupported
3   not found
4   authentication or permission refused
5   any other provider failure (unavailable, rate limited, conflict, unreadable answer)
70  an unexpected internal error (a bug)
74  the output could not be written (stdout closed, or a full disk)
130 interrupted (Ctrl-C)
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import AuthenticationError, NotFound, PermissionDenied, ProviderError, SpacekitError

OK, PARTIAL, USAGE, NOT_FOUND, DENIED, PROVIDER, INTERNAL, INTERRUPTED = 0, 1, 2, 3, 4, 5, 70, 130
OUTPUT = 74  # sysexits' EX_IOERR

_BY_ERROR: Sequence[tuple[type[SpacekitError], int]] = (
    (NotFound, NOT_FOUND),
    (AuthenticationError, DENIED),
    (PermissionDenied, DENIED),
    (ProviderError, PROVIDER),
    (SpacekitError, USAGE),  # ConfigError, ValidationError, Unsupported
)


def exit_code(error: BaseException) -> int:
    """The exit code for an error."""
    return next((code for cls, code in _BY_ERROR if isinstance(error, cls)), INTERNAL)
