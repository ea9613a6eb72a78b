"""Migrations under faults the chaos suite does not schedule: lies after a commit, a
read-back that misses, timeouts, a source listing failing half-way, expiring and
revoked tokens, long Retry-After, Ctrl-C, awkward names, a target that rewrites
names, and a target emptied by hand. Each ends with a look for duplicates."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from migrate_helpers import emulator, fast_store, mutating

import spacekit
from spacekit import Space
from spacekit._migrate import Action, Outcome, Problem, migrate, verify
from spacekit._migrate._journal import Journal
from spacekit._migrate._record import UNRESOLVED
from spacekit.testing import Emulator

NAMES = ["alpha", "beta", "gamma", "delta", "epsilon"]


@pytest.fixture
def source() -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    for name in NAMES:
        store.create(name, f"about {name}")
    return store


def names(store: spacekit.SpaceStore) -> collections.Counter[str]:
    return collections.Counter(space.name for space in store.list())


def clean(emu: Emulator) -> spacekit.SpaceStore:
    """A store on ``emu`` that sees no more faults (to count what the target holds)."""
    emu.faults.clear()
    return fast_store(emu)


def unresolved(journal: Path) -> list[str]:
    with Journal.open(journal, create=False) as book:
        return [e.source_name for e in book.records() if e.state in UNRESOLVED]


# -- writes whose answer lies ------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body",
    [
        (500, '{"message": "injected"}'),
        (409, '{"message": "A space with this name already exists.", "error_codes": [1009]}'),
        (400, '{"message": "Validation error.", "error_codes": [1000]}'),
    ],
)
def test_a_create_answered_with_an_error_after_the_commit_is_not_duplicated(
    source, tmp_path: Path, status: int, body: str
):
    neuroio = emulator("neuroio")
    neuroio.faults.fail(status, 2, method="POST", body=body, after_commit=True)
    journal = tmp_path / "j.db"
    first = migrate(source, fast_store(neuroio), journal=journal, concurrency=1, on_conflict="rename")
    assert first.ok, [i.error for i in first.failed]
    assert all(i.outcome is Outcome.CREATED for i in first.items)
    assert "not written again" in (first.items[0].reason or "")
    again = migrate(source, fast_store(neuroio), journal=journal, on_conflict="rename")
    assert again.ok and mutating(neuroio).count("POST /v1/spaces/") == len(NAMES)
    assert names(clean(neuroio)) == collections.Counter([*NAMES, "default"])
    assert verify(source, fast_store(neuroio), journal=journal).ok


def test_a_create_failing_before_the_commit_is_still_reported_failed(source, tmp_path: Path):
    neuroio = emulator("neuroio")
    neuroio.faults.fail(400, 1, method="POST", body='{"message": "Validation error.", "error_codes": [1000]}')
    report = migrate(source, fast_store(neuroio), journal=tmp_path / "j.db", concurrency=1)
    assert [i.outcome for i in report.items].count(Outcome.FAILED) == 1
    assert "Validation error" in (report.failed[0].error or "")
    resumed = migrate(source, fast_store(neuroio), journal=tmp_path / "j.db", on_conflict="rename")
    assert resumed.ok and resumed.counts["created"] == 1
    assert names(clean(neuroio)) == collections.Counter([*NAMES, "default"])


class MissingOnce:
    """Datablist's read-back after a create answers 404 (or 503) a number of times."""

    def __init__(self, emu: Emulator, status: int, times: int) -> None:
        self.emu, self.status, self.left = emu, status, times
        self.dispatch = emu.dispatch
        self.created: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.dispatch(request)
        if request.method == "POST" and response.status_code == 201 and request.url.path == "/":
            self.created.add(response.json()["@id"])
        wid = request.url.path.strip("/")
        if request.method == "GET" and wid in self.created and self.left > 0:
            self.left -= 1
            return httpx.Response(self.status, json={"error": {"message": "not there yet"}})
        return response


