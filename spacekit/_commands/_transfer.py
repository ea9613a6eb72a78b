"""``spacekit export`` and ``spacekit import``.

``import`` reads a JSON object per line: ``name`` is required, ``description``
optional, and the other fields of an exported space are accepted and not kept. It
checks the whole file first, as bytes (a line that is not UTF-8, not JSON, nested
too deep, holds a number out of range or is longer than 1 MiB is bad; the file is
read only if it is a regular file, or stdin, and up to 64 MiB: see ``_input``), and imports
nothing if any line is bad, listing every problem of every bad line. It then creates
the spaces one by one and stops at the first failed write, saying exactly which
lines were imported. It only creates: nothing already stored is changed or lost.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import attrs
import click

from .. import _input, _output
from .._cli import ImportFailed
from .._errors import FieldDroppedWarning, SpacekitError, ValidationError
from .._manifest import to_toml
from .._model import Space
from .._validate import check_description, check_name
from ._common import open_store, store_option

_MAX_BAD_LINES = 20


@click.command()
@store_option
@click.option(
    "--format",
    "form",
    type=click.Choice(["jsonl", "toml"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (every field) or a TOML manifest of [[spaces]] (for spacekit sync)",
)
def export(store_name: str | None, form: str) -> None:
    """Every space on stdout: JSON Lines, one Space.to_dict() per line, or a TOML manifest."""
    spaces = open_store(store_name).list()
    count, names = 0, collections.Counter[str]()
    with _output.progress("exporting") as advance:  # the total is known only at the end
        if form == "toml":
            for text in to_toml(_counted(spaces, names, advance)):
                click.echo(text, nl=False)
        else:
            for space in _counted(spaces, names, advance):
                click.echo(json.dumps(space.to_dict(), ensure_ascii=False))
    count = sum(names.values())
    click.echo(f"exported {count} space(s)", err=True)
    twice = sorted(name for name, n in names.items() if n > 1)
    if twice and form == "toml":
        shown = ", ".join(repr(name) for name in twice[:5]) + (" ..." if len(twice) > 5 else "")
        click.echo(
            f"Warning: {len(twice)} name(s) appear more than once ({shown}); a manifest's names must be "
            "unique, so rename or remove the repeats before using this file with spacekit sync",
            err=True,
        )


def _counted(
    spaces: Iterable[Space], names: collections.Counter[str], advance: Callable[[], None]
) -> Iterator[Space]:
    for space in spaces:
        names[space.name] += 1
        advance()
        yield space


@click.command("import")
@click.argument("file")
@store_option
def import_(file: str, store_name: str | None) -> None:
    """Create the spaces of a JSON Lines FILE ('-' for stdin) in the store.

    Each line is a JSON object with a "name" and, optionally, a "description"; the
    other fields of an exported space are accepted and not kept. The whole file is
    checked first: if any line is bad, nothing is imported and every bad line is
    listed with all its problems. FILE must be a regular file; a line may hold up to
    1 MiB and the file 64 MiB ($SPACEKIT_MAX_LINE_BYTES, $SPACEKIT_MAX_FILE_BYTES).
    """
    with _input_file(file) as stream:
        entries = _read_entries(stream, file)
    store = open_store(store_name)
    imported: list[int] = []
    dropped: collections.Counter[str] = collections.Counter()
    try:
        with _output.progress("importing", total=len(entries)) as advance:
            for index, entry in enumerate(entries):
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", FieldDroppedWarning)
                        store.create(entry.name, entry.description)
                except SpacekitError as exc:
                    remaining = [later.line for later in entries[index + 1 :]]
                    raise ImportFailed(imported, entry.line, remaining, exc) from exc
                for warning in caught:
                    if issubclass(warning.category, FieldDroppedWarning):
                        dropped[str(warning.message)] += 1
                    else:
                        warnings.warn_explicit(
                            warning.message, warning.category, warning.filename, warning.lineno
                        )
                imported.append(entry.line)
                advance()
    finally:  # one line per kind of loss, not one per space
        for message, count in dropped.items():
            click.echo(
                f"Warning: {message} ({count} space(s))" if count > 1 else f"Warning: {message}", err=True
            )
    click.echo(f"imported {len(imported)} space(s) into the {store.provider} store", err=True)


@attrs.frozen
class _Entry:
    line: int
    name: str
    description: str | None


_SPACE_FIELDS = frozenset(field.name for field in attrs.fields(Space))


def _input_file(name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
    """Standard input for ``-``, else the regular file ``name`` (see ``_input``)."""
    if name == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    return _input.open_regular(name, None, name, ValidationError)


def _read_entries(file: IO[bytes], name: str) -> list[_Entry]:
    """Every non-blank line as an entry, or a ``ValidationError`` listing every bad line."""
    entries: list[_Entry] = []
    problems: list[str] = []
    bad = 0
    for number, line in enumerate(_input.lines(file, "standard input" if name == "-" else name), 1):
        try:
            entry = _parse_line(number, line)
        except ValidationError as exc:
            bad += 1
            if len(problems) < _MAX_BAD_LINES:
                problems.append(f"line {number}: {exc}")
            continue
        if entry is not None:
            entries.append(entry)
    if bad:
        more = [f"and {bad - len(problems)} more"] if bad > len(problems) else []
        raise ValidationError(
            f"{name}: nothing imported, {bad} bad line(s):\n  " + "\n  ".join(problems + more)
        )
    return entries


def _parse_line(number: int, line: bytes | None) -> _Entry | None:
    """A line as an entry (None if blank); a ``ValidationError`` giving every problem."""
    if line is None:
        limit = _input.max_line()
        raise ValidationError(
            f"longer than {f'{limit >> 20} MiB' if limit % 2**20 == 0 else f'{limit} bytes'}"
        )
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"not UTF-8 text (byte {exc.start + 1} is 0x{line[exc.start]:02x})") from None
    if number == 1:
        text = text.removeprefix("\ufeff")  # a byte order mark some editors write
    if not text.strip():
        return None
    data = _json_object(text)
    problems: list[str] = []
    unknown = sorted(set(data) - _SPACE_FIELDS)
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}")
    name: Any = data.get("name")
    if "name" not in data:
        problems.append('no "name"')
    else:
        try:
            check_name(name)
        except ValidationError as exc:
            problems.append(str(exc))
    description = data.get("description")
    try:
        check_description(description)
    except ValidationError as exc:
        problems.append(str(exc))
    if problems:
        raise ValidationError("; ".join(problems))
    return _Entry(number, name, description)


def _json_object(text: str) -> dict[str, Any]:
    """The line as a JSON object; anything else (including numbers no one can hold,
    NaN and nesting too deep to read) is a ``ValidationError``."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ValidationError("not readable: JSON nested too deep") from None
    except ValueError as exc:  # NaN, infinity, a number out of range
        raise ValidationError(f"not readable: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"not a JSON object but {_json_kind(data)}")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {_shorten(text)} is out of range")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts
        raise ValueError(f"the number {_shorten(text)} ({len(text)} digits) is out of range") from None


def _shorten(text: str) -> str:
    return text if len(text) <= 20 else f"{text[:20]}..."


def _json_kind(data: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if data is None else names.get(type(data), type(data).__name__)
