"""A delete needs proof: the source's absence confirmed by a read of its own.

The listing a sync plans from may have missed a space (a page that ended early and
still added up, a space shifted past a page boundary), and a delete planned from it
would then take that space's counterpart, contents and all. So before each delete is
sent, the source is read once more, independently of that listing:

- a target space the journal pairs with a source id: ``get`` of that id must answer
  ``NotFound``;
- else, where the source can search by name (and no transform renames spaces on the
  way): a search by the target space's name, complete by its own count (the listing
  guard holds it to that), must hold no space of that name, in any case, that the
  planning listing did not show (one it showed is matched elsewhere in the plan
  already);
- else: a second full listing of the source (made once, for every delete of the
  run), planned against the same target, must plan the same delete.

A read that finds the space, fails, or falls short of its count holds back that
delete and every delete not yet sent (as rclone does not delete "as there were IO
errors"): the plan rests on a listing that cannot be trusted. A manifest as source
needs no proof: it is read whole from a file.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping

from .._errors import NotFound, SpacekitError
from .._listing import until_complete
from .._migrate._plan import Transform, over_held
from .._model import Capability, Space
from .._store import SpaceStore
from ._plan import Pair
from ._report import SyncAction

#: the target ids a plan made from a second full listing of the source deletes
Replan = Callable[[list[Space]], Collection[str]]


class Proof:
    """Whether each planned delete may be sent; thread-safe (deletes run concurrently)."""

    def __init__(
        self,
        source: SpaceStore,
        target: SpaceStore,
        *,
        recorded: Mapping[str, str],
        listed: Collection[str],
        replan: Replan,
        choose: Callable[[Space], bool],
        transform: Transform | None,
        needed: bool = True,
    ) -> None:
        self.source, self.target = source, target
        self.listed = listed  # the source ids the planning listing showed
        self.needed = needed
        self.choose = choose
        self.replan = replan
        self.searches = Capability.SEARCH in source.capabilities and transform is None
        self.gets = Capability.GET in source.capabilities
        self._paired: dict[str, list[str]] = {}
        for source_id, target_id in recorded.items():
            self._paired.setdefault(target_id, []).append(source_id)
        self._lock = threading.Lock()
        self._second: Collection[str] | None = None  # the deletes a second listing plans
        #: why every delete not yet sent is held back (None: they may go)
        self.held: str | None = None
        #: what made the source unreadable: a read that failed or fell short, or showed
        #: a space its listing did not
        self.unreadable: str | None = None

    def check(self, pair: Pair) -> str | None:
        """None if ``pair``'s delete may be sent, else why it is held back."""
        if not self.needed:
            return None
        if self.held is not None:
            return self.held
        space = pair.target
        assert space is not None
        try:
            found = self._present(space)
        except SpacekitError as exc:
            return self._hold(f"reading the source to confirm {space.name!r} is gone failed: {exc}")
        if found is not None:
            return self._hold(
                f"the source still holds {found} though its listing did not show it, so its "
                "listing cannot be trusted"
            )
        return self.held  # another delete's read may have failed meanwhile

    def _present(self, space: Space) -> str | None:
        """What shows the source still holds ``space``'s counterpart (None: nothing does)."""
        paired = self._paired.get(space.id)
        if paired and self.gets:
            for source_id in paired:
                try:
                    self.source.get(source_id)
                except NotFound:
                    continue
                if source_id not in self.listed:
                    return f"space {source_id} (a get of the id the journal pairs with {space.id} found it)"
            return None
        if self.searches:
            for found in self.source.list(space.name):
                if self._named(space, found) and self.choose(found) and found.id not in self.listed:
                    return f"{found.name!r} ({found.id}) (a search by name found it)"
            return None
        if space.id in self._listed_again():
            return None
        return f"a counterpart of {space.name!r} ({space.id}) (a second full listing did not plan its delete)"

    def _named(self, space: Space, found: Space) -> bool:
        """Whether ``found``, shown by a search, bears ``space``'s name in any case: a
        search that turns up an unlisted space of that name but for its case (one renamed
        so, or a provider's answer that changed it) shows the listing missed it."""
        names = (found.name, self.target.stored_name(found.name))
        return any(name.casefold() == space.name.casefold() for name in names)

    def _listed_again(self) -> Collection[str]:
        with self._lock:
            if self._second is None:
                self._second = self.replan(until_complete(lambda: list(self.source.list())))
            return self._second

    def _hold(self, why: str) -> str:
        with self._lock:
            if self.held is None:
                self.held = f"held back: {why}"
                self.unreadable = why
            return self.held


def deletes(pairs: tuple[Pair, ...]) -> frozenset[str]:
    """The target ids a plan deletes."""
    return frozenset(
        p.target.id for p in pairs if p.item.action is SyncAction.DELETE and p.target is not None
    )


def surplus(pairs: tuple[Pair, ...], after: list[Space], target: SpaceStore) -> list[str]:
    """Each name the plan's source spaces want that the target holds more times than
    they do (a create planned against a short look at the target, say), with the ids."""
    wanted = Counter(
        pair.wanted.name for pair in pairs if pair.wanted is not None and pair.source is not None
    )
    return over_held(wanted, after, target)


__all__ = ["Proof", "deletes", "surplus"]