@pytest.mark.parametrize("status, times", [(404, 1), (503, 10)])
def test_datablist_read_back_missing_after_a_create(source, tmp_path: Path, status: int, times: int):
    datablist = emulator("datablist")
    datablist.dispatch = MissingOnce(datablist, status, times)  # type: ignore[method-assign]
    journal = tmp_path / "j.db"
    first = migrate(source, fast_store(datablist), journal=journal, concurrency=1, on_conflict="rename")
    assert first.ok, [i.error for i in first.failed]
    again = migrate(source, fast_store(datablist), journal=journal, on_conflict="rename")
    assert again.ok and again.counts["skipped"] == len(NAMES)
    assert names(fast_store(datablist)) == collections.Counter(NAMES)
    assert verify(source, fast_store(datablist), journal=journal).ok


def test_datablist_create_survives_a_read_back_404():
    datablist = emulator("datablist")
    datablist.dispatch = MissingOnce(datablist, 404, 1)  # type: ignore[method-assign]
    created = fast_store(datablist).create("alpha")
    assert created.name == "alpha"


def test_a_read_timeout_on_a_create_is_reconciled(source, tmp_path: Path):
    """The POST is handled, but the answer comes after the store's timeout."""
    neuroio = emulator("neuroio")
    dispatch = neuroio.dispatch
    slow = {"left": 2}

    def late(request: httpx.Request) -> httpx.Response:
        response = dispatch(request)
        if request.method == "POST" and slow["left"] > 0:
            slow["left"] -= 1
            time.sleep(0.5)
        return response

    neuroio.dispatch = late  # type: ignore[method-assign]
    journal = tmp_path / "j.db"
    with neuroio.serve() as url:
        target = spacekit.connect(
            "neuroio", **neuroio.connect_settings(url), timeout=0.2, retries=1, backoff=0.001
        )
        report = migrate(source, target, journal=journal, concurrency=1)
        assert report.ok, [i.error for i in report.failed]
        assert verify(source, target, journal=journal).ok
        target.close()
    assert names(clean(neuroio)) == collections.Counter([*NAMES, "default"])


# -- the source listing breaks half-way --------------------------------------------------


def paged_source(count: int) -> Emulator:
    neuroio = emulator("neuroio")
    neuroio.max_limit = 3  # type: ignore[attr-defined]
    for i in range(count):
        neuroio.add_space(f"space-{i:02d}")  # type: ignore[attr-defined]
    return neuroio


def break_page(emu: Emulator, offset: int, answer: Any, times: int) -> None:
    """The list page at ``offset`` answers ``answer`` (a status, or "drop", or "malformed")."""
    dispatch = emu.dispatch
    left = {"n": times}

    def broken(request: httpx.Request) -> httpx.Response:
        page = request.method == "GET" and request.url.params.get("offset") == str(offset)
        if page and left["n"] > 0:
            left["n"] -= 1
            if answer == "drop":
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            if answer == "malformed":
                return httpx.Response(200, headers={"Content-Type": "application/json"}, content=b"{[")
            return httpx.Response(answer, json={"message": "injected"})
        return dispatch(request)

    emu.dispatch = broken  # type: ignore[method-assign]


@pytest.mark.parametrize("answer", [503, "malformed"])
def test_a_source_listing_failing_half_way_then_resumed(tmp_path: Path, answer: Any):
    neuroio = paged_source(14)
    break_page(neuroio, 6, answer, times=3 if answer == 503 else 1)  # as many as the store's attempts
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    journal = tmp_path / "j.db"
    expected = spacekit.ProviderUnavailable if answer == 503 else spacekit.ProtocolError
    with pytest.raises(expected, match=r"listing the source .* failed after 6 space"):
        migrate(fast_store(neuroio), target, journal=journal, concurrency=2)
    assert unresolved(journal) == []
    assert names(target) == collections.Counter(["default", *(f"space-{i:02d}" for i in range(5))])
    report = migrate(fast_store(neuroio), target, journal=journal, concurrency=2)
    assert report.ok and report.counts == {
        "planned": 0,
        "created": 9,
        "updated": 0,
        "skipped": 6,
        "failed": 0,
        "vanished": 0,
    }
    assert set(names(target).values()) == {1} and len(names(target)) == 15
    assert verify(fast_store(neuroio), target, journal=journal).ok


