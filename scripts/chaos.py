"""Chaos suite for migrations: seeded fault schedules over pairs of providers.

Each schedule seeds a source with spaces (some selected by ``--select space-*``,
some not), injects faults on the emulators (5xx storms, 429 bursts, dropped
connections, connections dropped after the write was committed, a 5xx, 409 or 400
answered after the write was committed, malformed answers, latency), and
runs the migration with a journal, again and again as a user would, until a run
reports no failure. Kill schedules run the migration in a child process on
emulators served on loopback, SIGKILL it at a random point, and resume. Each
schedule must end with exactly one target space per selected source space
(names equal, no duplicates, nothing missing), the target's other spaces
untouched, and ``verify`` clean.

Adversarial schedules replay, with random parameters and faults armed mid-run (from
a ``transform`` hook), the five ways a migration could report success on a wrong
result: a create of "Name (2)" whose answer is lost while "Name" is on the target
(a resume must not adopt "Name"); a name extending another, with a refusal, a drop
after the commit and failing look-ups; a space deleted from the source while it is
listed (the pages shift); pages that cycle; two runs into one target at once; and a
dry run beside an existing journal (compared byte for byte). A run may fail, but no
run may report success while the target is wrong.

    .venv/bin/python scripts/chaos.py                 # 200 fault + 20 kill + 60 adversarial schedules
    .venv/bin/python scripts/chaos.py --schedules 30 --kills 5 --cases 12 --seed 7
    .venv/bin/python scripts/chaos.py --schedules 0 --kills 0 --sync 100 --sync-kills 10

Sync schedules do the same for ``spacekit.sync`` with deletes and renames in the
plan; 100 of them and 10 kill schedules run by default.

Short listing schedules (the last section, 60 by default, ``--short``) give a NeuroIO
side listings that end early: a count that lies, ``next`` null early, an empty page
early, a short page in the middle, a page that leaves spaces out of the count too;
the source's or the target's (its first look only, or every look), below and above
10 target spaces, for ``sync --apply --delete`` and ``migrate``, through the library
and the CLI. No space may be deleted whose source counterpart exists, no duplicate
made (or, where a short look still added up, none beside an ok), and no run may say
ok on a wrong target.

The test suite runs a seeded subset (tests/test_migrate_chaos.py, tests/test_sync_chaos.py).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

import spacekit
from spacekit.testing import Emulator

PAIRS = [
    ("neuroio", "datablist"),
    ("datablist", "neuroio"),
    ("instabase", "local"),
    ("neuroio", "local"),
    ("local", "neuroio"),
    ("local", "datablist"),
    ("instabase", "datablist"),
    ("datablist", "instabase"),
    ("neuroio", "neuroio"),
]
#: engine settings for every remote store: quick retries, so that storms outlast them
FAST = {"retries": 2, "backoff": 0.001, "deadline": 5.0, "timeout": 5.0}
SELECT = ["space-*"]
MAX_RUNS = 25
#: the create endpoints (Datablist's token exchange, also a POST, is left out)
CREATE_PATHS = r"^/(?!token)"


class Side:
    """One end of a migration: an emulator of a provider, or a local store file."""

    def __init__(self, provider: str, folder: str, role: str) -> None:
        self.provider = provider
        self.emulator: Emulator | None = None
        self.path = os.path.join(folder, f"{role}.db")
        self.base_url: str | None = None  # set while served on loopback
        if provider != "local":
            self.emulator = spacekit_plugin(provider).emulator()

    def settings(self) -> dict[str, Any]:
        """What ``spacekit.connect(self.provider, **settings)`` needs (in-process unless served)."""
        base_url = self.base_url
        if self.emulator is None:
            return {"path": self.path}
        if base_url is None:
            return {
                **self.emulator.connect_settings("http://localhost"),
                "transport": self.emulator.transport,
                **FAST,
            }
        return {**self.emulator.connect_settings(base_url), **FAST}

    def open(self) -> spacekit.SpaceStore:
        return spacekit.connect(self.provider, **self.settings())

    def names(self) -> list[str]:
        """Every name on this side, read without faults."""
        faults = self._suspend_faults()
        try:
            with self.open() as store:
                return [space.name for space in store.list()]
        finally:
            self._restore_faults(faults)

    def _suspend_faults(self) -> Any:
        if self.emulator is None:
            return None
        saved = self.emulator.faults
        self.emulator.faults = type(saved)()
        return saved

    def _restore_faults(self, saved: Any) -> None:
        if self.emulator is not None:
            self.emulator.faults = saved


def spacekit_plugin(provider: str) -> Any:
    from spacekit._registry import load  # the chaos script is part of the project: it may look inside

    return load(provider)


@attrs.define
class Outcome:
    seed: int
    pair: tuple[str, str]
    faults: list[str]
    runs: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "ok" if self.ok else "FAILED: " + "; ".join(self.problems)
        return f"seed {self.seed:4d} {self.pair[0]:>9} -> {self.pair[1]:<9} runs {self.runs:2d} {status}"


def seed_source(side: Side, rng: random.Random, seed: int) -> list[str]:
    """Put selected and unselected spaces on the source; return the selected names."""
    count = rng.randint(4, 24)
    selected = [f"space-{seed}-{i:03d}" for i in range(count)]
    with side.open() as store:
        keeps = "description" in store.writable_fields
        for i, name in enumerate(selected):
            store.create(name, f"about {name}" if keeps and i % 3 else None)
        for i in range(2):
            store.create(f"other-{seed}-{i}")
    return selected


def inject(side: Side, rng: random.Random, *, target: bool) -> list[str]:
    """A random fault schedule on an emulator; returns a description of it."""
    if side.emulator is None:
        return []
    faults, shown = side.emulator.faults, []
    faults.latency = rng.choice([0.0, 0.0, 0.001, 0.003])
    for _ in range(rng.randint(1, 5)):
        kinds = ["storm", "throttle", "drop", "malformed"]
        kind = rng.choice([*kinds, "commit-drop", "commit-error"] if target else kinds)
        method = rng.choice([None, "GET", "POST"] if target else [None, "GET"])
        times = rng.randint(1, 6)
        if kind == "storm":
            faults.fail(rng.choice([500, 502, 503, 504]), times, method=method)
        elif kind == "throttle":
            faults.throttle(times, retry_after="0", method=method)
        elif kind == "drop":
            faults.drop(times, method=method)
        elif kind == "malformed":  # not retried by the engine: a rare glitch, each costs a run
            times = min(times, 2)
            faults.malformed(times, method=method, truncate=rng.random() < 0.5)
        elif kind == "commit-drop":
            faults.drop(times, after_commit=True, method="POST", path=CREATE_PATHS)
        else:
            status = rng.choice([500, 502, 409, 400])
            faults.fail(status, times, method="POST", path=CREATE_PATHS, after_commit=True)
            kind, method = f"commit-{status}", "POST"
        shown.append(f"{side.provider}:{kind}x{times}{'/' + method if method else ''}")
    return shown


def check(
    source: Side,
    target: Side,
    selected: list[str],
    before: list[str],
    journal: str,
    expected: collections.Counter[str] | None = None,
) -> list[str]:
    """The invariants every schedule must end with."""
    problems = []
    after = collections.Counter(target.names())
    if expected is None:
        expected = collections.Counter(before) + collections.Counter(n for n in selected if n not in before)
    if after != expected:
        extra = sorted((after - expected).elements())
        missing = sorted((expected - after).elements())
        problems.append(f"target differs: extra {extra[:5]} missing {missing[:5]}")
    if collections.Counter(source.names()) != collections.Counter(
        [*selected, *(n for n in source.names() if not n.startswith("space-"))]
    ):
        problems.append("the source changed")
    problems += verified(source, target, journal)
    return problems


def verified(source: Side, target: Side, journal: str) -> list[str]:
    """``verify`` with the journal, every fault suspended: its problems."""
    problems = []
    saved = (source._suspend_faults(), target._suspend_faults())
    try:
        with source.open() as src, target.open() as dst:
            report = spacekit_verify(src, dst, journal)
        if not report.ok:
            problems.append(f"verify: {report.summary()}")
    finally:
        source._restore_faults(saved[0])
        target._restore_faults(saved[1])
    return problems


def spacekit_verify(src: spacekit.SpaceStore, dst: spacekit.SpaceStore, journal: str) -> Any:
    from spacekit._migrate import verify

    return verify(src, dst, journal=journal)


def migrate_until_done(source: Side, target: Side, journal: str, rng: random.Random, runs: int = 0) -> int:
    """Run the same migration again until one run reports no failure; return the runs made."""
    from spacekit._migrate import migrate

    policy = rng.choice(["skip", "rename"])
    while runs < MAX_RUNS:
        runs += 1
        try:
            with source.open() as src, target.open() as dst:
                report = migrate(
                    src,
                    dst,
                    journal=journal,
                    select=SELECT,
                    on_conflict=policy,
                    concurrency=rng.randint(1, 8),
                )
        except spacekit.ProviderError:
            continue  # a listing failed for good: the user runs the same command again
        if report.ok:
            return runs
    return runs


def run_schedule(seed: int, folder: str) -> Outcome:
    rng = random.Random(seed)
    pair = PAIRS[seed % len(PAIRS)]
    source, target = Side(pair[0], folder, "source"), Side(pair[1], folder, "target")
    selected = seed_source(source, rng, seed)
    before = target.names()
    faults = inject(source, rng, target=False) + inject(target, rng, target=True)
    journal = os.path.join(folder, "journal.db")
    runs = migrate_until_done(source, target, journal, rng)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    return Outcome(seed, pair, faults, runs, problems + check(source, target, selected, before, journal))


@contextmanager
def served(*sides: Side) -> Iterator[None]:
    """Serve the sides' emulators on loopback; their stores use it meanwhile."""
    with ExitStack() as stack:
        for side in sides:
            if side.emulator is not None:
                side.base_url = stack.enter_context(side.emulator.serve())
        try:
            yield
        finally:
            for side in sides:
                side.base_url = None


