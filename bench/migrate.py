"""Migration benchmark: prints figures and ratios, asserts nothing about time.

1. 1,000 spaces from the NeuroIO emulator to the Datablist emulator, both served on
   loopback with 20 ms latency on every request, concurrency 16. Printed: the wall
   time, the requests made, the bound L x (P + W / C) (P: requests read in sequence
   before or beside the writes, i.e. list pages and the token exchange; W: requests
   on the write path; C: the concurrency; L: the latency) and the ratio of the two
   (target <= 1.3); then the same migration by a hand-written sequential httpx
   script, and the ratio of the two wall times.
2. The target limited to 50 requests per second (429 with Retry-After beyond it):
   500 spaces, the failed items and the effective rate (target requests answered
   without 429 per second of wall time) against the limit (target >= 85%).

The emulators run in a child process, so that the client under test does not share
an interpreter (and its GIL) with the servers.

    .venv/bin/python bench/migrate.py [--spaces 1000] [--limited-spaces 500]
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import httpx

import spacekit
from spacekit._migrate import migrate

LATENCY = 0.020
CONCURRENCY = 16


def _serve(conn: Connection, spaces: int, latency: float, rate_limit: float | None) -> None:
    """The child process: both emulators on loopback until the parent asks for the figures."""
    from spacekit._registry import load

    source, target = load("neuroio").emulator(), load("datablist").emulator()
    assert source is not None and target is not None
    for i in range(spaces - len(source.spaces)):
        source.add_space(f"space-{i:04d}")
    statuses: collections.Counter[int] = collections.Counter()
    dispatch = target.dispatch

    def counted(request: httpx.Request) -> httpx.Response:
        response = dispatch(request)
        statuses[response.status_code] += 1
        return response

    target.dispatch = counted  # type: ignore[method-assign]
    source.faults.latency = target.faults.latency = latency
    target.faults.rate_limit = rate_limit
    with source.serve() as source_url, target.serve() as target_url:
        conn.send(
            {"source": source.connect_settings(source_url), "target": target.connect_settings(target_url)}
        )
        conn.recv()
        names = collections.Counter(w["name"] for w in target.workspaces.values())
        conn.send(
            {
                "source": [(r.method, r.path) for r in source.requests],
                "target": [(r.method, r.path) for r in target.requests],
                "statuses": dict(statuses),
                "names": len(names),
                "duplicates": sum(n - 1 for n in names.values()),
            }
        )


@contextmanager
def emulators(
    spaces: int, rate_limit: float | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Start the child; yield (settings, figures) where figures fill in when the block ends."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(child, spaces, LATENCY, rate_limit)
    )
    process.start()
    settings, figures = parent.recv(), {}
    try:
        yield settings, figures
    finally:
        parent.send("stop")
        figures.update(parent.recv())
        process.join()


def run_engine(spaces: int, rate_limit: float | None = None) -> tuple[float, Any, dict[str, Any]]:
    with emulators(spaces, rate_limit) as (settings, figures):
        started = time.perf_counter()
        with (
            spacekit.connect("neuroio", **settings["source"]) as src,
            spacekit.connect("datablist", **settings["target"]) as dst,
        ):
            report = migrate(src, dst, concurrency=CONCURRENCY)
        wall = time.perf_counter() - started
    return wall, report, figures


def run_sequential(spaces: int) -> tuple[float, int]:
    """The same migration as a user would write it by hand: one request at a time."""
    with emulators(spaces) as (settings, figures):
        source, target = settings["source"], settings["target"]
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            names, offset = [], 0
            while True:
                page = client.get(
                    f"{source['base_url']}/v1/spaces/",
                    params={"limit": 100, "offset": offset},
                    headers={"Authorization": f"Token {source['token']}"},
                ).json()
                names += [item["name"] for item in page["results"]]
                offset += len(page["results"])
                if not page["next"]:
                    break
            accept = {"Accept": "application/json"}
            exchange = {"apiKey": target["api_key"]}
            token = client.post(f"{target['auth_url']}/token", json=exchange, headers=accept).json()
            headers = {"Authorization": f"Bearer {token['access_token']}", **accept}
            existing = {
                w["name"] for w in client.get(f"{target['base_url']}/", headers=headers).json()["data"]
            }
            for name in names:
                if name not in existing:
                    body = {"name": name, "@type": "Workspace"}
                    client.post(f"{target['base_url']}/", json=body, headers=headers).raise_for_status()
        wall = time.perf_counter() - started
    return wall, len(figures["source"]) + len(figures["target"])


def _is_write_path(method: str, path: str) -> bool:
    """Datablist: a create is POST / then GET /{id} (the read-back); lists are GET /."""
    return (method == "POST" and path == "/") or (method == "GET" and path not in ("/", "/token"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=1000)
    parser.add_argument("--limited-spaces", type=int, default=500)
    parser.add_argument("--rate-limit", type=float, default=50.0)
    args = parser.parse_args()

    print(
        f"1. {args.spaces} spaces, NeuroIO -> Datablist on loopback, latency {LATENCY * 1000:.0f} ms, C={CONCURRENCY}"
    )
    wall, report, figures = run_engine(args.spaces)
    writes = sum(1 for m, p in figures["target"] if _is_write_path(m, p))
    sequential_reads = len(figures["source"]) + len(figures["target"]) - writes
    bound = LATENCY * (sequential_reads + writes / CONCURRENCY)
    print(
        f"   items: {report.counts}; target spaces: {figures['names']}, duplicates: {figures['duplicates']}"
    )
    print(f"   requests: {len(figures['source'])} to the source, {len(figures['target'])} to the target")
    print(f"   P = {sequential_reads} (list pages, token exchange), W = {writes} (create + read-back)")
    print(
        f"   wall {wall:.2f} s; bound L x (P + W/C) = {bound:.2f} s; ratio {wall / bound:.2f} (target <= 1.3)"
    )
    hand_wall, hand_requests = run_sequential(args.spaces)
    print(f"   hand-written sequential httpx script: {hand_wall:.2f} s, {hand_requests} requests")
    print(f"   speed-up over it: {hand_wall / wall:.1f}x")

    print(
        f"\n2. {args.limited_spaces} spaces, target limited to {args.rate_limit:.0f} requests/s (429 + Retry-After)"
    )
    wall, report, figures = run_engine(args.limited_spaces, args.rate_limit)
    statuses = figures["statuses"]
    answered = sum(n for status, n in statuses.items() if status != 429)
    rate = answered / wall
    print(
        f"   items: {report.counts}; failed items: {len(report.failed)}; duplicates: {figures['duplicates']}"
    )
    print(f"   target answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"   wall {wall:.2f} s; effective rate {rate:.1f} requests/s = {rate / args.rate_limit:.0%} of the limit"
    )


if __name__ == "__main__":
    main()
