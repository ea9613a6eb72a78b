"""Run a test's body in a child process under a memory ceiling (``RLIMIT_AS``).

A test that feeds a hostile answer calls ``capped(function)``: the function (a
module-level function of a test module, no arguments) runs in a fresh Python whose
address space is capped, so a regression that lets memory grow fails the test
instead of taking the machine down. Its assertion errors come back as the child's
output in this test's failure.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: the child's address space: the interpreter, httpx, a few dozen threads' stacks
CEILING_MB = 2048


def capped(function: Callable[[], object], *, megabytes: int = CEILING_MB) -> None:
    module, name = function.__module__, function.__qualname__
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({megabytes} << 20, {megabytes} << 20))\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        f"import {module}\n"
        f"{module}.{name}()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{name} failed under a {megabytes} MB ceiling:\n{done.stdout}{done.stderr}"
