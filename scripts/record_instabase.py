"""Record the Instabase cassettes under cassettes/instabase/.

By default every scenario runs against a fresh Instabase emulator seeded with the
documentation's example, behind the real default URL (https://www.instabase.com),
so the cassettes show the real host and paths. The emulator is reached through its
``recording_transport``, which vcrpy sees::

    .venv/bin/python scripts/record_instabase.py

With real credentials, ``--live`` records the same scenarios against a real
instance instead (set IB_TOKEN, and IB_BASE_URL for a self-hosted one). Live
recordings go to ``--out`` (default cassettes/instabase/live/) so that they never
replace the emulator-made cassettes the tests check field by field. Beware: the
``create_organization`` and ``create_subspace`` scenarios create a real organization
and a real subspace (of the space ``alice``: pass your own in a live run by editing
the scenario).

Secrets are scrubbed by spacekit.testing.vcr_config() before anything is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import vcr
from spacekit_instabase import plugin

import spacekit
from spacekit.testing import vcr_config

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes" / "instabase"
DEFAULT_URL = "https://www.instabase.com"
Scenario = Callable[[spacekit.SpaceStore, bool], None]


def documented_list(store: spacekit.SpaceStore, live: bool) -> None:
    list(store.list())


def admin_only_list(store: spacekit.SpaceStore, live: bool) -> None:
    list(store.list(admin_only=True))


def get_unknown(store: spacekit.SpaceStore, live: bool) -> None:
    with contextlib.suppress(spacekit.NotFound):
        store.get("no_such_space")


def create_organization(store: spacekit.SpaceStore, live: bool) -> None:
    handle = f"spacekit_{uuid.uuid4().hex[:8]}" if live else "data_science"
    store.create("Data Science", "Models and notebooks", handle=handle)


def create_duplicate(store: spacekit.SpaceStore, live: bool) -> None:
    with contextlib.suppress(spacekit.Conflict):
        store.create("Engineering", "Again", handle="ib_eng")


def create_subspace(store: spacekit.SpaceStore, live: bool) -> None:
    name = f"spacekit_{uuid.uuid4().hex[:8]}" if live else "notebooks"
    store.create_subspace("alice", name, description="Shared notebooks", private=True)


def get_subspace(store: spacekit.SpaceStore, live: bool) -> None:
    store.get_subspace("ib_eng", "repo1")
    with contextlib.suppress(spacekit.PermissionDenied, spacekit.NotFound):
        store.get_subspace("ib_eng", "repo2")


def check(store: spacekit.SpaceStore, live: bool) -> None:
    store.check()


SCENARIOS: dict[str, Scenario] = {
    "documented_list": documented_list,
    "admin_only_list": admin_only_list,
    "get_unknown": get_unknown,
    "create_organization": create_organization,
    "create_duplicate": create_duplicate,
    "create_subspace": create_subspace,
    "get_subspace": get_subspace,
    "check": check,
}


def emulated_settings() -> dict[str, Any]:
    emulator = plugin.emulator()
    assert emulator is not None
    settings = emulator.connect_settings(DEFAULT_URL)
    settings["transport"] = emulator.recording_transport
    return settings


def live_settings() -> dict[str, Any]:
    token = os.environ.get("IB_TOKEN")
    if not token:
        raise SystemExit("--live needs IB_TOKEN (and IB_BASE_URL for a self-hosted instance)")
    return {"token": token, "base_url": os.environ.get("IB_BASE_URL", DEFAULT_URL)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--live", action="store_true", help="record against a real instance")
    parser.add_argument("--out", type=Path, help="where to write (default: cassettes/instabase[/live])")
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=f"default: all of {', '.join(SCENARIOS)}"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    out = args.out or (CASSETTES / "live" if args.live else CASSETTES)
    out.mkdir(parents=True, exist_ok=True)
    recorder = vcr.VCR(**vcr_config("all"))
    for name in args.scenarios or SCENARIOS:
        settings = live_settings() if args.live else emulated_settings()
        with (
            recorder.use_cassette(str(out / f"{name}.yaml")),
            spacekit.connect("instabase", **settings) as store,
        ):
            SCENARIOS[name](store, args.live)
        print(f"recorded {out / name}.yaml")


if __name__ == "__main__":
    main()
