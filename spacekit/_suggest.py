"""Suggestions, "did you mean": the known word closest to a mistyped one (stores, providers,
settings, commands), by ``difflib``'s similarity ratio."""

from __future__ import annotations

from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word``, if one is close enough to be what was meant."""
    import difflib  # only when a word was mistyped

    close = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    near = closest(word, choices)
    return f" (did you mean {near!r}?)" if near else ""
