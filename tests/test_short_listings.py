"""Listings that add up: a listing that ends short of the count its provider states is
never taken as complete, in the listing guard and in the runs built on it.

The hostile cases run against ``short_servers.ShortServer`` (a NeuroIO-shaped API
written from the published facts, not the plugin's emulator), each under a memory
ceiling.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

import httpx
import pytest
import short_servers
from short_servers import Short, ShortServer

import spacekit
from spacekit import ProtocolError, Space
from spacekit._listing import SHORT_LISTINGS, IncompleteListing, guarded
from spacekit.plugin import ListOperation, Request, Response, Stated

# -- the guard alone ---------------------------------------------------------------------


def stating(pages: list[tuple[list[str], int | None]]) -> ListOperation:
    """A listing serving ``pages`` of ids, each followed by the count it states."""
    for number, (ids, count) in enumerate(pages):
        yield Request("GET", "/spaces/", params={"page": str(number)})
        for space_id in ids:
            yield Space("fake", space_id, f"name {space_id}")
        if count is not None:
            yield Stated(count)


def drive(listing: ListOperation, into: list[str] | None = None) -> list[str]:
    """Run a listing as the engine does; the ids handed out (also into ``into``, as they come)."""
    out = into if into is not None else []
    item = next(listing)
    try:
        while True:
            if isinstance(item, Request):
                item = listing.send(Response(200, {}, b"{}", item))
            else:
                out.append(item.id)
                item = listing.send(None)
    except StopIteration:
        return out


def test_a_listing_short_of_its_count_is_incomplete_after_handing_out_what_it_listed():
    listed: list[str] = []
    listing = guarded(stating([(["1", "2"], 3)]), "fake")
    with pytest.raises(IncompleteListing, match=r"fake said 3 space.*2 were listed") as caught:
        drive(listing, listed)
    assert listed == ["1", "2"]
    assert isinstance(caught.value, ProtocolError) and (caught.value.stated, caught.value.listed) == (3, 2)


@pytest.mark.parametrize(
    "pages",
    [
        [(["1", "2"], 2)],
        [(["1", "2"], None)],  # no count stated: nothing to hold it to
        [(["1", "2"], 3), (["3"], 3)],
        [(["1", "2"], 4), (["3"], 3)],  # the count changed between pages: the last one holds
        [(["1", "2", "2"], 2)],  # a repeat is not counted twice, nor missed
    ],
)
def test_a_listing_that_adds_up_is_complete(pages):
    assert len(drive(guarded(stating(pages), "fake"))) == pages[-1][1] or pages[-1][1] is None


def test_repeats_do_not_make_up_for_missing_spaces():
    with pytest.raises(IncompleteListing, match="said 3 space"):
        drive(guarded(stating([(["1", "2", "1", "2"], 3)]), "fake"))


def test_the_count_of_a_search_holds_for_every_space_the_provider_gave_before_the_name_filter():
    listing = stating([(["a", "b", "c"], 3)])  # names "name a"...: a query "a" keeps one
    assert drive(guarded(listing, "fake", "name a")) == ["a"]
    with pytest.raises(IncompleteListing, match="matching 'name a'"):
        drive(guarded(stating([(["a", "b"], 3)]), "fake", "name a"))


def test_stated_takes_only_a_count():
    for bad in (-1, True, 1.5, "3"):
        with pytest.raises(ValueError):
            Stated(bad)  # type: ignore[arg-type]
    assert repr(Stated(3)) == "Stated(3)"


# -- NeuroIO against a short server (each under a memory ceiling) ---------------------------


def names(count: int) -> list[str]:
    return [f"space {n:03d}" for n in range(count)]


def listed(server: ShortServer) -> list[Space]:
    with server.store() as store:
        return list(store.list())


def case_count_3_with_2_listed() -> None:
    server = ShortServer(names(2), short=Short("count", n=1, times=99))
    with pytest.raises(IncompleteListing, match=r"neuroio said 3 space.*2 were listed"):
        listed(server)


def case_251_in_pages_of_100_the_third_short() -> None:
    server = ShortServer(names(251), short=Short("next", at=200, n=10, times=99))
    with pytest.raises(IncompleteListing, match=r"neuroio said 251 space.*210 were listed"):
        listed(server)


def case_an_empty_page_early() -> None:
    server = ShortServer(names(150), short=Short("empty", at=100, times=99))
    with pytest.raises(IncompleteListing, match=r"said 150 space.*100 were listed"):
        listed(server)


def case_a_short_page_in_the_middle() -> None:
    server = ShortServer(names(7), page=3, short=Short("middle", at=3, n=1, times=99))
    with pytest.raises(IncompleteListing, match=r"said 7 space.*6 were listed"):
        listed(server)


def case_the_full_list_states_its_count_too() -> None:
    server = ShortServer(names(3), short=Short("count", n=1, times=99))

    def full_list(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/lists/spaces/":
            rows = [{"id": k, "name": v} for k, v in sorted(server.spaces.items())][:2]
            return httpx.Response(200, json={"count": 3, "next": None, "results": rows})
        return server(request)

    store = spacekit.connect(
        "neuroio",
        token="t",
        base_url="https://short.test",
        transport=httpx.MockTransport(full_list),
        retries=0,
    )
    with store, pytest.raises(IncompleteListing, match="said 4 space"):  # the pages then lie too
        list(store.list())


def case_a_listing_short_only_once_is_complete_the_next_time() -> None:
    server = ShortServer(names(251), short=Short("next", at=200, n=10, times=1))
    with pytest.raises(IncompleteListing):
        listed(server)
    assert len(listed(server)) == 251


@pytest.mark.parametrize(
    "case",
    [
        case_count_3_with_2_listed,
        case_251_in_pages_of_100_the_third_short,
        case_an_empty_page_early,
        case_a_short_page_in_the_middle,
        case_the_full_list_states_its_count_too,
        case_a_listing_short_only_once_is_complete_the_next_time,
    ],
)
@pytest.mark.memory_ceiling
def test_neuroio_listing_short_of_its_count(case: Any) -> None:
    case()


# -- migrate ------------------------------------------------------------------------------


def case_migrate_lists_a_short_source_again() -> None:
    source = ShortServer(names(251), short=Short("next", at=200, n=10, times=SHORT_LISTINGS - 1))
    target = spacekit.connect("memory")
    with source.store() as src:
        report = spacekit.migrate(src, target)
    assert report.ok and report.counts["created"] == 251
    assert len({s.name for s in target.list()}) == 251


def case_migrate_a_source_always_short_is_unreadable() -> None:
    source = ShortServer(names(251), short=Short("next", at=200, n=10, times=99))
    target = spacekit.connect("memory")
    with (
        source.store() as src,
        pytest.raises(ProtocolError, match=r"said 251 space.*210 were listed") as caught,
    ):
        spacekit.migrate(src, target)
    assert f"{SHORT_LISTINGS} listings in a row fell short" in str(caught.value)
    assert len(list(target.list())) == 210  # the spaces it did list exist: they were copied, once


def case_migrate_a_short_first_look_at_the_target_duplicates_nothing() -> None:
    for count in (4, 14):
        target = ShortServer(names(count), page=3, short=Short("next", at=0, n=0, times=1))
        source = spacekit.connect("memory")
        for name in names(count):
            source.create(name)
        with target.store() as dst:
            report = spacekit.migrate(source, dst)
        assert report.ok and report.counts["created"] == 0, report.counts
        assert target.names() == names(count)  # no duplicate


def case_migrate_a_duplicate_made_from_a_look_that_added_up_is_not_ok() -> None:
    target = ShortServer(names(4), page=3, short=Short("hide", at=1, n=1, times=1))
    source = memory_with(4)
    with target.store() as dst:
        report = spacekit.migrate(source, dst)
    assert not report.ok and report.counts["created"] == 1
    (mismatch,) = report.mismatches
    assert "holds 'space 001' 2 times (2, 5), the source 1" in mismatch


def case_migrate_a_target_always_short_writes_nothing() -> None:
    target = ShortServer(names(4), short=Short("count", n=2, times=99))
    source = spacekit.connect("memory")
    source.create("new one")
    with target.store() as dst, pytest.raises(ProtocolError, match=r"target.*nothing was written"):
        spacekit.migrate(source, dst)
    assert not [line for line in target.log if not line.startswith("GET")]


@pytest.mark.parametrize(
    "case",
    [
        case_migrate_lists_a_short_source_again,
        case_migrate_a_source_always_short_is_unreadable,
        case_migrate_a_short_first_look_at_the_target_duplicates_nothing,
        case_migrate_a_duplicate_made_from_a_look_that_added_up_is_not_ok,
        case_migrate_a_target_always_short_writes_nothing,
    ],
)
@pytest.mark.memory_ceiling
def test_migrate_with_short_listings(case: Any) -> None:
    case()


# -- threads sized by the work --------------------------------------------------------------


@pytest.mark.parametrize("spaces", [0, 3, 50])
def test_migrate_starts_no_more_workers_than_spaces(monkeypatch: pytest.MonkeyPatch, spaces: int) -> None:
    from spacekit._migrate import _run

    started: list[str] = []

    class Counted(threading.Thread):
        def start(self) -> None:
            started.append(self.name)
            super().start()

    monkeypatch.setattr(_run.threading, "Thread", Counted)
    source, target = spacekit.connect("memory"), spacekit.connect("memory")
    for n in range(spaces):
        source.create(f"s{n}")
    report = spacekit.migrate(source, target, concurrency=10**9)
    assert report.ok and report.counts["created"] == spaces
    assert len(started) <= min(spaces, _run.MAX_WORKERS)
    assert started or not spaces


# -- sync --delete ---------------------------------------------------------------------------


def memory_with(count: int, extra: tuple[str, ...] = ()) -> spacekit.SpaceStore:
    store = spacekit.connect("memory")
    for name in (*names(count), *extra):
        store.create(name)
    return store


def case_sync_a_source_always_short_deletes_nothing() -> None:
    shorts = (
        (2, 3, Short("count", n=1, times=99), 100),  # count 3, 2 listed
        (251, 251, Short("next", at=200, n=10, times=99), 100),  # the page at 200 holds 10
        (7, 7, Short("middle", at=3, n=1, times=99), 3),  # 7 spaces, 1 missing
    )
    for served, count, short, page in shorts:
        source = ShortServer(names(served), short=short, page=page)
        target = memory_with(count)
        with source.store() as src, pytest.raises(ProtocolError, match=r"source.*nothing was written"):
            spacekit.sync(src, target, apply=True, delete=True, force=True)
        assert len(list(target.list())) == count


def case_sync_a_source_short_once_is_listed_again() -> None:
    source = ShortServer(names(251), short=Short("next", at=200, n=10, times=1))
    target = memory_with(251, extra=("stray",))
    with source.store() as src:
        report = spacekit.sync(src, target, apply=True, delete=True)
    assert report.ok, report.summary()
    assert [i.target_name for i in report.items if i.outcome.value == "deleted"] == ["stray"]
    assert len(list(target.list())) == 251


def case_sync_a_listing_that_adds_up_but_misses_a_space_deletes_nothing() -> None:
    """Seven spaces, one left out of the listing and of its count: only the search by
    name (NeuroIO's ``q``) shows it is there; its delete and every other is held back."""
    source = ShortServer(names(7), page=3, short=Short("hide", at=3, n=1, times=99))
    target = memory_with(7, extra=("stray",))
    with source.store() as src:
        report = spacekit.sync(src, target, apply=True, delete=True, concurrency=1)
    assert not report.ok and report.unreadable and "space 003" in report.unreadable
    assert len(report.held_back) >= 1 and "held back" in report.summary()
    assert "space 003" in {s.name for s in target.list()}  # never deleted


def case_sync_a_journaled_pair_is_proven_gone_by_get() -> None:
    source = ShortServer(names(7), page=3)
    target = spacekit.connect("memory")
    with source.store() as src, tempfile.TemporaryDirectory() as folder:
        journal = os.path.join(folder, "journal.db")
        assert spacekit.sync(src, target, apply=True, journal=journal).ok
        source.short = Short("hide", at=3, n=1, times=99)  # now the listing misses one
        report = spacekit.sync(src, target, apply=True, delete=True, journal=journal)
    assert not report.ok and report.unreadable and "a get of the id" in report.unreadable
    assert len(list(target.list())) == 7
    assert not any(line.startswith("DELETE") for line in source.log)


def case_sync_a_second_listing_proves_the_deletes_of_a_transformed_sync() -> None:
    source = ShortServer(names(7), page=3, short=Short("hide", at=3, n=1, times=1))
    target = memory_with(7, extra=("stray",))
    with source.store() as src:
        # one thread: the deletes are tried in order, space 003's first (with more, the
        # stray's may be proven and sent before space 003's is held back: either is right)
        report = spacekit.sync(src, target, apply=True, delete=True, transform=lambda s: s, concurrency=1)
    assert not report.ok and "second full listing" in (report.unreadable or "")
    assert len(list(target.list())) == 8


def case_sync_a_short_first_look_at_the_target_duplicates_nothing() -> None:
    for count in (4, 14):
        target = ShortServer(names(count), page=3, short=Short("next", at=0, n=0, times=1))
        source = memory_with(count + 1)
        with target.store() as dst:
            report = spacekit.sync(source, dst, apply=True)
        assert report.ok and report.counts["created"] == 1, report.summary()
        assert target.names() == names(count + 1)


def case_sync_a_duplicate_made_from_a_look_that_added_up_is_not_ok() -> None:
    target = ShortServer(names(4), page=3, short=Short("hide", at=1, n=1, times=1))
    source = memory_with(4)
    with target.store() as dst:
        report = spacekit.sync(source, dst, apply=True)
    assert not report.ok
    assert any("holds 'space 001' 2 times" in m for m in report.mismatches), report.mismatches


@pytest.mark.parametrize(
    "case",
    [
        case_sync_a_source_always_short_deletes_nothing,
        case_sync_a_source_short_once_is_listed_again,
        case_sync_a_listing_that_adds_up_but_misses_a_space_deletes_nothing,
        case_sync_a_journaled_pair_is_proven_gone_by_get,
        case_sync_a_second_listing_proves_the_deletes_of_a_transformed_sync,
        case_sync_a_short_first_look_at_the_target_duplicates_nothing,
        case_sync_a_duplicate_made_from_a_look_that_added_up_is_not_ok,
    ],
)
@pytest.mark.memory_ceiling
def test_sync_with_short_listings(case: Any) -> None:
    case()


def test_a_delete_answered_not_found_is_already_gone() -> None:
    source, target = memory_with(2), memory_with(2, extra=("stray",))
    stray = next(s for s in target.list() if s.name == "stray")

    real_delete = target.delete

    def delete(space_id: str) -> None:
        real_delete(space_id)
        real_delete(space_id)  # someone else was first: this run's delete finds nothing

    target.delete = delete  # type: ignore[method-assign]
    report = spacekit.sync(source, target, apply=True, delete=True)
    (item,) = [i for i in report.items if i.target_id == stray.id]
    assert item.outcome.value == "already gone" and report.ok, report.summary()


def test_sync_lists_the_source_again_before_it_says_matches() -> None:
    source, target = memory_with(3), spacekit.connect("memory")
    renamed: list[str] = []

    def rename_once(item: Any) -> None:
        if not renamed:
            space = next(iter(source.list()))
            renamed.append(source.update(space.id, name="renamed meanwhile").id)

    report = spacekit.sync(source, target, apply=True, progress=rename_once)
    assert not report.ok and "matches" not in report.summary()
    assert any("renamed meanwhile" in m for m in report.mismatches), report.mismatches


# -- the command line ------------------------------------------------------------------------


def cli_sync(url: str, folder: str, *args: str) -> Any:
    from click.testing import CliRunner

    from spacekit._cli import main

    target = os.path.join(folder, "target.db")
    with spacekit.connect("local", path=target) as store:
        for name in (*names(251), "stray"):
            store.create(name)
    config = os.path.join(folder, "spacekit.toml")
    with open(config, "w", encoding="utf-8") as out:
        out.write(
            f'[stores.source]\nprovider = "neuroio"\ntoken = "{short_servers.TOKEN}"\nbase_url = "{url}"\n'
            f'retries = 0\n[stores.target]\nprovider = "local"\npath = "{target}"\n'
        )
    os.chmod(config, 0o600)
    result = CliRunner().invoke(main, list(args), env={"SPACEKIT_CONFIG": config})
    with spacekit.connect("local", path=target) as store:
        return result, sorted(space.name for space in store.list())


def case_cli_sync_with_a_source_always_short_exits_5_and_deletes_nothing() -> None:
    server = ShortServer(names(251), short=Short("next", at=200, n=10, times=99))
    with server.serve() as url, tempfile.TemporaryDirectory() as folder:
        result, left = cli_sync(url, folder, "sync", "source", "target", "--apply", "--delete")
    assert result.exit_code == 5, result.output
    assert "said 251 space(s), 210 were listed" in result.output and "nothing was written" in result.output
    assert len(left) == 252


def case_cli_sync_with_a_listing_that_adds_up_but_misses_exits_5_holding_deletes_back() -> None:
    server = ShortServer(names(251), short=Short("hide", at=200, n=1, times=99))
    with server.serve() as url, tempfile.TemporaryDirectory() as folder:
        result, left = cli_sync(url, folder, "sync", "source", "target", "--apply", "--delete")
    assert result.exit_code == 5, result.output
    assert "delete(s) held back" in result.output and "space 200" in result.output
    assert short_servers.TOKEN not in result.output
    assert "space 200" in left and "Traceback" not in result.output


def cli_migrate_one_space_into(server: ShortServer) -> Any:
    """`spacekit migrate source target`: a local source holding "new one", the server the target."""
    from click.testing import CliRunner

    from spacekit._cli import main

    with server.serve() as url, tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "spacekit.toml")
        with open(config, "w", encoding="utf-8") as out:
            out.write(
                f'[stores.target]\nprovider = "neuroio"\ntoken = "{short_servers.TOKEN}"\nbase_url = "{url}"\n'
                f'retries = 0\n[stores.source]\nprovider = "local"\npath = "{folder}/source.db"\n'
            )
        os.chmod(config, 0o600)
        with spacekit.connect("local", path=os.path.join(folder, "source.db")) as store:
            store.create("new one")
        return CliRunner().invoke(main, ["migrate", "source", "target"], env={"SPACEKIT_CONFIG": config})