def test_a_dropped_listing_page_is_retried(tmp_path: Path):
    neuroio = paged_source(10)
    break_page(neuroio, 6, "drop", times=1)
    target = spacekit.connect("memory")
    assert migrate(fast_store(neuroio), target).counts["created"] == 11


# -- credentials that change under a running migration -------------------------------------


def test_datablist_token_expiring_mid_run_is_renewed_once(source):
    datablist = emulator("datablist")
    datablist.token_lifetime = 60  # type: ignore[attr-defined]

    def age(space: Space) -> Space:
        if space.name == "gamma":
            datablist.clock.advance(3600)
        return space

    report = migrate(source, fast_store(datablist), transform=age, concurrency=1)
    assert report.ok and report.counts["created"] == len(NAMES)
    assert datablist.token_exchanges() == 2  # type: ignore[attr-defined]
    assert names(fast_store(datablist)) == collections.Counter(NAMES)


def test_datablist_tokens_revoked_mid_run_are_renewed(source):
    datablist = emulator("datablist")

    def revoke(space: Space) -> Space:
        if space.name == "gamma":
            datablist.revoke_tokens()  # type: ignore[attr-defined]
        return space

    report = migrate(source, fast_store(datablist), transform=revoke, concurrency=1)
    assert report.ok and report.counts["created"] == len(NAMES)
    assert datablist.token_exchanges() == 2  # type: ignore[attr-defined]


# -- rate limits --------------------------------------------------------------------------


def test_429_with_an_http_date_retry_after(source):
    neuroio = emulator("neuroio")
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
    neuroio.faults.throttle(2, retry_after=when, method="POST")
    report = migrate(source, fast_store(neuroio, deadline=5.0), concurrency=1)
    assert report.ok and names(clean(neuroio)) == collections.Counter([*NAMES, "default"])


def test_a_retry_after_past_the_deadline_stops_the_run_at_once(source, tmp_path: Path):
    neuroio = emulator("neuroio")
    neuroio.faults.throttle(100, retry_after="3600", method="POST")
    started = time.monotonic()
    with pytest.raises(spacekit.RateLimited, match=r"migration stopped.*3600"):
        migrate(source, fast_store(neuroio), journal=tmp_path / "j.db", concurrency=2)
    assert time.monotonic() - started < 2
    assert len(mutating(neuroio)) <= 2  # the rest never asked
    neuroio.faults.clear()
    assert migrate(source, fast_store(neuroio), journal=tmp_path / "j.db").ok
    assert names(fast_store(neuroio)) == collections.Counter([*NAMES, "default"])


# -- Ctrl-C ---------------------------------------------------------------------------------


def test_ctrl_c_in_a_transform_then_resume(source, tmp_path: Path):
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    journal = tmp_path / "j.db"

    def interrupt(space: Space) -> Space:
        if space.name == "delta":
            raise KeyboardInterrupt
        return space

    with pytest.raises(KeyboardInterrupt):
        migrate(source, target, journal=journal, transform=interrupt, concurrency=4)
    assert unresolved(journal) == []
    assert migrate(source, target, journal=journal).ok
    assert names(target) == collections.Counter(NAMES)
    assert verify(source, target, journal=journal).ok


