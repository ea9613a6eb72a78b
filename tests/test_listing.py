"""spacekit._listing: no listing repeats an id or goes round, in every plugin.

The wrapper is checked alone (a sans-I/O listing driven by hand), then through each
plugin's store against its emulator, with the listing answers rewritten on the way
out: pages cycling A, B, A, B; a page of only repeated ids; a space deleted while
the listing runs (the offsets shift back, so one space is skipped but none repeats).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from migrate_helpers import emulator, fast_store

import spacekit
from spacekit import ProtocolError, Space
from spacekit._listing import IDLE_REQUESTS, IncompleteListing, guarded
from spacekit.plugin import ListOperation, Request, Response

# -- the wrapper alone -----------------------------------------------------------------


def pages(*pages: list[str], error_at: int | None = None) -> ListOperation:
    """A provider listing that serves ``pages`` of ids, one request each."""
    for number, ids in enumerate(pages):
        request = Request("GET", "/spaces/", params={"page": str(number)})
        try:
            response = yield request
        except spacekit.ProviderUnavailable:
            if number != error_at:
                raise
            response = yield request  # asked again: the provider decides what an error means
        assert isinstance(response, Response)
        for space_id in ids:
            sent = yield Space("fake", space_id, f"space {space_id}")
            assert sent is None


def drive(listing: ListOperation, *, fail: int | None = None) -> tuple[list[str], int]:
    """Run a listing as the engine does; the ids handed out and the requests made."""
    out: list[str] = []
    requests = 0
    item = next(listing)
    try:
        while True:
            if isinstance(item, Request):
                requests += 1
                if requests == fail:
                    item = listing.throw(spacekit.ProviderUnavailable("down", provider="fake"))
                    continue
                item = listing.send(Response(200, {}, b"{}", item))
            else:
                out.append(item.id)
                item = listing.send(None)
    except StopIteration:
        return out, requests


def test_ids_already_handed_out_are_dropped():
    ids, requests = drive(guarded(pages(["1", "2", "3"], ["3", "4"], ["2", "5", "5"]), "fake"))
    assert ids == ["1", "2", "3", "4", "5"] and requests == 3


@pytest.mark.parametrize(
    "served",
    [
        (["1", "2"], ["1", "2"]),  # the same page again
        (["1", "2"], ["3", "4"], ["1", "2"], ["3", "4"]),  # A, B, A, B
        (["1", "2"], ["3"], ["2", "3", "1"]),  # only seen ids, in another order
    ],
)
def test_a_page_of_only_seen_ids_ends_the_listing_with_a_protocol_error(served):
    listing = guarded(pages(*served, *served, *served), "fake")
    with pytest.raises(ProtocolError, match="only spaces already listed") as caught:
        drive(listing)
    assert caught.value.provider == "fake" and "GET /spaces/" in str(caught.value)


def test_a_cycle_is_stopped_after_a_bounded_number_of_requests():
    def forever() -> ListOperation:
        while True:
            for ids in (["a", "b"], ["c"]):
                yield Request("GET", "/spaces/")
                for space_id in ids:
                    yield Space("fake", space_id, space_id)

    requests = 0
    listing = guarded(forever(), "fake")
    with pytest.raises(ProtocolError):
        for item in iter(lambda: next(listing), None):
            requests += isinstance(item, Request)
            if isinstance(item, Request):
                listing.send(Response(200, {}, b"", item))
    assert requests <= 3


def test_pages_that_bring_nothing_forever_are_stopped():
    def empty_forever() -> ListOperation:
        while True:
            yield Request("GET", "/spaces/")

    with pytest.raises(ProtocolError, match="brought no new space"):
        drive(guarded(empty_forever(), "fake"))


def test_pages_that_bring_nothing_are_allowed_for_a_while():
    quiet = [[] for _ in range(IDLE_REQUESTS // 2)]
    assert drive(guarded(pages(["1"], *quiet, ["2"]), "fake"))[0] == ["1", "2"]


def test_errors_thrown_in_reach_the_provider():
    ids, requests = drive(guarded(pages(["1"], ["2"], error_at=1), "fake"), fail=2)
    assert ids == ["1", "2"] and requests == 3
    with pytest.raises(spacekit.ProviderUnavailable):
        drive(guarded(pages(["1"], ["2"]), "fake"), fail=2)


def test_closing_the_wrapper_closes_the_listing():
    closed = []

    def listing() -> ListOperation:
        try:
            yield Request("GET", "/")
            yield Space("fake", "1", "one")
            yield Space("fake", "2", "two")
        finally:
            closed.append(True)

    wrapped = guarded(listing(), "fake")
    request = next(wrapped)
    assert isinstance(wrapped.send(Response(200, {}, b"", request)), Space)
    wrapped.close()
    assert closed == [True]


# -- every plugin, against its emulator --------------------------------------------------

#: where each provider's listing answer keeps its spaces
LISTED: dict[str, tuple[str, str, str]] = {
    "neuroio": ("GET", "/v1/spaces/", "results"),
    "datablist": ("GET", "/", "data"),
    "instabase": ("GET", "/api/v1/spaces/list", "spaces"),
}


def seeded(provider: str, count: int) -> Any:
    emu = emulator(provider)
    if provider == "neuroio":
        emu.max_limit = 5
        emu.serves_full_list = False  # list by pages
        for i in range(count):
            emu.add_space(f"space-{i:03d}")
    elif provider == "datablist":
        for i in range(count):
            emu.add_workspace(f"space-{i:03d}")
    return emu


def rewrite(emu: Any, provider: str, change: Callable[[list[Any], int], list[Any]]) -> None:
    """Pass every listing answer's spaces through ``change(spaces, number)``: the
    answer's page number (its offset over the page size) for NeuroIO, whose pages may
    be asked for together and answered in any order; else how many answers came before."""
    method, path, key = LISTED[provider]
    dispatch = emu.dispatch
    answered = [0]

    def rewritten(request: httpx.Request) -> httpx.Response:
        response = dispatch(request)
        if request.method != method or request.url.path != path or response.status_code != 200:
            return response
        body = json.loads(response.content)
        if provider == "neuroio":
            number = int(request.url.params["offset"]) // emu.max_limit
        else:
            number, answered[0] = answered[0], answered[0] + 1
        body[key] = change(body[key], number)
        return httpx.Response(200, headers={"Content-Type": "application/json"}, json=body)

    emu.dispatch = rewritten


@pytest.mark.parametrize("provider", sorted(LISTED))
def test_repeated_ids_in_an_answer_are_listed_once(provider: str):
    emu = seeded(provider, 7)
    rewrite(emu, provider, lambda spaces, _: spaces + spaces[:2] + spaces[-1:])
    ids: list[str] = []
    with fast_store(emu) as store:
        if provider == "neuroio":  # the repeats move the offsets past spaces: the count tells
            with pytest.raises(IncompleteListing, match="neuroio said 8 space"):
                ids.extend(space.id for space in store.list())
        else:
            ids.extend(space.id for space in store.list())
    assert len(ids) == len(set(ids)) and len(ids) >= 2


@pytest.mark.parametrize("provider", sorted(LISTED))
def test_an_answer_of_only_seen_ids_is_a_protocol_error(provider: str):
    """For the one-answer providers, a second listing request cannot happen; for
    NeuroIO, whose pages repeat the first one, it ends the listing loudly."""
    emu = seeded(provider, 12)
    first: list[Any] = []

    def repeat_first(spaces: list[Any], number: int) -> list[Any]:
        if number == 0:
            first.extend(spaces)
        return list(first)

    rewrite(emu, provider, repeat_first)
    with fast_store(emu) as store:
        if provider != "neuroio":
            ids = [space.id for space in store.list()]
            assert len(ids) == len(set(ids))
            return
        listed: list[str] = []
        with pytest.raises(ProtocolError, match="only spaces already listed"):
            listed.extend(space.id for space in store.list())
    # after the refused full list: the first page, then the two left (its count says so),
    # asked for together; the first of them repeats the first page
    assert len([r for r in emu.requests if r.path == "/v1/spaces/"]) == 3


def test_neuroio_pages_cycling_are_a_protocol_error_after_few_requests():
    emu = seeded("neuroio", 20)
    seen_pages: list[list[Any]] = []

    def cycle(spaces: list[Any], number: int) -> list[Any]:
        if number < 2:
            seen_pages.append(spaces)
            return spaces
        return seen_pages[number % 2]  # A, B, A, B...

    rewrite(emu, "neuroio", cycle)
    listed: list[Space] = []
    with fast_store(emu) as store, pytest.raises(ProtocolError, match="go round"):
        listed.extend(store.list())
    assert len(listed) == 10  # A and B, once each
    # after the refused full list: the first page (A), then the four its count says are
    # left, asked for together and read in order: B, then A again stops the listing
    assert len([r for r in emu.requests if r.path == "/v1/spaces/"]) == 5


def test_neuroio_a_space_deleted_while_listing_skips_one_and_repeats_none():
    """The shift the wrapper cannot see: migrations list again to catch it."""
    emu = seeded("neuroio", 14)
    with fast_store(emu) as store:
        ids = []
        for space in store.list():
            ids.append(space.id)
            if len(ids) == 5:  # the first page is read: delete a space on it
                del emu.spaces[int(ids[0])]
    assert len(ids) == len(set(ids)) == 14  # "default" + 14, one skipped by the shift


async def test_the_async_store_is_guarded_too():
    emu = seeded("neuroio", 9)
    first: list[Any] = []
    rewrite(
        emu, "neuroio", lambda spaces, number: first.extend(spaces) or spaces if number < 1 else first[:1] * 3
    )
    async with emu.connect_async(retries=0) as store:
        with pytest.raises(ProtocolError):
            [space async for space in store.list()]


def test_stored_name_is_the_name_unless_the_provider_declares_otherwise():
    from spacekit._remote import RemoteStore

    emu = emulator("neuroio")
    with fast_store(emu) as store:
        assert store.stored_name("  Team ") == "  Team "
        provider_class = type(store._provider)  # type: ignore[attr-defined]

    class Trimming(provider_class):  # type: ignore[misc, valid-type]
        def stored_name(self, name: str) -> str:
            return name.strip()[:40]

    settings = store._provider.config  # type: ignore[attr-defined]
    with RemoteStore(Trimming(settings)) as trimming:
        assert trimming.stored_name("  Team ") == "Team"
    assert spacekit.connect("memory").stored_name(" x ") == " x "
