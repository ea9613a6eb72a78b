"""The guarantees every listing keeps, whatever the provider answers.

``guarded`` wraps a provider's sans-I/O listing (a ``ListOperation``: requests and
spaces interleaved, the spaces between two requests being one page) and makes two
promises that no plugin has to write for itself:

- no id is handed out twice: a space whose id was already yielded is dropped (a
  page boundary that shifted because a space was created meanwhile, say);
- a listing cannot loop: a page that brings spaces, all of them already seen (the
  previous page again, or pages cycling A, B, A, B...), ends the listing with a
  ``ProtocolError`` saying so, and so does a long run of requests bringing nothing
  new. Either way the number of requests stays bounded.

A batch of requests (``Requests``) passes through to the engine and its answers
(``Responses``) back to the provider, watched: the spaces yielded after the provider
reads answer ``i`` and before it reads another, or asks for more, are answer ``i``'s
page. So the pages of a batch are told apart, and checked one by one, as long as
the provider reads each answer before yielding its spaces (reading them all first
makes the batch count as its last page).

It also counts. Where the provider states how many spaces there are (a ``Stated``
count, NeuroIO's ``count``), a listing that ends (``next`` null, an empty page, a
short page) with fewer distinct spaces than the last count it stated is
incomplete: it ends with an ``IncompleteListing`` (a ``ProtocolError``) naming the
shortfall, "neuroio said 251 space(s), 210 were listed", after every space it did
list was handed out. The distinct spaces are counted as the provider gave them,
before ``query`` keeps those whose name contains it (the rule every store follows,
applied here once), so a search is counted against the count the provider stated
for it.

What the wrapper cannot see is a space that a shifting listing never showed while
its counts still add up (one deleted meanwhile moves the next page's start past
it): callers that must see everything, like migrations, list again, and a sync
proves an absence by another read before it deletes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from ._errors import ProtocolError
from ._plugin import ListOperation, Request, Requests, Response, Responses, Stated

#: requests in a row that bring no new space before the listing is given up as a loop
IDLE_REQUESTS: Final = 1000
#: listings of one store in a row that may fall short of their counts before a run
#: treats that store as unreadable
SHORT_LISTINGS: Final = 3

T = TypeVar("T")


class IncompleteListing(ProtocolError):
    """A listing that ended with fewer distinct spaces than the provider said it holds."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        stated: int = 0,
        listed: int = 0,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.stated = stated
        self.listed = listed


def until_complete(list_once: Callable[[], T]) -> T:
    """``list_once()``, called again while its listing falls short of its own count, at
    most ``SHORT_LISTINGS`` times in all; then the last shortfall is raised, saying so."""
    for attempt in range(1, SHORT_LISTINGS + 1):
        try:
            return list_once()
        except IncompleteListing as exc:
            if attempt == SHORT_LISTINGS:
                raise IncompleteListing(
                    f"{exc.args[0]} ({attempt} listings in a row fell short)",
                    provider=exc.provider,
                    stated=exc.stated,
                    listed=exc.listed,
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


class _Pages:
    """The page being read (the request it answers) and what it brought so far."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.seen: set[str] = set()
        self.last: Request | None = None
        self.given = self.new = 0  # spaces the provider gave on the current page; new ones
        self.idle = 0  # pages in a row that brought nothing new
        self.stated: int | None = None  # the last count the provider stated

    def turn(self, request: Request) -> None:
        """The current page is over and ``request``'s begins: check what it brought."""
        _check_page(self.last, self.given, self.new, len(self.seen), self.provider)
        self.idle = self.idle + 1 if self.last is not None and self.new == 0 else 0
        if self.idle >= IDLE_REQUESTS:
            raise ProtocolError(
                f"{request.label}: {self.idle} requests in a row brought no new space; "
                "the listing was stopped (the provider's pages do not advance)",
                provider=self.provider,
            )
        self.last, self.given, self.new = request, 0, 0

    def state(self, count: int) -> None:
        self.stated = count

    def end(self, query: str | None) -> None:
        _check_page(self.last, self.given, self.new, len(self.seen), self.provider)
        if self.stated is not None and len(self.seen) < self.stated:
            where = f"{self.last.label}: " if self.last is not None else ""
            matching = f" matching {query!r}" if query else ""
            raise IncompleteListing(
                f"{where}{self.provider} said {self.stated} space(s){matching}, {len(self.seen)} "
                "were listed: the listing ended short of its own count",
                provider=self.provider,
                stated=self.stated,
                listed=len(self.seen),
            )


def guarded(listing: ListOperation, provider: str, query: str | None = None) -> ListOperation:
    """``listing`` without repeated ids, only the spaces whose name contains ``query``
    (ignoring case), ended by a ``ProtocolError`` if it goes round or falls short of
    its stated count."""
    pages = _Pages(provider)
    needle = query.casefold() if query else None
    stop: list[ProtocolError] = []  # raised while the provider read an answer: it may not catch it

    try:
        item = next(listing)
        while True:
            if isinstance(item, (Request, Requests)):
                pages.turn(item if isinstance(item, Request) else item[0])
                try:
                    answer: Response | Responses | None = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:  # an error the engine throws in: the provider decides
                    item = listing.throw(exc)
                else:
                    if isinstance(item, Requests) and isinstance(answer, Responses):
                        answer = answer.observed(_reader(item, pages, stop))
                    item = listing.send(answer)
                if stop:
                    raise stop[0]
                continue
            if isinstance(item, Stated):
                pages.state(item.count)
            else:
                pages.given += 1
                if item.id not in pages.seen:
                    pages.seen.add(item.id)
                    pages.new += 1
                    if needle is None or needle in item.name.casefold():
                        yield item
            item = listing.send(None)
            if stop:
                raise stop[0]
    except StopIteration:
        pages.end(query)
    finally:
        listing.close()


def _reader(batch: Requests, pages: _Pages, stop: list[ProtocolError]) -> Callable[[int], None]:
    """What runs as the provider reads a batch's answer: a new page begins, unless it
    reads the one it read last."""
    current = [0]

    def on_read(index: int) -> None:
        if index == current[0] or stop:
            return
        current[0] = index
        try:
            pages.turn(batch[index])
        except ProtocolError as exc:
            stop.append(exc)
            raise

    return on_read


def _check_page(last: Request | None, given: int, new: int, seen: int, provider: str) -> None:
    if last is not None and given and not new:
        raise ProtocolError(
            f"{last.label}: a page held only spaces already listed ({given} of the {seen} seen); "
            "the provider's pages go round, so the listing was stopped rather than repeated",
            provider=provider,
        )