def interruptible() -> None:
    """In a child: take Ctrl-C by default, even when the test run ignores it (a
    background job's children inherit an ignored SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def served_pair(tmp_path: Path) -> Iterator[tuple[Emulator, dict[str, str]]]:
    """A local source of 40 spaces and a slow NeuroIO target on loopback, in a config file."""
    neuroio = emulator("neuroio")
    neuroio.faults.latency = 0.02
    with spacekit.connect("local", path=str(tmp_path / "src.db")) as store:
        for i in range(40):
            store.create(f"space-{i:02d}")
    with neuroio.serve() as url:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[stores.src]\nprovider = "local"\npath = "{tmp_path / "src.db"}"\n'
            f'[stores.nio]\nprovider = "neuroio"\nbase_url = "{url}"\n'
            f'token = "{neuroio.connect_settings(url)["token"]}"\nbackoff = 0.001\n'
        )
        config.chmod(0o600)
        yield neuroio, {**os.environ, "SPACEKIT_CONFIG": str(config), "NO_COLOR": "1"}


def test_sigint_to_the_cli_exits_130_and_the_same_command_resumes(served_pair, tmp_path: Path):
    neuroio, env = served_pair
    # Hold the creates until the child has been interrupted, so that it is mid-run
    # however slow the machine is; then let the ones in flight finish.
    dispatch, writing, release = neuroio.dispatch, threading.Event(), threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            writing.set()
            release.wait(10)
        return dispatch(request)

    neuroio.dispatch = held  # type: ignore[method-assign]
    command = [sys.executable, "-m", "spacekit", "migrate", "src", "nio", "--journal", str(tmp_path / "j.db")]
    child = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    assert writing.wait(10), "the child never started writing"
    child.send_signal(signal.SIGINT)
    threading.Timer(0.3, release.set).start()
    out, err = child.communicate(timeout=20)
    assert child.returncode == 130, (out, err)
    assert "Traceback" not in err and "Interrupted" in err and "run the same command again" in err
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    counted = names(clean(neuroio))
    assert counted == collections.Counter(["default", *(f"space-{i:02d}" for i in range(40))])
    check = subprocess.run(
        [*command[:3], "verify", "src", "nio", "--journal", str(tmp_path / "j.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stdout


# -- names --------------------------------------------------------------------------------


def test_two_source_spaces_with_one_name_each_get_their_own_target_space(tmp_path: Path):
    source = spacekit.connect("memory")
    for _ in range(2):
        source.create("Team", "same name")
    target = spacekit.connect("memory")
    journal = tmp_path / "j.db"
    report = migrate(source, target, journal=journal, concurrency=1)
    assert report.ok and report.counts["created"] == 2
    assert names(target) == {"Team": 2}
    assert migrate(source, target, journal=journal).counts["skipped"] == 2
    assert verify(source, target, journal=journal).ok
    assert verify(source, target).ok


@pytest.mark.parametrize(
    "policy, expected, outcomes",
    [
        ("skip", {"Team": 1}, [Outcome.SKIPPED, Outcome.SKIPPED]),
        ("rename", {"Team": 1, "Team (2)": 1, "Team (3)": 1}, [Outcome.CREATED, Outcome.CREATED]),
        ("fail", {"Team": 1}, [Outcome.FAILED, Outcome.FAILED]),
        ("update", {"Team": 2}, [Outcome.UPDATED, Outcome.CREATED]),
    ],
)
def test_two_source_spaces_with_a_name_the_target_already_has(policy, expected, outcomes):
    source = spacekit.connect("memory")
    source.create("Team", "first")
    source.create("Team", "second")
    for concurrency in (1, 8):  # the plan does not depend on the timing of the writes
        target = spacekit.connect("memory")
        target.create("Team", "theirs")
        report = migrate(source, target, on_conflict=policy, concurrency=concurrency)
        assert [i.outcome for i in report.items] == outcomes
        assert names(target) == expected


def test_names_differing_by_case_or_whitespace_stay_distinct():
    source = spacekit.connect("memory")
    for name in ("Team", "team", " Team", "Team "):
        source.create(name)
    target = spacekit.connect("memory")
    report = migrate(source, target)
    assert report.ok and report.counts["created"] == 4
    assert names(target) == collections.Counter(["Team", "team", " Team", "Team "])
    assert verify(source, target).ok


def test_a_rename_of_a_name_at_the_limit_still_fits():
    long = "x" * 255
    source = spacekit.connect("memory")
    source.create(long)
    target = spacekit.connect("memory")
    target.create(long)
    report = migrate(source, target, on_conflict="rename")
    assert report.ok, report.failed
    renamed = report.items[0].target_name or ""
    assert len(renamed) == 255 and renamed.endswith(" (2)")
    assert names(target)[renamed] == 1


class StrippingNeuroIO:
    """A NeuroIO emulator whose create strips surrounding whitespace and cuts names at
    40, and a store whose provider declares that rewriting (``stored_name``)."""

    @staticmethod
    def make() -> Emulator:
        base = type(emulator("neuroio"))

        class Normalizing(base):  # type: ignore[misc, valid-type]
            def add_space(self, name: str) -> dict[str, Any]:
                return super().add_space(name.strip()[:40])

        return Normalizing()

    @staticmethod
    def store(emu: Emulator) -> spacekit.SpaceStore:
        from spacekit._remote import RemoteStore

        plain = fast_store(emu)
        provider = type(plain._provider)  # type: ignore[attr-defined]

        class Declaring(provider):  # type: ignore[misc, valid-type]
            def stored_name(self, name: str) -> str:
                return name.strip()[:40]

        return RemoteStore(Declaring(plain._provider.config))  # type: ignore[attr-defined]


@pytest.mark.parametrize("fault", [None, "commit-drop"])
def test_a_target_that_rewrites_names_gets_no_duplicate(tmp_path: Path, fault: str | None):
    source = spacekit.connect("memory")
    for name in ("  padded  ", "a name much longer than forty characters, cut by the target", "plain"):
        source.create(name)
    neuroio = StrippingNeuroIO.make()
    if fault:
        neuroio.faults.drop(3, after_commit=True, method="POST")
    journal = tmp_path / "j.db"
    first = migrate(source, StrippingNeuroIO.store(neuroio), journal=journal, concurrency=1)
    again = migrate(source, StrippingNeuroIO.store(neuroio), journal=journal)
    assert first.ok and again.ok, [i.error for i in first.failed + again.failed]
    held = names(clean(neuroio))
    assert held == collections.Counter(
        ["default", "padded", "a name much longer than forty characters", "plain"]
    )
    renamed = {i.source_name: i.target_name for i in first.items}
    assert renamed["  padded  "] == "padded"
    assert verify(source, fast_store(neuroio), journal=journal).ok


# -- a target emptied by hand ---------------------------------------------------------------


def test_resume_after_the_target_was_emptied_by_hand(source, tmp_path: Path):
    target = spacekit.connect("local", path=str(tmp_path / "t.db"))
    journal = tmp_path / "j.db"
    assert migrate(source, target, journal=journal).ok
    for space in list(target.list()):
        target.delete(space.id)
    gone = verify(source, target, journal=journal)
    assert {i.problem for i in gone.problems} == {Problem.MISSING} and len(gone.problems) == len(NAMES)
    dry = migrate(source, target, journal=journal, dry_run=True)
    assert all(i.outcome is Outcome.PLANNED for i in dry.items)
    report = migrate(source, target, journal=journal)
    assert report.ok and report.counts["created"] == len(NAMES)
    assert all("no longer on the target" in (i.reason or "") for i in report.items)
    assert names(target) == collections.Counter(NAMES)
    assert verify(source, target, journal=journal).ok


def test_nothing_is_claimed_for_a_target_that_lost_some_spaces(source, tmp_path: Path):
    target = spacekit.connect("memory")
    journal = tmp_path / "j.db"
    migrate(source, target, journal=journal)
    beta = next(s for s in target.list() if s.name == "beta")
    target.delete(beta.id)
    report = migrate(source, target, journal=journal)
    actions = {i.source_name: (i.action, i.outcome) for i in report.items}
    assert actions["beta"] == (Action.CREATE, Outcome.CREATED)
    assert actions["alpha"] == (Action.SKIP, Outcome.SKIPPED)
    assert names(target) == collections.Counter(NAMES)
