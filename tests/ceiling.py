"""Running a test under a memory ceiling, so that a regression fails instead of
taking the machine down: a test marked ``memory_ceiling`` runs in a forked child
whose address space is limited (``resource.setrlimit(RLIMIT_AS)``) to what the test
process already holds plus ``megabytes``; the child's failure (a ``MemoryError``
included) is the test's failure, and a child killed by a signal fails it too.

    pytestmark = pytest.mark.memory_ceiling          # a whole module, 512 MB over
    @pytest.mark.memory_ceiling(megabytes=256)       # one test

Only where ``os.fork`` exists (Linux, macOS); elsewhere the test runs as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import signal
import traceback
from collections.abc import Callable
from typing import Any

import pytest

HEADROOM_MB = 512
_M_ARENA_MAX = -8  # mallopt: glibc reserves 64 MB of address space per arena otherwise


def _address_space() -> int:
    """The bytes of address space this process maps now (Linux), else 0."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _in_child(call: Callable[[], Any], ceiling: int, writer: int) -> None:
    try:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
        outcome: tuple[str, str] = ("passed", "")
        try:
            call()
        except pytest.skip.Exception as exc:
            outcome = ("skipped", str(exc))
        except BaseException:
            outcome = ("failed", traceback.format_exc())
        with os.fdopen(writer, "wb") as pipe:
            pickle.dump(outcome, pipe)
    finally:
        os._exit(0)


def run_under_ceiling(call: Callable[[], Any], megabytes: int = HEADROOM_MB) -> None:
    """Run ``call`` in a forked child limited to this process's size plus ``megabytes``."""
    base = _address_space()
    if not hasattr(os, "fork") or not base:
        call()
        return
    ceiling = base + megabytes * 2**20
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's coverage is not collected)
        os.close(reader)
        _in_child(call, ceiling, writer)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        pytest.fail(f"the test died under a memory ceiling of {megabytes} MB over the base ({name})")
    try:
        state, detail = pickle.loads(data)
    except Exception:
        pytest.fail(f"the test ended under a memory ceiling of {megabytes} MB without a result")
    if state == "skipped":
        pytest.skip(detail)
    if state == "failed":
        pytest.fail(f"under a memory ceiling of {megabytes} MB over the base:\n{detail}", pytrace=False)
