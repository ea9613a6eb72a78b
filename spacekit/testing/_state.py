"""An emulator's state file (``spacekit emulate --state FILE``): its state across restarts.

The file is JSON: ``{"format": "spacekit-emulator-state", "version": 1, "provider":
..., "state": <the emulator's snapshot>}``. A file that is not one (not JSON, another
format, a newer version) or holds another provider's state is refused with a
``ConfigError`` and never written over. Writes go to a temporary file in the same
folder, flushed to disk, then renamed over the old one: a crash leaves the old
state or the new one, never half of either.

``StateKeeper`` writes in a thread of its own, so that no request waits for the
disk: each change wakes it, a burst of changes is one write (of the state after
all of them), and ``flush`` waits until the file holds every change made so far.
(Written in each request instead, a state of 1,000 spaces cost 10 to 20 ms a write.)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._input import read_regular

FORMAT = "spacekit-emulator-state"
VERSION = 1
MAX_SIZE = 512 * 1024 * 1024  # larger is not a state this kit wrote


class StateFile:
    """The state file of one provider's emulator at ``path``."""

    def __init__(self, path: Path, provider: str) -> None:
        self.path = path
        self.provider = provider
        self._warned = False

    def read(self) -> dict[str, Any] | None:
        """The state the file holds; None if there is no file yet."""
        if not os.path.lexists(self.path):
            if not self.path.parent.is_dir():
                raise ConfigError(f"cannot keep the state in {self.path}: the folder does not exist")
            return None
        # a regular file only (a FIFO or a device is refused before reading), of a bounded size
        data = read_regular(self.path, MAX_SIZE, f"the state file {self.path}")
        refused = f"{self.path} is not a spacekit emulator state file"
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            raise ConfigError(f"{refused} (not JSON); it was left as it is") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ConfigError(f'{refused} (no "format": {json.dumps(FORMAT)}); it was left as it is')
        if document.get("version") != VERSION:
            raise ConfigError(
                f"{self.path} is a state file of version {document.get('version')!r}; this spacekit "
                f"reads version {VERSION}; it was left as it is"
            )
        provider = document.get("provider")
        if provider != self.provider:
            raise ConfigError(
                f"{self.path} holds the state of a {provider} emulator, not {self.provider}; "
                "it was left as it is: name another file"
            )
        state = document.get("state")
        if not isinstance(state, dict):
            raise ConfigError(f'{refused} (no "state" object); it was left as it is')
        return state

    def write(self, state: dict[str, Any]) -> None:
        """Replace the file's content with ``state``, atomically; ``ConfigError`` if it cannot."""
        document = {"format": FORMAT, "version": VERSION, "provider": self.provider, "state": state}
        text = json.dumps(document, ensure_ascii=False) + "\n"
        try:
            handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        except OSError as exc:
            raise ConfigError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise ConfigError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from None

    def write_or_warn(self, state: dict[str, Any]) -> None:
        """``write``, saying on stderr (once) when it fails: a served emulator keeps answering."""
        try:
            self.write(state)
        except ConfigError as exc:
            if not self._warned:
                self._warned = True
                print(f"Warning: {exc}; the state is kept in memory only", file=sys.stderr, flush=True)


class StateKeeper:
    """Keeps ``state_file`` up to date with ``snapshot()``, written in the background."""

    def __init__(self, state_file: StateFile, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.state_file = state_file
        self._snapshot = snapshot
        self._condition = threading.Condition()
        self._changes = 0  # changes announced
        self._written = 0  # changes the file holds
        self._thread = threading.Thread(target=self._run, name="spacekit-state", daemon=True)
        self._thread.start()

    def changed(self) -> None:
        """The state changed: write it soon."""
        with self._condition:
            self._changes += 1
            self._condition.notify_all()

    def flush(self, timeout: float = 60) -> None:
        """Wait until the file holds every change announced so far (or a write failed)."""
        with self._condition:
            target = self._changes
            self._condition.wait_for(lambda: self._written >= target, timeout=timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._changes > self._written)
                changes = self._changes
            self.state_file.write_or_warn(self._snapshot())  # the state after at least those changes
            with self._condition:
                self._written = changes
                self._condition.notify_all()
