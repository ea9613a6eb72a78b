"""Peak memory while refusing compression bombs: an answer whose few kilobytes
inflate to far more than ``max_response_bytes`` (1 MB, and the default 32 MiB), one
gzip layer and two.

    python bench/compression_bomb.py

Each case runs in a child process (its peak RSS is its own), against a loopback
server that sends the bomb with its ``Content-Encoding``; sync and async.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile import compressed, encoded, serving

import spacekit

TOKEN = "bench-token-0123456789"
CASES = {
    "gzip 200 MB": (200 * 2**20, ["gzip"], 1_000_000),
    "gzip, gzip 1 GiB": (2**30, ["gzip", "gzip"], 1_000_000),
    "gzip, gzip 1 GiB, the default cap (32 MiB)": (2**30, ["gzip", "gzip"], None),
}


def child(case: str, mode: str) -> None:
    size, layers, cap = CASES[case]
    bomb = compressed(size, layers)
    settings: dict[str, object] = dict(token=TOKEN, retries=0)
    if cap:
        settings["max_response_bytes"] = cap
    with serving(encoded(bomb, ", ".join(layers))) as url:
        started = time.monotonic()
        outcome = "a result"
        try:
            if mode == "sync":
                with spacekit.connect("neuroio", base_url=url, **settings) as store:
                    store.get("1")
            else:

                async def run() -> None:
                    async with spacekit.connect_async("neuroio", base_url=url, **settings) as store:
                        await store.get("1")

                asyncio.run(run())
        except spacekit.SpacekitError as error:
            outcome = type(error).__name__
        except MemoryError:
            outcome = "MemoryError"
        elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{case} ({len(bomb)} bytes sent), {mode}: {outcome} in {elapsed:.2f} s, peak RSS {peak:.0f} MiB")


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3])
        return
    for case in CASES:
        for mode in ("sync", "async"):
            with contextlib.suppress(subprocess.CalledProcessError):
                subprocess.run([sys.executable, __file__, "child", case, mode], check=True)


if __name__ == "__main__":
    main()
