"""Waits for a rate-limit slot against the deadline, measured: each call ends within
its deadline, refused at once (``RateLimited``) when its slot would come after it.

    python bench/rate_limit_deadline.py

Against a loopback server that answers at once: ``rate_limit=0.05, deadline=2`` (the
second call's slot is 20 s away), then 20 threads and 20 tasks at ``rate_limit=2,
deadline=3``.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hostile import fixed, serving

import spacekit

TOKEN = "bench-token-0123456789"


def timed(call: object) -> tuple[float, str]:
    started = time.monotonic()
    try:
        call()  # type: ignore[operator]
        outcome = "ok"
    except spacekit.SpacekitError as error:
        outcome = type(error).__name__
    return time.monotonic() - started, outcome


def main() -> None:
    with serving(fixed(200, b'{"id": 1, "name": "a"}')) as url:
        with spacekit.connect("neuroio", token=TOKEN, base_url=url, rate_limit=0.05, deadline=2) as store:
            store.get("1")
            elapsed, outcome = timed(lambda: store.get("1"))
        print(f"rate_limit=0.05 deadline=2, second call: {outcome} in {elapsed:.2f} s")

        results: list[tuple[float, str]] = []
        with spacekit.connect("neuroio", token=TOKEN, base_url=url, rate_limit=2, deadline=3) as store:
            threads = [
                threading.Thread(target=lambda: results.append(timed(lambda: store.get("1"))))
                for _ in range(20)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        print(
            f"20 threads, rate_limit=2 deadline=3: longest {max(r[0] for r in results):.2f} s, "
            f"{dict(Counter(r[1] for r in results))}"
        )

        async def tasks() -> list[tuple[float, str]]:
            async with spacekit.connect_async(
                "neuroio", token=TOKEN, base_url=url, rate_limit=2, deadline=3
            ) as a:

                async def one() -> tuple[float, str]:
                    started = time.monotonic()
                    try:
                        await a.get("1")
                        outcome = "ok"
                    except spacekit.SpacekitError as error:
                        outcome = type(error).__name__
                    return time.monotonic() - started, outcome

                return await asyncio.gather(*(one() for _ in range(20)))

        done = asyncio.run(tasks())
        print(
            f"20 tasks, rate_limit=2 deadline=3: longest {max(r[0] for r in done):.2f} s, "
            f"{dict(Counter(r[1] for r in done))}"
        )


if __name__ == "__main__":
    main()
