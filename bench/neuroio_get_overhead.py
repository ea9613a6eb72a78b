"""Per-call overhead of ``store.get()`` against a hand-written httpx GET + json parse.

Both talk to the NeuroIO emulator served on loopback, each over one kept-alive
connection; calls are interleaved so that drift hits both alike. Prints the
medians and their ratio (target: at most 1.3).

    .venv/bin/python bench/neuroio_get_overhead.py [calls]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import httpx
from spacekit_neuroio._emulator import NeuroIOEmulator

import spacekit


def main(calls: int = 1000) -> None:
    emulator = NeuroIOEmulator()
    with emulator.serve() as base_url:
        headers = {"Authorization": f"Token {emulator.token}"}
        with (
            spacekit.connect("neuroio", **emulator.connect_settings(base_url)) as store,
            httpx.Client(base_url=base_url, headers=headers) as client,
        ):
            spacekit_times, httpx_times = [], []
            for _ in range(50):  # warm up both connections
                store.get("1")
                json.loads(client.get("/v1/spaces/1/").content)
            for _ in range(calls):
                started = time.perf_counter()
                store.get("1")
                spacekit_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                response = client.get("/v1/spaces/1/")
                response.raise_for_status()
                json.loads(response.content)
                httpx_times.append(time.perf_counter() - started)
    ours, theirs = statistics.median(spacekit_times), statistics.median(httpx_times)
    print(f"calls each:            {calls}")
    print(f"store.get() median:    {ours * 1e6:8.1f} us")
    print(f"httpx GET+json median: {theirs * 1e6:8.1f} us")
    print(f"ratio:                 {ours / theirs:8.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
