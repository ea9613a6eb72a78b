"""Migration benchmark: prints figures and ratios, asserts nothing about time.

1. For each pair (NeuroIO -> Datablist, NeuroIO -> Instabase, Datablist -> NeuroIO):
   1,000 spaces, both emulators served on loopback with 20 ms latency on every
   request, concurrency 16. Printed, from the emulators' own request logs: the
   requests per migrated space into the target (target: 1.00-1.01), the requests
   by route, the connections the target accepted, spaces per second, and the wall
   time against the physical limit L x (S + N/C): L the latency, S the requests
   that must come one after another (listings, the token exchange), N the spaces,
   C the concurrency (target: within 1.3x for NeuroIO -> Datablist). For that pair,
   the same work by a hand-written httpx script (16 threads on one pooled client)
   shows what the machine itself allows: the client is CPU-bound on httpx.
2. NeuroIO -> Datablist with the target limited to 50 requests per second (429 and
   Retry-After beyond it, one-second windows), 1,000 spaces at the default
   settings (``spacekit.migrate``'s default concurrency, no client-side limit):
   spaces per second (target: >= 45) and the requests answered 429 (target: < 2 %).

The emulators run in a child process, so that the client under test does not share
an interpreter (and its GIL) with the servers. Only public names are used:
``spacekit.migrate``, and each plugin's emulator through its entry point.

    .venv/bin/python bench/migrate.py [--spaces 1000] [--limited-spaces 1000] [--pairs neuroio:datablist]
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import httpx

import spacekit

LATENCY = 0.020
CONCURRENCY = 16
PAIRS = ("neuroio:datablist", "neuroio:instabase", "datablist:neuroio")

#: the route of a create, per provider: every other request is a listing or auth
WRITES = {
    "datablist": lambda method, path: method == "POST" and path == "/",
    "neuroio": lambda method, path: method == "POST" and path == "/v1/spaces/",
    "instabase": lambda method, path: method == "POST" and path.startswith("/api/v1/organizations/"),
}


def emulator(name: str) -> Any:
    """A fresh emulator of a provider, through the plugin's public entry point."""
    plugin = importlib.metadata.entry_points(group="spacekit.providers")[name].load()
    made = plugin.emulator()
    assert made is not None, f"{name} ships no emulator"
    return made


def seed(made: Any, name: str, count: int) -> None:
    """Put ``count`` spaces straight into an emulator's state (no requests)."""
    for i in range(count):
        if name == "neuroio":
            made.add_space(f"space-{i:05d}")
        elif name == "datablist":
            made.add_workspace(f"space-{i:05d}")
        else:
            raise SystemExit(f"no seeding for {name}")


def route(name: str, method: str, path: str) -> str:
    if name == "datablist" and method in ("GET", "PATCH", "DELETE") and path not in ("/", "/token"):
        path = "/{id}"
    if name == "instabase" and path.startswith("/api/v1/organizations/"):
        path = "/api/v1/organizations/{name}"
    if name == "neuroio" and path.startswith("/v1/spaces/") and path != "/v1/spaces/":
        path = "/v1/spaces/{id}/..."
    return f"{method} {path}"


def _serve(conn: Connection, pair: tuple[str, str], spaces: int, rate_limit: float | None) -> None:
    """The child process: both emulators on loopback until the parent asks for the figures."""
    source_name, target_name = pair
    source, target = emulator(source_name), emulator(target_name)
    existing = len(list(getattr(source, "spaces", getattr(source, "workspaces", {}))))
    seed(source, source_name, spaces - existing)
    statuses: collections.Counter[int] = collections.Counter()
    dispatch = target.dispatch

    def counted(request: httpx.Request) -> httpx.Response:
        response = dispatch(request)
        statuses[response.status_code] += 1
        return response

    target.dispatch = counted
    source.faults.latency = target.faults.latency = LATENCY
    target.faults.rate_limit = rate_limit
    with source.serve() as source_url, target.serve() as target_url:
        conn.send(
            {"source": source.connect_settings(source_url), "target": target.connect_settings(target_url)}
        )
        conn.recv()
        conn.send(
            {
                "source": [(r.method, r.path) for r in source.requests],
                "target": [(r.method, r.path) for r in target.requests],
                "statuses": dict(statuses),
                "connections": target.connections,
            }
        )


