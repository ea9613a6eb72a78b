"""The command line in a child process, under a memory ceiling and a time limit.

For what an in-process ``CliRunner`` cannot show: a closed, full or broken stdout,
and input that could be read forever (``/dev/zero``) or blow memory up. The child's
address space is limited with ``resource.setrlimit(RLIMIT_AS)``, so a regression
fails the test (``MemoryError``, exit 70) instead of taking the machine down, and a
child still running after ``timeout`` seconds fails it too.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping
from typing import IO, Any

CEILING_MB = 512


def run_cli(
    *args: str,
    stdin: IO[Any] | int | None = subprocess.DEVNULL,
    stdout: IO[Any] | int | None = subprocess.PIPE,
    env: Mapping[str, str] | None = None,
    ceiling_mb: int = CEILING_MB,
    timeout: float = 120,
    shell_prefix: str | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """``spacekit ARGS`` in a child process; ``shell_prefix`` runs it through ``sh -c``
    after that text (``exec >&-;`` closes stdout, say)."""
    limit = ceiling_mb * 2**20

    def limited() -> None:  # pragma: no cover (runs in the child)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "spacekit", *args]
    if shell_prefix is not None:
        command = ["sh", "-c", shell_prefix + ' exec "$@"', "sh", *command]
    environment = {**os.environ, "MALLOC_ARENA_MAX": "2", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        command,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=environment,
        preexec_fn=limited,
        timeout=timeout,
        check=False,
    )
