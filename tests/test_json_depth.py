"""``check_json_depth`` says what ``load_json`` says about depth, without parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spacekit import _exchange
from spacekit._exchange import MAX_JSON_DEPTH
from spacekit.plugin import check_json_depth, load_json

tricky = st.text(alphabet='[]{}"\\ab\n', max_size=8)
values = st.recursive(
    st.none() | st.integers() | tricky,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky, children, max_size=3),
    max_leaves=12,
)


def _wrapped(value: Any, levels: int, kinds: list[bool]) -> Any:
    for index in range(levels):
        value = [value] if kinds[index % len(kinds)] else {'k[\\"': value}
    return value


def _too_deep(text: bytes) -> bool:
    try:
        load_json(text)
    except ValueError as exc:
        return "deeper" in str(exc)
    return False


@given(
    value=values,
    levels=st.integers(min_value=MAX_JSON_DEPTH - 6, max_value=MAX_JSON_DEPTH + 2),
    kinds=st.lists(st.booleans(), min_size=1, max_size=3),
    ascii_only=st.booleans(),
)
def test_check_json_depth_agrees_with_load_json(
    value: Any, levels: int, kinds: list[bool], ascii_only: bool
) -> None:
    text = json.dumps(_wrapped(value, levels, kinds), ensure_ascii=ascii_only).encode()
    deep = _too_deep(text)
    if deep:
        with pytest.raises(ValueError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
            check_json_depth(text)
    else:
        check_json_depth(text)


@pytest.mark.parametrize(
    "text",
    [b"[" * 40_000, b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 101 + b"1" + b"}" * 101, b"[" * 101 + b"]"],
)
def test_too_deep_or_too_many_open_is_refused(text: bytes) -> None:
    with pytest.raises(ValueError, match="deeper"):
        check_json_depth(text)


@pytest.mark.parametrize("text", [b"", b"{}", b"not json", b"]]]", b'"[[[[', b'["\\\\", "[[["]', b"[" * 100])
def test_shallow_or_unreadable_text_is_left_to_the_parser(text: bytes) -> None:
    check_json_depth(text)


@given(
    value=values,
    levels=st.integers(min_value=MAX_JSON_DEPTH - 3, max_value=MAX_JSON_DEPTH + 2),
    window=st.integers(min_value=1, max_value=9),
)
def test_strings_straddling_windows_are_dropped_as_a_whole(value: Any, levels: int, window: int) -> None:
    text = json.dumps(_wrapped(value, levels, [True, False])).encode()
    kept = _exchange._STRINGS_WINDOW
    _exchange._STRINGS_WINDOW = window
    try:
        if _too_deep(text):
            with pytest.raises(ValueError, match="deeper"):
                check_json_depth(text)
        else:
            check_json_depth(text)
    finally:
        _exchange._STRINGS_WINDOW = kept


@pytest.mark.memory_ceiling(megabytes=160)
def test_millions_of_strings_are_checked_in_memory_linear_in_the_text() -> None:
    """A list of 8 million short strings (24 MB, under the default cap): dropping
    them at once held a piece per string (about 1 GB)."""
    check_json_depth(b"[" + b'"",' * 8_000_000 + b'""]')
    with pytest.raises(ValueError, match="deeper"):
        check_json_depth(b'{"a":' * 2_000_000)


@pytest.mark.memory_ceiling(megabytes=160)
def test_json_too_large_to_parse_in_the_memory_available_is_a_value_error() -> None:
    """Millions of empty objects (24 MB, under the default cap) parse to about 25 times
    their size: where that is more than there is, a ``ValueError`` (a ``ProtocolError``
    for an answer), never a raw ``MemoryError``."""
    with pytest.raises(ValueError, match="too large to parse"):
        load_json(b"[" + b"{}," * 8_000_000 + b"{}]")