@contextmanager
def emulators(
    pair: tuple[str, str], spaces: int, rate_limit: float | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Start the child; yield (settings, figures) where figures fill in when the block ends."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, pair, spaces, rate_limit))
    process.start()
    settings, figures = parent.recv(), {}
    try:
        yield settings, figures
    finally:
        parent.send("stop")
        figures.update(parent.recv())
        process.join()


def run(
    pair: tuple[str, str], spaces: int, concurrency: int | None, rate_limit: float | None = None
) -> tuple[float, Any, dict[str, Any]]:
    source_name, target_name = pair
    with emulators(pair, spaces, rate_limit) as (settings, figures):
        started = time.perf_counter()
        with (
            spacekit.connect(source_name, **settings["source"]) as source,
            spacekit.connect(target_name, **settings["target"]) as target,
        ):
            options = {} if concurrency is None else {"concurrency": concurrency}
            report = spacekit.migrate(source, target, **options)
        wall = time.perf_counter() - started
    return wall, report, figures


def throughput(pair: tuple[str, str], spaces: int) -> float:
    source_name, target_name = pair
    print(
        f"\n{source_name} -> {target_name}: {spaces} spaces, latency {LATENCY * 1000:.0f} ms, C={CONCURRENCY}"
    )
    wall, report, figures = run(pair, spaces, CONCURRENCY)
    created = report.counts.get("created", 0)
    is_write = WRITES[target_name]
    writes = sum(1 for method, path in figures["target"] if is_write(method, path))
    serial = len(figures["source"]) + len(figures["target"]) - writes
    bound = LATENCY * (serial + created / CONCURRENCY)
    routes = collections.Counter(route(target_name, m, p) for m, p in figures["target"])
    sources = collections.Counter(route(source_name, m, p) for m, p in figures["source"])
    print(f"   items: {report.counts}; failed: {len(report.failed)}")
    print(f"   source requests by route: {dict(sources)}")
    print(f"   target requests by route: {dict(routes)}")
    print(
        f"   requests per migrated space into the target: {len(figures['target']) / max(created, 1):.3f}"
        f" (creates alone: {writes / max(created, 1):.3f}); target connections: {figures['connections']}"
    )
    print(
        f"   wall {wall:.2f} s, {created / wall:.0f} spaces/s; limit L x (S + N/C) = {LATENCY * 1000:.0f} ms x "
        f"({serial} + {created}/{CONCURRENCY}) = {bound:.2f} s; ratio {wall / bound:.2f}"
    )
    return wall


def raw_floor(spaces: int) -> float:
    """The same NeuroIO -> Datablist work by a hand-written httpx script, 16 threads on
    one pooled client: what the machine allows without spacekit."""
    pair = ("neuroio", "datablist")
    with emulators(pair, spaces) as (settings, figures):
        source, target = settings["source"], settings["target"]
        started = time.perf_counter()
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        with httpx.Client(timeout=10, limits=limits) as client:
            listed = client.get(
                f"{source['base_url']}/v1/lists/spaces/",
                headers={"Authorization": f"Token {source['token']}"},
            ).json()
            accept = {"Accept": "application/json", "Content-Type": "application/json"}
            token = client.post(
                f"{target['auth_url']}/token", json={"apiKey": target["api_key"]}, headers=accept
            ).json()
            headers = {"Authorization": f"Bearer {token['access_token']}", **accept}
            data = client.get(f"{target['base_url']}/", headers=headers).json()["data"]
            existing = {w["name"] for w in data}

            def create(name: str) -> None:
                body = {"name": name, "@type": "Workspace"}
                client.post(f"{target['base_url']}/", json=body, headers=headers).raise_for_status()

            with ThreadPoolExecutor(CONCURRENCY) as pool:
                list(pool.map(create, [s["name"] for s in listed if s["name"] not in existing]))
        wall = time.perf_counter() - started
    bound = LATENCY * (4 + spaces / CONCURRENCY)
    print(
        f"   the same by a hand-written httpx script (16 threads, one pool): wall {wall:.2f} s,"
        f" {len(figures['target'])} target requests; ratio to the limit {wall / bound:.2f}"
    )
    return wall


def limited(spaces: int, rate_limit: float, concurrency: int | None) -> None:
    pair = ("neuroio", "datablist")
    shown = "default" if concurrency is None else str(concurrency)
    print(
        f"\nneuroio -> datablist: {spaces} spaces, target limited to {rate_limit:.0f} requests/s "
        f"(429 + Retry-After), concurrency {shown}, no client-side rate limit"
    )
    wall, report, figures = run(pair, spaces, concurrency, rate_limit)
    statuses = figures["statuses"]
    refused = statuses.get(429, 0)
    total = sum(statuses.values())
    created = report.counts.get("created", 0)
    print(f"   items: {report.counts}; failed: {len(report.failed)}")
    print(f"   target answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"   wall {wall:.2f} s: {created / wall:.1f} spaces/s ({created / wall / rate_limit:.0%} of the limit);"
        f" 429s: {refused} of {total} requests ({refused / max(total, 1):.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", type=int, default=1000)
    parser.add_argument("--limited-spaces", type=int, default=1000)
    parser.add_argument("--rate-limit", type=float, default=50.0)
    parser.add_argument("--limited-concurrency", type=int, default=None, help="default: migrate's own")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="source:target pairs, comma-separated")
    parser.add_argument("--skip-limited", action="store_true")
    args = parser.parse_args()
    for pair in args.pairs.split(","):
        source_name, _, target_name = pair.partition(":")
        wall = throughput((source_name, target_name), args.spaces)
        if (source_name, target_name) == ("neuroio", "datablist"):
            floor = raw_floor(args.spaces)
            print(f"   spacekit / the hand-written script: {wall / floor:.2f}")
    if not args.skip_limited:
        limited(args.limited_spaces, args.rate_limit, args.limited_concurrency)


if __name__ == "__main__":
    main()