def case_cli_migrate_with_a_target_always_short_exits_5() -> None:
    server = ShortServer(names(7), page=3, short=Short("count", n=1, times=99))
    result = cli_migrate_one_space_into(server)
    assert result.exit_code == 5, result.output
    assert "said 8 space(s), 7 were listed" in result.output
    assert not [line for line in server.log if not line.startswith("GET")]


class ShortAfterTheFirstWrite(ShortServer):
    """Every listing of the target adds up until a space is created; then none does."""

    def answer(self, method: str, path: str, params: dict[str, str], content: bytes) -> tuple[int, Any]:
        if method == "POST" and self.short is None:
            self.short, self.listings = Short("count", n=2, times=10**6), 0
        return super().answer(method, path, params, content)


def test_migrate_whose_closing_look_at_the_target_falls_short_is_not_ok() -> None:
    server = ShortAfterTheFirstWrite(names(4), page=3)
    with spacekit.connect("memory") as source, server.store() as target:
        for name in ("new 1", "new 2"):
            source.create(name)
        report = spacekit.migrate(source, target, concurrency=1)
    assert not report.ok
    assert report.unreadable is not None and "said 8 space(s), 6 were listed" in report.unreadable
    assert "could not be listed again to confirm it" in report.summary()
    assert report.to_dict()["unreadable"] == report.unreadable
    assert sorted(server.names()) == sorted([*names(4), "new 1", "new 2"])  # written once each


def case_cli_migrate_whose_closing_look_at_the_target_falls_short_exits_5() -> None:
    server = ShortAfterTheFirstWrite(names(4), page=3)
    result = cli_migrate_one_space_into(server)
    assert result.exit_code == 5, result.output
    assert "could not be listed again to confirm it" in result.output
    assert short_servers.TOKEN not in result.output
    assert server.names().count("new one") == 1


@pytest.mark.parametrize(
    "case",
    [
        case_cli_migrate_whose_closing_look_at_the_target_falls_short_exits_5,
        case_cli_sync_with_a_source_always_short_exits_5_and_deletes_nothing,
        case_cli_sync_with_a_listing_that_adds_up_but_misses_exits_5_holding_deletes_back,
        case_cli_migrate_with_a_target_always_short_exits_5,
    ],
)
@pytest.mark.memory_ceiling
def test_the_cli_with_short_listings(case: Any) -> None:
    case()
