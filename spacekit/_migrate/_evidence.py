"""Adoption needs evidence: whether a space bearing a lost write's name is its result.

After a create whose answer was lost, the target is looked at and the spaces that
pass the rule of names and ids (``TargetIndex.candidates``: exactly the intended
name or its stored form, not among those bearing it when the write was first sent,
claimed by no other source space) are judged here, on what the provider says of
them:

- an owner (``Space.owner``) other than the caller (``SpaceStore.caller()``, where
  the provider names it: Datablist's ``user_id`` from the token exchange) means
  someone else made it;
- a creation time (``Space.created_at``; naive provider timestamps are UTC) before
  the write was first sent, less ``SKEW`` for clocks that disagree, means it was
  there before.

Such a candidate is never adopted. A candidate nothing refutes is adopted; unless
its owner is known to be the caller, its reason begins with ``ADOPTED`` ("adopted
after a lost answer") and says what the provider did not give, so that a person can
check it: where the provider gives neither an owner nor a creation time (NeuroIO,
Instabase), the only promise is that spaces present in the run's listing (or
bearing the name when the write was first sent) are excluded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final, Protocol

import attrs

from .._model import Space
from ._record import ADOPTED

#: how far the target's clock may be behind ours before a creation time counts against
SKEW: Final = timedelta(minutes=10)


@attrs.frozen
class Adoption:
    """The judgement on a lost write's candidates: the one adopted (or None), why each
    other was not, and whether the adopted one's owner is known to be the caller."""

    space: Space | None
    refused: tuple[str, ...] = ()
    proven: bool = False

    def reason(self, found: str, where: str) -> str:
        """The adoption's reason: ``found`` (what happened) where the owner proves it;
        else marked ``ADOPTED``, saying what the target did not give; ``where`` says why
        the space is a candidate at all."""
        assert self.space is not None
        if self.proven:
            return found
        head = f"{ADOPTED}: {found}; {self.space.id} bears the name and {where}"
        if self.space.created_at is None:
            return (
                f"{head}, but the target gives no creation time or owner to prove it is this write's result"
            )
        return (
            f"{head} and was created at {_shown(self.space.created_at)}, after the write was sent, "
            "but the target names no owner to compare with the caller, to prove it is this write's result"
        )

    def refusals(self) -> str:
        return "; ".join(self.refused)


def judge(candidates: Iterable[Space], sent_at: datetime | None, caller: str | None) -> Adoption:
    """The candidate to adopt, its owner proven first; every refused one, with its reason."""
    refused: list[str] = []
    passed: list[Space] = []
    for space in candidates:
        why = refusal(space, sent_at, caller)
        if why is None:
            passed.append(space)
        else:
            refused.append(why)
    proven = [space for space in passed if caller is not None and space.owner == caller]
    chosen = (proven or passed)[:1]
    return Adoption(chosen[0] if chosen else None, tuple(refused), proven=bool(proven))


class Evidenced(Protocol):
    """What the evidence reads of a space: a ``Space``, or verify's view of one."""

    @property
    def id(self) -> str: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...


def refusal(space: Evidenced, sent_at: datetime | None, caller: str | None) -> str | None:
    """Why ``space`` cannot be the result of a write first sent at ``sent_at`` by
    ``caller``; None if nothing the provider says rules it out."""
    return foreign(space, caller) or earlier(space, sent_at)


def foreign(space: Evidenced, caller: str | None) -> str | None:
    """Why ``space`` is someone else's (its owner is not the caller), else None."""
    if caller is not None and space.owner is not None and space.owner != caller:
        return f"{space.id} bears the name but is owned by another user ({space.owner})"
    return None


def earlier(space: Evidenced, sent_at: datetime | None) -> str | None:
    """Why ``space`` was there before a write first sent at ``sent_at``, else None."""
    if sent_at is not None and space.created_at is not None and space.created_at < sent_at - SKEW:
        return (
            f"{space.id} bears the name but was created before the write was sent "
            f"({_shown(space.created_at)}, the write at {_shown(sent_at)})"
        )
    return None


def _shown(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