def run_kill_schedule(seed: int, folder: str) -> Outcome:
    """Migrate in a child process, SIGKILL it at a random point, then resume here."""
    rng = random.Random(seed)
    pair = PAIRS[seed % len(PAIRS)]
    source, target = Side(pair[0], folder, "source"), Side(pair[1], folder, "target")
    selected = seed_source(source, rng, seed)
    before = target.names()
    journal = os.path.join(folder, "journal.db")
    with served(source, target):
        for side in (source, target):
            if side.emulator is not None:
                side.emulator.faults.latency = 0.01
        spec = {
            "source": [source.provider, source.settings()],
            "target": [target.provider, target.settings()],
            "journal": journal,
        }
        spec_path = os.path.join(folder, "child.json")
        with open(spec_path, "w") as file:
            json.dump(spec, file)
        child = subprocess.Popen([sys.executable, __file__, "--child", spec_path])
        time.sleep(rng.uniform(0.3, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
        landed = len(set(target.names()) & set(selected))
        in_flight = _unresolved(journal)
        faults = inject(target, rng, target=True)
        runs = migrate_until_done(source, target, journal, rng, runs=1)
        checked = check(source, target, selected, before, journal)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    label = [f"SIGKILL: {landed}/{len(selected)} created, {in_flight} write(s) in flight", *faults]
    return Outcome(seed, pair, label, runs, problems + checked)


def _unresolved(journal: str) -> int:
    """Journal rows whose write was sent but not answered when the child was killed."""
    if not os.path.exists(journal):
        return 0
    with contextlib.closing(sqlite3.connect(journal)) as db:
        try:
            return int(
                db.execute("SELECT count(*) FROM items WHERE state IN ('sent', 'unknown')").fetchone()[0]
            )
        except sqlite3.OperationalError:  # killed before the journal had its tables
            return 0


# -- adversarial schedules: the five ways a migration could lie --------------------------

CASES = ("preexisting", "extends", "shift", "cycle", "concurrent", "dry")
QUARTERLY = "Quarterly planning notes for the platform team"


def created_name(request: httpx.Request) -> str | None:
    """The name a create request asks for, on any of the three providers."""
    if request.method != "POST" or request.url.path == "/token":
        return None
    try:
        body = json.loads(request.content or b"null")
    except ValueError:
        return None
    name = body.get("name", body.get("display_name")) if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


class OnCreate:
    """Faults on the creates of given names, armed at any time: ``refuse`` (400, not
    applied), ``unavailable`` (503, not applied), ``commit-drop`` (applied, then the
    connection drops); after each, ``look_ups`` GET requests answer 503."""

    def __init__(self, emu: Emulator) -> None:
        self.emu, self.dispatch = emu, emu.dispatch
        self.rules: dict[str, list[str]] = {}
        self.look_ups = 0
        self.lock = threading.Lock()
        emu.dispatch = self  # type: ignore[method-assign]

    def arm(self, name: str, fault: str, times: int = 1) -> None:
        with self.lock:
            self.rules.setdefault(name, []).extend([fault] * times)

    def disarm(self) -> None:
        with self.lock:
            self.rules.clear()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        from spacekit.testing._emulator import Dropped

        name = created_name(request)
        with self.lock:
            faults = self.rules.get(name or "")
            fault = faults.pop(0) if faults else None
        if fault is None:
            return self.dispatch(request)
        if self.look_ups:
            self.emu.faults.fail(503, self.look_ups, method="GET")
        if fault == "refuse":
            return httpx.Response(400, json={"message": "Validation error.", "code": "invalid"})
        if fault == "unavailable":
            return httpx.Response(503, json={"message": "injected"})
        self.dispatch(request)
        raise Dropped


class Cycling:
    """NeuroIO pages that go round once armed: from page ``start`` on, the pages
    already served come again (A, B, A, B...) and 'next' always says there is more."""

    def __init__(self, emu: Emulator, start: int, period: int) -> None:
        self.emu, self.dispatch, self.start, self.period = emu, emu.dispatch, start, period
        self.armed = True
        self.served: list[bytes] = []
        emu.dispatch = self  # type: ignore[method-assign]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.dispatch(request)
        if not self.armed or request.method != "GET" or request.url.path != "/v1/spaces/":
            return response
        if request.url.params.get("offset") == "0":
            self.served = []
        if len(self.served) < self.start:
            self.served.append(response.content)
            return response
        cycle = self.served[-self.period :]
        body = json.loads(cycle[(len(self.served) - self.start) % len(cycle)])
        self.served.append(json.dumps(body).encode())
        body["next"] = "http://localhost/v1/spaces/?offset=more"
        return httpx.Response(200, headers={"Content-Type": "application/json"}, json=body)


def migrate_case(
    source: Side,
    target: Side,
    journal: str,
    *,
    policy: str = "skip",
    concurrency: int = 4,
    transform: Callable[[spacekit.Space], spacekit.Space] | None = None,
    dry_run: bool = False,
) -> Any:
    from spacekit._migrate import migrate

    with source.open() as src, target.open() as dst:
        return migrate(
            src,
            dst,
            journal=journal,
            select=SELECT,
            on_conflict=policy,
            concurrency=concurrency,
            transform=transform,
            dry_run=dry_run,
        )


def until_ok(run: Callable[[], Any], check_each: Callable[[], list[str]]) -> tuple[int, list[str]]:
    """Run again until a run is ok; a run that says ok on a wrong target is a problem."""
    for runs in range(1, MAX_RUNS + 1):
        try:
            report = run()
        except spacekit.ProviderError:
            continue
        if report.ok:
            wrong = check_each()
            return runs, [f"run {runs} said ok on a wrong target: {wrong[0]}"] if wrong else []
    return MAX_RUNS, [f"still failing after {MAX_RUNS} runs"]


def pick_target(rng: random.Random, *, creates_long_names: bool = True) -> str:
    choices = ["neuroio", "datablist", "local"] + (["instabase"] if not creates_long_names else [])
    return rng.choice(choices)


def case_preexisting(seed: int, rng: random.Random, folder: str) -> Outcome:
    """The target already holds a name; rename; the create of "Name (2)" loses its answer."""
    length = rng.choice([3, 12, 46, 90, 140, 255])
    name = f"space-{seed}-" + (QUARTERLY * 6)[: max(0, length - len(f"space-{seed}-"))]
    target_kind = pick_target(rng, creates_long_names=length > 90)
    source, target = (
        Side(rng.choice(["local", "neuroio", "datablist"]), folder, "source"),
        Side(target_kind, folder, "target"),
    )
    selected = seed_source(source, rng, seed)
    with source.open() as store:
        store.create(name)
    with target.open() as store:
        store.create(name)
    selected.append(name)
    before = target.names()
    renamed = f"{name[:251]} (2)"
    faults = [f"name of {len(name)} chars -> {target_kind}"]
    journal = os.path.join(folder, "journal.db")
    trap = OnCreate(target.emulator) if target.emulator is not None else None
    fault = rng.choice(["unavailable", "commit-drop", "refuse"])
    times = rng.randint(1, 3)
    if trap is not None:
        trap.look_ups = rng.choice([0, 0, 3, 10])
        faults.append(f"{fault}x{times} on {renamed[:20]}..., look-ups 503x{trap.look_ups}")

    armed = []

    def arm(space: spacekit.Space) -> spacekit.Space:
        if space.name == name and trap is not None and not armed:
            armed.append(True)
            trap.arm(renamed, fault, times)
        return space

    expected = collections.Counter(before) + collections.Counter(
        [*(n for n in selected if n not in before), renamed]
    )

    def wrong() -> list[str]:
        return check(source, target, selected, before, journal, expected)

    runs, problems = until_ok(
        lambda: migrate_case(source, target, journal, policy="rename", transform=arm), wrong
    )
    if trap is not None:
        trap.disarm()
    return Outcome(seed, (source.provider, target.provider), faults, runs, problems + wrong())


def case_extends(seed: int, rng: random.Random, folder: str) -> Outcome:
    """A = N + suffix and B = N: A refused, B dropped after the commit, look-ups failing."""
    target_kind = rng.choice(["neuroio", "datablist", "instabase"])
    source, target = Side("local", folder, "source"), Side(target_kind, folder, "target")
    selected = seed_source(source, rng, seed)
    shorter = f"space-{seed}-{QUARTERLY}"
    longer = shorter + rng.choice([" - archive", " (old)", "x", " 2"])
    with source.open() as store:
        for name in rng.sample([shorter, longer], 2):
            store.create(name)
    selected += [shorter, longer]
    before = target.names()
    journal = os.path.join(folder, "journal.db")
    assert target.emulator is not None
    trap = OnCreate(target.emulator)
    trap.look_ups = rng.choice([3, 6, 10])
    faults = [f"{longer[-12:]!r}: refuse; {shorter[-12:]!r}: commit-drop; look-ups 503x{trap.look_ups}"]

    def arm(space: spacekit.Space) -> spacekit.Space:
        if space.name in (shorter, longer) and not trap.rules:
            trap.arm(longer, "refuse")
            trap.arm(shorter, "commit-drop")
        return space

    def wrong() -> list[str]:
        return check(source, target, selected, before, journal)

    runs, problems = until_ok(
        lambda: migrate_case(source, target, journal, transform=arm, concurrency=rng.randint(1, 4)), wrong
    )
    trap.disarm()
    return Outcome(seed, ("local", target_kind), faults, runs, problems + wrong())


def paged_pair(
    rng: random.Random, folder: str, targets: list[str], pages: tuple[int, int]
) -> tuple[Side, Side, Any]:
    """A NeuroIO source that lists by pages of a random size in ``pages`` (the full list
    would be one answer), a target of one of ``targets`` kinds, and the source's emulator."""
    source, target = Side("neuroio", folder, "source"), Side(rng.choice(targets), folder, "target")
    assert source.emulator is not None
    emulator: Any = source.emulator
    emulator.max_limit = rng.randint(*pages)
    emulator.serves_full_list = False
    return source, target, emulator


def case_shift(seed: int, rng: random.Random, folder: str) -> Outcome:
    """Spaces deleted from (and created in) a paginated source while it is listed."""
    source, target, emu = paged_pair(rng, folder, ["local", "datablist", "neuroio"], (3, 10))
    selected = seed_source(source, rng, seed)
    before = target.names()
    journal = os.path.join(folder, "journal.db")
    at = rng.randint(1, len(selected))
    deletes = rng.randint(1, 2)
    adds = rng.randint(0, 2)
    planned: list[str] = []
    deleted: list[str] = []
    faults = [f"page {emu.max_limit}, after {at} planned: delete {deletes}, add {adds}"]

    def shift(space: spacekit.Space) -> spacekit.Space:
        planned.append(space.name)
        if len(planned) == at and not deleted:
            with emu.lock:
                for name in rng.sample(planned, min(deletes, len(planned))):
                    sid = next(i for i, s in emu.spaces.items() if s["name"] == name)
                    del emu.spaces[sid]
                    deleted.append(name)
            for i in range(adds):
                emu.add_space(f"space-{seed}-late-{i}")
        return space

    def expected() -> collections.Counter[str]:
        remaining = [n for n in source.names() if n.startswith("space-")]
        return collections.Counter(before) + collections.Counter([*remaining, *deleted])

    def wrong() -> list[str]:
        return check_after_shift(source, target, before, journal, expected())

    runs, problems = until_ok(lambda: migrate_case(source, target, journal, transform=shift), wrong)
    return Outcome(seed, ("neuroio", target.provider), faults, runs, problems + wrong())


def check_after_shift(
    source: Side, target: Side, before: list[str], journal: str, expected: collections.Counter[str]
) -> list[str]:
    after = collections.Counter(target.names())
    problems = []
    if after != expected:
        extra, missing = sorted((after - expected).elements()), sorted((expected - after).elements())
        problems.append(f"target differs: extra {extra[:5]} missing {missing[:5]}")
    return problems + verified(source, target, journal)


def case_cycle(seed: int, rng: random.Random, folder: str) -> Outcome:
    """A source whose pages go round: the run must stop, never say ok; then it is fixed."""
    source, target, emu = paged_pair(rng, folder, ["local", "datablist"], (2, 5))
    selected = seed_source(source, rng, seed)
    before = target.names()
    journal = os.path.join(folder, "journal.db")
    start, period = rng.randint(1, 3), rng.randint(1, 2)
    cycling = Cycling(emu, start, min(period, start))
    faults = [f"pages of {emu.max_limit} go round after page {start} (period {min(period, start)})"]
    problems: list[str] = []
    try:
        report = migrate_case(source, target, journal)
        problems.append(f"a run over cycling pages ended: ok={report.ok}")
    except spacekit.ProtocolError as exc:
        if "go round" not in str(exc):
            problems.append(f"a ProtocolError that does not say why: {exc}")
    except spacekit.ProviderError as exc:
        problems.append(f"stopped by {type(exc).__name__}, not ProtocolError: {exc}")
    held = collections.Counter(target.names())
    if any(n > 1 for n in held.values()):
        problems.append("a cycling listing duplicated spaces")
    cycling.armed = False

    def wrong() -> list[str]:
        return check(source, target, selected, before, journal)

    runs, more = until_ok(lambda: migrate_case(source, target, journal), wrong)
    return Outcome(seed, ("neuroio", target.provider), faults, runs + 1, problems + more + wrong())


def case_concurrent(seed: int, rng: random.Random, folder: str) -> Outcome:
    """Two runs into one target at once, with different journals."""
    target_kind = rng.choice(["local", "neuroio", "datablist"])
    source, target = (
        Side(rng.choice(["local", "neuroio"]), folder, "source"),
        Side(target_kind, folder, "target"),
    )
    selected = seed_source(source, rng, seed)
    before = target.names()
    journals = [os.path.join(folder, f"journal-{i}.db") for i in range(2)]
    inside, release = threading.Event(), threading.Event()
    hold_at = rng.randint(1, len(selected))
    count = [0]

    def hold(space: spacekit.Space) -> spacekit.Space:
        count[0] += 1
        if count[0] == hold_at:
            inside.set()
            release.wait(30)
        return space

    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(migrate_case(source, target, journals[0], transform=hold))
    )
    first.start()
    problems = []
    faults = [f"second run started after {hold_at} planned"]
    try:
        if not inside.wait(30):
            problems.append("the first run never reached the hook")
        try:
            second = migrate_case(source, target, journals[1])
            problems.append(f"a second run into the same target was not refused (ok={second.ok})")
        except spacekit.ConfigError as exc:
            if "another run (a migrate or a sync)" not in str(exc) or "pid" not in str(exc):
                problems.append(f"the refusal does not say who holds the target: {exc}")
    finally:
        release.set()
        first.join(60)
    if not results or not results[0].ok:
        problems.append("the first run did not finish ok")

    def wrong() -> list[str]:
        return check(source, target, selected, before, journals[1])

    runs, more = until_ok(lambda: migrate_case(source, target, journals[1]), wrong)
    return Outcome(seed, (source.provider, target_kind), faults, runs + 1, problems + more + wrong())


def folder_state(folder: str) -> dict[str, str]:
    found = {}
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as file:
                found[os.path.relpath(path, folder)] = hashlib.sha256(file.read()).hexdigest()
    return found


def case_dry(seed: int, rng: random.Random, folder: str) -> Outcome:
    """A dry run beside an existing journal, after a run that met faults: byte for byte."""
    pair = PAIRS[seed % len(PAIRS)]
    source, target = Side(pair[0], folder, "source"), Side(pair[1], folder, "target")
    selected = seed_source(source, rng, seed)
    before = target.names()
    journals = os.path.join(folder, "journals")
    os.makedirs(journals)
    journal = os.path.join(journals, "journal.db")
    faults = inject(target, rng, target=True)
    problems = []
    with contextlib.suppress(spacekit.ProviderError):
        migrate_case(source, target, journal, concurrency=rng.randint(1, 4))
    if os.path.exists(journal):
        leftovers = sorted(set(os.listdir(journals)) - {"journal.db"})
        if leftovers:
            problems.append(f"files left beside the journal after the run: {leftovers}")
        state = folder_state(journals)
        with contextlib.suppress(spacekit.ProviderError):
            migrate_case(source, target, journal, dry_run=True)
        if folder_state(journals) != state:
            problems.append("the dry run changed the journal's folder")

    def wrong() -> list[str]:
        return check(source, target, selected, before, journal)

    runs, more = until_ok(lambda: migrate_case(source, target, journal), wrong)
    return Outcome(seed, pair, faults, runs + 1, problems + more + wrong())


def run_case(seed: int, folder: str) -> Outcome:
    """One adversarial schedule; the case is chosen by the seed."""
    rng = random.Random(seed)
    case = CASES[seed % len(CASES)]
    outcome: Outcome = globals()[f"case_{case}"](seed, rng, folder)
    outcome.faults.insert(0, case)
    return outcome


def child(spec_path: str) -> None:
    from spacekit._migrate import migrate

    with open(spec_path) as file:
        spec = json.load(file)
    with (
        spacekit.connect(spec["source"][0], **spec["source"][1]) as src,
        spacekit.connect(spec["target"][0], **spec["target"][1]) as dst,
    ):
        migrate(src, dst, journal=spec["journal"], select=SELECT, concurrency=2)


# -- sync schedules ---------------------------------------------------------------------
#
# Each sync schedule seeds a source and a target, syncs them once without faults (so
# that the journal knows every pair), then changes the source (renames, removals,
# additions, new descriptions) and the target (strangers, one of them holding a name a
# source space is renamed to), injects faults on the target's writes and listings, and
# syncs with --delete until a run reports ok. Kill schedules run that sync in a child
# process, SIGKILL it, and resume. Invariants: the target holds exactly the source's
# names (plus the spaces its provider protects) with the same descriptions where it
# keeps them, every source space kept its counterpart (a renamed space was renamed,
# not created again, so nothing the source holds was deleted), no duplicates, and a
# fresh plan has nothing left to do.

SYNC_PAIRS = [
    ("local", "neuroio"),
    ("neuroio", "datablist"),
    ("datablist", "local"),
    ("neuroio", "local"),
    ("local", "datablist"),
    ("datablist", "neuroio"),
    ("local", "local"),
]


@attrs.define
class SyncStage:
    """Two seeded sides, synced once, then changed; what the checks need to know."""

    source: Side
    target: Side
    journal: str
    #: source id -> target id after the first, clean sync
    pairs: dict[str, str]
    changes: list[str]


def sync_sides(seed: int, folder: str) -> tuple[Side, Side]:
    pair = SYNC_PAIRS[seed % len(SYNC_PAIRS)]
    return Side(pair[0], folder, "source"), Side(pair[1], folder, "target")


def sync_stage(seed: int, folder: str, rng: random.Random, source: Side, target: Side) -> SyncStage:
    journal = os.path.join(folder, "sync.db")
    with source.open() as src, target.open() as dst:
        keeps = "description" in src.writable_fields
        made = [
            src.create(f"s-{seed}-{i:03d}", f"about {i}" if keeps and i % 2 else None)
            for i in range(rng.randint(6, 18))
        ]
        for space in made[: rng.randint(0, 3)]:
            dst.create(space.name)  # already there: matched by name
        for i in range(rng.randint(0, 3)):
            dst.create(f"old-{seed}-{i}")
        first = spacekit.sync(src, dst, apply=True, delete=True, force=True, journal=journal)
        if not first.ok:
            raise RuntimeError(f"the clean sync failed: {first.summary()}")
        by_name = {space.name: space.id for space in dst.list()}
        pairs = {space.id: by_name[space.name] for space in made}
        shuffled = rng.sample(made, len(made))
        renamed, removed = shuffled[:3], shuffled[3:5]
        changes = []
        for space in renamed:
            src.update(space.id, name=space.name + "-renamed")
        changes.append(f"{len(renamed)} renamed")
        if renamed and rng.random() < 0.5:
            dst.create(renamed[0].name + "-renamed")  # a stranger holding the new name
            changes.append("a stranger holds a new name")
        for space in removed:
            src.delete(space.id)
        changes.append(f"{len(removed)} removed")
        for i in range(rng.randint(0, 4)):
            src.create(f"n-{seed}-{i}")
        if keeps and "description" in dst.writable_fields:
            for space in shuffled[5:7]:
                src.update(space.id, description=f"changed {seed}")
        for i in range(rng.randint(0, 3)):
            dst.create(f"x-{seed}-{i}")
    for space_id in [s.id for s in removed]:
        pairs.pop(space_id)
    return SyncStage(source, target, journal, pairs, changes)


def inject_sync(side: Side, rng: random.Random) -> list[str]:
    """Faults on a sync target: those of a migration, plus its updates and deletes."""
    shown = inject(side, rng, target=True)
    if side.emulator is None:
        return shown
    faults = side.emulator.faults
    for _ in range(rng.randint(1, 3)):
        method, times = rng.choice(["PATCH", "PUT", "DELETE"]), rng.randint(1, 4)
        kind = rng.choice(["drop", "commit-drop", "storm", "commit-500"])
        if kind == "drop":
            faults.drop(times, method=method)
        elif kind == "commit-drop":
            faults.drop(times, after_commit=True, method=method)
        elif kind == "storm":
            faults.fail(rng.choice([500, 502, 503]), times, method=method)
        else:
            faults.fail(500, times, method=method, after_commit=True)
        shown.append(f"{side.provider}:{kind}x{times}/{method}")
    return shown


def sync_until_done(stage: SyncStage, rng: random.Random, runs: int = 0) -> int:
    while runs < MAX_RUNS:
        runs += 1
        try:
            with stage.source.open() as src, stage.target.open() as dst:
                report = spacekit.sync(
                    src,
                    dst,
                    apply=True,
                    delete=True,
                    force=True,
                    journal=stage.journal,
                    concurrency=rng.randint(1, 8),
                )
        except spacekit.ProviderError:
            continue  # a listing failed for good, or the run stopped: the user runs it again
        if report.ok:
            return runs
    return runs


def check_sync(stage: SyncStage) -> list[str]:
    problems = []
    saved = (stage.source._suspend_faults(), stage.target._suspend_faults())
    try:
        with stage.source.open() as src, stage.target.open() as dst:
            sources, targets = list(src.list()), list(dst.list())
            protected = [t.name for t in targets if dst.protected(t)]
            expected = collections.Counter(s.name for s in sources) + collections.Counter(
                n for n in protected if n not in {s.name for s in sources}
            )
            after = collections.Counter(t.name for t in targets)
            if after != expected:
                extra, missing = sorted((after - expected).elements()), sorted((expected - after).elements())
                problems.append(f"target differs: extra {extra[:5]} missing {missing[:5]}")
            by_name = {t.name: t for t in targets}
            for space in sources:
                held = by_name.get(space.name)
                if held is None:
                    continue
                if "description" in dst.writable_fields and (held.description or None) != (
                    space.description or None
                ):
                    problems.append(
                        f"{space.name}: description {held.description!r} != {space.description!r}"
                    )
                was = stage.pairs.get(space.id)
                if was is not None and held.id != was:
                    problems.append(f"{space.name}: its counterpart {was} was replaced by {held.id}")
            final = spacekit.sync(src, dst, delete=True, force=True, journal=stage.journal)
            if not final.in_sync:
                problems.append(f"a fresh plan still has work: {final.summary()}")
    finally:
        stage.source._restore_faults(saved[0])
        stage.target._restore_faults(saved[1])
    return problems


def run_sync_schedule(seed: int, folder: str) -> Outcome:
    rng = random.Random(seed)
    stage = sync_stage(seed, folder, rng, *sync_sides(seed, folder))
    faults = stage.changes + inject(stage.source, rng, target=False) + inject_sync(stage.target, rng)
    runs = sync_until_done(stage, rng)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    pair = (stage.source.provider, stage.target.provider)
    return Outcome(seed, pair, faults, runs, problems + check_sync(stage))


def run_sync_kill_schedule(seed: int, folder: str) -> Outcome:
    """Sync in a child process, SIGKILL it at a random point, then resume here."""
    rng = random.Random(seed)
    source, target = sync_sides(seed, folder)
    with served(source, target):  # from the start: the journal records where the stores are
        stage = sync_stage(seed, folder, rng, source, target)
        for side in (stage.source, stage.target):
            if side.emulator is not None:
                side.emulator.faults.latency = 0.03
        spec = {
            "source": [stage.source.provider, stage.source.settings()],
            "target": [stage.target.provider, stage.target.settings()],
            "journal": stage.journal,
        }
        spec_path = os.path.join(folder, "child.json")
        with open(spec_path, "w") as file:
            json.dump(spec, file)
        started = time.time()
        child_process = subprocess.Popen([sys.executable, __file__, "--sync-child", spec_path])
        _wait_for_writes(child_process, stage.target, rng.randint(1, 8), rng)
        child_process.send_signal(signal.SIGKILL)
        child_process.wait()
        in_flight, written = _unresolved(stage.journal), _written_since(stage.journal, started)
        faults = inject_sync(stage.target, rng)
        runs = sync_until_done(stage, rng, runs=1)
        checked = check_sync(stage)
    problems = [] if runs < MAX_RUNS else [f"still failing after {MAX_RUNS} runs"]
    label = [*stage.changes, f"SIGKILL: {written} row(s) journaled, {in_flight} write(s) in flight", *faults]
    return Outcome(seed, (stage.source.provider, stage.target.provider), label, runs, problems + checked)


def _wait_for_writes(
    child_process: subprocess.Popen[bytes], target: Side, writes: int, rng: random.Random
) -> None:
    """Let the child send ``writes`` writes to an emulated target (some time, to a local one)."""
    if target.emulator is None:
        time.sleep(rng.uniform(0.5, 2.5))
        return
    emulator, deadline = target.emulator, time.monotonic() + 20

    def sent() -> int:
        methods = ("POST", "PATCH", "PUT", "DELETE")
        return sum(1 for r in list(emulator.requests) if r.method in methods and r.path != "/token")

    before = sent()  # the staging's own writes
    while child_process.poll() is None and time.monotonic() < deadline:
        if sent() - before >= writes:
            return
        time.sleep(0.002)


def _written_since(journal: str, started: float) -> int:
    """Journal rows the killed child wrote (the rows' times are UTC ISO 8601)."""
    since = datetime.fromtimestamp(started, UTC).isoformat()
    with contextlib.closing(sqlite3.connect(journal)) as db:
        try:
            return int(db.execute("SELECT count(*) FROM items WHERE updated_at >= ?", [since]).fetchone()[0])
        except sqlite3.OperationalError:  # killed before the journal had its tables
            return 0


def sync_child(spec_path: str) -> None:
    with open(spec_path) as file:
        spec = json.load(file)
    with (
        spacekit.connect(spec["source"][0], **spec["source"][1]) as src,
        spacekit.connect(spec["target"][0], **spec["target"][1]) as dst,
    ):
        spacekit.sync(src, dst, apply=True, delete=True, force=True, journal=spec["journal"], concurrency=2)


# -- short listings: a NeuroIO side whose listings end early ---------------------------------

#: how a listing falls short (see ShortPages)
SHORT_KINDS = ("count", "next", "empty", "middle", "hide")


class ShortPages:
    """NeuroIO listings (the requests without ``q``) that end short on purpose, the
    first ``times`` of them (counted from each page at offset 0): ``count`` states
    ``n`` more spaces than there are; ``next`` ends the page holding space ``at``
    just before it (``next`` null); ``empty`` answers the first page from ``at`` on
    empty; ``middle`` leaves spaces ``at`` to ``at + n`` out of the pages, the count
    still telling them; ``hide`` leaves them out of the count too (a listing that adds
    up and still misses them: only a read of its own, or a later listing, finds them).
    Searches are honest."""

    def __init__(self, emu: Emulator, kind: str, at: int, n: int, times: int) -> None:
        self.dispatch, self.kind, self.at, self.n, self.times = emu.dispatch, kind, at, n, times
        self.listings = 0
        self.armed = True
        emu.dispatch = self  # type: ignore[method-assign]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.dispatch(request)
        params = request.url.params
        if (
            not self.armed
            or request.method != "GET"
            or request.url.path != "/v1/spaces/"
            or response.status_code != 200
            or params.get("q")
        ):
            return response
        offset = int(params.get("offset", "0"))
        self.listings += offset == 0
        if self.listings > self.times:
            return response
        body = json.loads(response.content)
        rows, kind, at = body["results"], self.kind, self.at
        if kind == "count":
            body["count"] += self.n
        elif kind == "next" and offset <= at < offset + len(rows):
            body["results"], body["next"] = rows[: at - offset], None
        elif kind == "empty" and offset >= at:
            body["results"], body["next"] = [], None
        elif kind in ("middle", "hide"):
            body["results"] = [r for i, r in enumerate(rows) if not at <= offset + i < at + self.n]
            body["count"] -= self.n if kind == "hide" else 0
        return httpx.Response(200, headers={"Content-Type": "application/json"}, json=body)


def truth(side: Side, short: ShortPages | None) -> list[str]:
    """Every name a side holds, read past the short pages and the faults."""
    if short is not None:
        short.armed = False
    try:
        return [name for name in side.names() if name != "default"]
    finally:
        if short is not None:
            short.armed = True


def short_config(folder: str, *sides: Side) -> str:
    """A configuration file naming the served sides ``source`` and ``target``, for the CLI."""
    lines = []
    for side, role in zip(sides, ("source", "target"), strict=True):
        lines.append(f"[stores.{role}]\nprovider = {json.dumps(side.provider)}")
        lines += [f"{k} = {json.dumps(v)}" for k, v in side.settings().items() if k != "transport"]
    path = os.path.join(folder, "spacekit.toml")
    with open(path, "w", encoding="utf-8") as config:
        config.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def short_run(mode: str, via: str, force: bool, source: Side, target: Side, folder: str) -> tuple[bool, str]:
    """One ``sync --apply --delete`` or ``migrate``, through the library or the CLI:
    whether it said ok (exit 0), and what it said."""
    journal = os.path.join(folder, f"{mode}.db")
    if via == "library":
        try:
            with source.open() as src, target.open() as dst:
                if mode == "sync":
                    report: Any = spacekit.sync(
                        src, dst, apply=True, delete=True, force=force, journal=journal
                    )
                else:
                    report = spacekit.migrate(src, dst, journal=journal)
        except spacekit.SpacekitError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return report.ok, report.summary()
    from click.testing import CliRunner

    from spacekit._cli import main as cli

    with served(source, target):
        config = short_config(folder, source, target)
        args = [mode, "source", "target", "--journal", journal]
        args += ["--apply", "--delete", *(["--force"] if force else [])] if mode == "sync" else []
        result = CliRunner().invoke(cli, args, env={"SPACEKIT_CONFIG": config})
    return result.exit_code == 0, f"exit {result.exit_code}: {result.output.strip()[-300:]}"


def run_short_schedule(seed: int, folder: str) -> Outcome:
    """A NeuroIO side whose listings fall short (see ShortPages), as the source or the
    target of a ``sync --delete`` or a ``migrate``, through the library or the CLI, with
    fewer or more than 10 target spaces. Invariants: no target space deleted while the
    source holds its name; no duplicate (where the short look still added up, no ok
    beside one); no ok on a wrong target; and a listing short fewer times in a row than
    a run tolerates is listed again until the run is ok."""
    from spacekit._listing import SHORT_LISTINGS

    rng = random.Random(seed)
    mode, via = rng.choice(["sync", "migrate"]), rng.choice(["library", "cli"])
    short_side, kind = rng.choice(["source", "target"]), rng.choice(SHORT_KINDS)
    # a store whose every listing adds up while it misses spaces cannot be told from one
    # that holds fewer: a look that adds up and misses some is its first one only
    times = 1 if kind == "hide" else rng.choice([1, 2, 99])
    size, page = rng.choice([rng.randint(3, 9), rng.randint(11, 40)]), rng.randint(3, 10)
    other = rng.choice(["neuroio", "local"])
    source = Side("neuroio" if short_side == "source" else other, folder, "source")
    target = Side("neuroio" if short_side == "target" else other, folder, "target")
    shorted = source if short_side == "source" else target
    emu: Any = shorted.emulator
    emu.max_limit, emu.serves_full_list = page, False
    names = [f"c-{seed}-{i:03d}" for i in range(size)]
    new = [f"new-{seed}-{i}" for i in range(rng.randint(0, 2))]
    strays = [f"stray-{seed}-{i}" for i in range(rng.randint(0, 2))]
    with source.open() as src, target.open() as dst:
        for name in names + new:
            src.create(name)
        for name in names[: size if mode == "sync" else rng.randint(0, size)] + strays:
            dst.create(name)
    at, n = rng.randint(0, size), rng.randint(1, 3)
    short = ShortPages(emu, kind, at, n, times)
    force = rng.random() < 0.5
    faults = [f"{mode} via {via}, {short_side} short: {kind} at {at} n {n}, {times}x; pages of {page}"]
    faults += [f"{size} + {len(new)} source, {len(strays)} strays{', force' if force else ''}"]
    before = collections.Counter(truth(target, short if short_side == "target" else None))
    ok, said = short_run(mode, via, force, source, target, folder)
    theirs = collections.Counter(truth(source, short if short_side == "source" else None))
    after = collections.Counter(truth(target, short if short_side == "target" else None))
    problems = [f"deleted {name!r}, which the source holds" for name in (before - after) if name in theirs]
    doubled = sorted(name for name in theirs if after[name] > max(theirs[name], before[name]))
    if doubled and (ok or not (kind == "hide" and short_side == "target")):
        problems.append(f"duplicates {doubled[:3]} ({'ok' if ok else 'not ok'}): {said}")
    if ok:
        expected = theirs if mode == "sync" else before | theirs
        if after != expected:
            extra, missing = sorted((after - expected).elements()), sorted((expected - after).elements())
            problems.append(f"ok on a wrong target: extra {extra[:3]} missing {missing[:3]}")
    elif kind != "hide" and times < SHORT_LISTINGS:
        problems.append(f"a listing short {times} time(s) was not listed again to the end: {said}")
    return Outcome(seed, (source.provider, target.provider), faults, 1, problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--cases", type=int, default=60, help="adversarial schedules")
    parser.add_argument("--seed", type=int, default=1, help="the first seed")
    parser.add_argument("--verbose", "-v", action="store_true", help="print each schedule's faults")
    parser.add_argument("--sync", type=int, default=100, help="sync fault schedules")
    parser.add_argument("--sync-kills", type=int, default=10, help="sync kill schedules")
    parser.add_argument("--short", type=int, default=60, help="short listing schedules")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sync-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if args.sync_child:
        sync_child(args.sync_child)
        return 0
    started, outcomes = time.monotonic(), []
    jobs = [(run_schedule, args.seed + i) for i in range(args.schedules)]
    jobs += [(run_kill_schedule, args.seed + 10_000 + i) for i in range(args.kills)]
    jobs += [(run_case, args.seed + 40_000 + i) for i in range(args.cases)]
    jobs += [(run_sync_schedule, args.seed + 20_000 + i) for i in range(args.sync)]
    jobs += [(run_sync_kill_schedule, args.seed + 30_000 + i) for i in range(args.sync_kills)]
    jobs += [(run_short_schedule, args.seed + 50_000 + i) for i in range(args.short)]
    for job, seed in jobs:
        with tempfile.TemporaryDirectory() as folder:
            outcome = job(seed, folder)
        outcomes.append(outcome)
        print(outcome.line(), *(["  " + ", ".join(outcome.faults)] if args.verbose else []), flush=True)
    bad = [o for o in outcomes if not o.ok]
    runs = collections.Counter(o.runs for o in outcomes)
    print(
        f"\n{len(outcomes)} schedules in {time.monotonic() - started:.1f} s; runs needed: {dict(sorted(runs.items()))}"
    )
    print(f"{len(bad)} schedule(s) broke an invariant" if bad else "every invariant held")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
