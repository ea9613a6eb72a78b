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

What the wrapper cannot see is a space that a shifting listing never showed (one
deleted meanwhile moves the next page's start past it): callers that must see
everything, like migrations, list again.
"""

from __future__ import annotations

from typing import Final

from ._errors import ProtocolError
from ._plugin import ListOperation, Request, Response

#: requests in a row that bring no new space before the listing is given up as a loop
IDLE_REQUESTS: Final = 1000


def guarded(listing: ListOperation, provider: str) -> ListOperation:
    """``listing`` without repeated ids, ended by a ``ProtocolError`` if it goes round."""
    seen: set[str] = set()
    page_given = page_new = 0  # spaces the provider gave on the current page; new ones
    idle = 0  # requests in a row that brought nothing new
    last: Request | None = None
    try:
        item = next(listing)
        while True:
            if isinstance(item, Request):
                _check_page(last, page_given, page_new, len(seen), provider)
                idle = idle + 1 if last is not None and page_new == 0 else 0
                if idle >= IDLE_REQUESTS:
                    raise ProtocolError(
                        f"{_label(item)}: {idle} requests in a row brought no new space; "
                        "the listing was stopped (the provider's pages do not advance)",
                        provider=provider,
                    )
                last, page_given, page_new = item, 0, 0
                try:
                    response: Response | None = yield item
                except GeneratorExit:
                    raise
                except BaseException as exc:  # an error the engine throws in: the provider decides
                    item = listing.throw(exc)
                else:
                    item = listing.send(response)
                continue
            page_given += 1
            if item.id not in seen:
                seen.add(item.id)
                page_new += 1
                yield item
            item = listing.send(None)
    except StopIteration:
        _check_page(last, page_given, page_new, len(seen), provider)
    finally:
        listing.close()


def _check_page(last: Request | None, given: int, new: int, seen: int, provider: str) -> None:
    if last is not None and given and not new:
        raise ProtocolError(
            f"{_label(last)}: a page held only spaces already listed ({given} of the {seen} seen); "
            "the provider's pages go round, so the listing was stopped rather than repeated",
            provider=provider,
        )


def _label(request: Request) -> str:
    return f"{request.method} {request.path.split('?')[0]}"
