"""The ``spacekit`` command line: stores, spaces, export and import, emulators.

Results go to stdout (a table on a terminal, plain JSON with ``--json``, JSON Lines
for ``export``); messages and errors go to stderr. Tables have no colour when
``NO_COLOR`` is set or stdout is not a terminal. Errors never show a traceback, and
the secrets of the store in use are removed from every message.

Exit codes are listed, and mapped from errors, in ``spacekit._exitcodes``; a
partly done import adds ``PARTIAL`` (1) here.

``import`` checks the whole file first (each line read by ``Space.from_dict``, its
name and description checked) and imports nothing if any line is bad. It then
creates the spaces one by one (name and description; ids are not kept) and stops at
the first failed write, saying exactly which lines were imported. It only creates:
nothing already stored is changed or lost.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import _config, _exitcodes, _registry
from ._errors import (
    ConfigError,
    SpacekitError,
    ValidationError,
)
from ._exitcodes import INTERRUPTED, PARTIAL
from ._manifest import to_toml
from ._model import Space
from ._redact import redact
from ._store import UNSET, SpaceStore
from ._validate import check_description, check_name
from ._version import __version__

F = TypeVar("F", bound=Callable[..., Any])

_SECRETS = "spacekit.secrets"
_MAX_BAD_LINES = 20


class ImportFailed(SpacekitError):
    """A write failed during an import; says which lines were imported and which not."""

    def __init__(self, imported: list[int], line: int, remaining: list[int], cause: SpacekitError) -> None:
        done = f"imported line(s) {_ranges(imported)}" if imported else "nothing was imported"
        rest = f"; not attempted: line(s) {_ranges(remaining)}" if remaining else ""
        super().__init__(f"line {line} failed: {cause}; {done}{rest}")
        self.imported = imported
        self.cause = cause


def exit_code(error: BaseException) -> int:
    """The exit code for an error; a partly done import is ``PARTIAL``."""
    if isinstance(error, ImportFailed):
        return PARTIAL if error.imported else _exitcodes.exit_code(error.cause)
    return _exitcodes.exit_code(error)


class _Group(click.Group):
    """The top-level group: turns every error into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(INTERRUPTED)
        except Exception as exc:  # no traceback, and no secret, for any error
            shown = str(exc) if isinstance(exc, SpacekitError) else f"unexpected {type(exc).__name__}: {exc}"
            click.echo(f"Error: {redact(shown, ctx.meta.get(_SECRETS, ()))}", err=True)
            ctx.exit(exit_code(exc))


def _open(name: str | None) -> SpaceStore:
    """Open a store for this command; it is closed, and its secrets redacted, by the context."""
    ctx = click.get_current_context()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolved = _config.resolve(name, {})
    for warning in caught:  # a message, not the source line Python would show
        click.echo(f"Warning: {warning.message}", err=True)
    plugin = _registry.load(resolved.provider)
    settings = plugin.check_settings(resolved.settings, where=resolved.where)
    secrets = [str(v) for k, v in settings.items() if v is not None and plugin.settings[k].secret]
    ctx.meta.setdefault(_SECRETS, []).extend(secrets)
    store = plugin.open(settings)
    ctx.call_on_close(store.close)
    return store


# -- output ---------------------------------------------------------------------------


def _console() -> Console:
    return Console(color_system=None if os.environ.get("NO_COLOR") else "auto", highlight=False)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(*columns: str, title: str | None = None) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    table.columns[0].overflow = "fold"
    return table


def _row(table: Table, *cells: object) -> None:
    table.add_row(*(Text("" if cell is None else str(cell)) for cell in cells))


def _show_spaces(spaces: Iterable[Space], as_json: bool) -> None:
    if as_json:
        _print_json([space.to_dict() for space in spaces])
        return
    table = _table("ID", "NAME", "KIND", "DESCRIPTION", "UPDATED")
    for space in spaces:
        _row(table, space.id, space.name, space.kind.value, space.description, _when(space.updated_at))
    _console().print(table)


def _show_space(space: Space, as_json: bool) -> None:
    if as_json:
        _print_json(space.to_dict())
        return
    table = _table("FIELD", "VALUE")
    for field, value in _fields(space):
        _row(table, field, value)
    _console().print(table)


def _fields(space: Space) -> list[tuple[str, object]]:
    return [
        ("provider", space.provider),
        ("id", space.id),
        ("name", space.name),
        ("kind", space.kind.value),
        ("description", space.description),
        ("owner", space.owner),
        ("admins", ", ".join(f"{p.name} ({p.kind})" for p in space.admins)),
        ("subspaces", ", ".join(f"{s.owner}/{s.name}" for s in space.subspaces)),
        ("image_url", space.image_url),
        ("is_admin", space.is_admin),
        ("created_at", _when(space.created_at)),
        ("updated_at", _when(space.updated_at)),
    ]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z") if moment else None


def _ranges(lines: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    spans: list[list[int]] = []
    for line in lines:
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


# -- commands -------------------------------------------------------------------------


def _store_option(function: F) -> F:
    return click.option("--store", "store_name", metavar="NAME", help="a configured store or a provider")(
        function
    )


def _json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="plain JSON instead of a table")(function)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spacekit")
def main() -> None:
    """One interface for every "spaces" API."""


@main.command()
@_json_option
def stores(as_json: bool) -> None:
    """Configured stores, installed providers, and what each can do."""
    config = _config.load()
    status = _registry.status()
    configured = [_describe(name, store["provider"], status) for name, store in config.stores.items()]
    providers = [_describe(name, name, status) for name in status]
    default = _config.default_store(config)
    if as_json:
        _print_json(
            {"config": str(config.path), "default": default, "stores": configured, "providers": providers}
        )
        return
    console = _console()
    click.echo(f"config file: {config.path}", err=True)
    click.echo(f"default store: {default or 'the embedded local store'}", err=True)
    if configured:
        table = _table("STORE", "PROVIDER", "CAPABILITIES", title="configured stores")
        for item in configured:
            _row(table, item["name"], item["provider"], item["error"] or ", ".join(item["capabilities"]))
        console.print(table)
    table = _table("PROVIDER", "SUMMARY", "CAPABILITIES", title="installed providers")
    for item in providers:
        _row(table, item["name"], item["summary"], item["error"] or ", ".join(item["capabilities"]))
    console.print(table)


def _describe(name: str, provider: str, status: Mapping[str, Any]) -> dict[str, Any]:
    plugin = status.get(provider)
    error = f"provider not installed ({', '.join(status) or 'none'} are)" if plugin is None else None
    if isinstance(plugin, ConfigError):
        plugin, error = None, f"broken: {plugin}"
    return {
        "name": name,
        "provider": provider,
        "summary": plugin.summary if plugin else "",
        "capabilities": sorted(c.value for c in plugin.capabilities) if plugin else [],
        "error": error,
    }


@main.group()
def spaces() -> None:
    """List, show, create, update and delete spaces."""


@spaces.command("list")
@click.option("--query", "-q", help="keep spaces whose name contains this")
@_store_option
@_json_option
def list_spaces(query: str | None, store_name: str | None, as_json: bool) -> None:
    """Every space in the store."""
    _show_spaces(_open(store_name).list(query=query), as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@_store_option
@_json_option
def get(space_id: str, store_name: str | None, as_json: bool) -> None:
    """One space by id."""
    _show_space(_open(store_name).get(space_id), as_json)


@spaces.command()
@click.argument("name")
@click.option("--description", "-d", help="the space's description")
@_store_option
@_json_option
def create(name: str, description: str | None, store_name: str | None, as_json: bool) -> None:
    """Create a space."""
    space = _open(store_name).create(name, description)
    click.echo(f"created space {space.id}", err=True)
    _show_space(space, as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@click.option("--name", "-n", help="the new name")
@click.option("--description", "-d", help="the new description")
@_store_option
@_json_option
def update(
    space_id: str, name: str | None, description: str | None, store_name: str | None, as_json: bool
) -> None:
    """Change a space's name and/or description; the others are kept."""
    if name is None and description is None:
        raise click.UsageError("nothing to change: give --name and/or --description")
    store = _open(store_name)
    space = store.update(
        space_id,
        name=UNSET if name is None else name,
        description=UNSET if description is None else description,
    )
    _show_space(space, as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
@_store_option
@_json_option
def delete(space_id: str, yes: bool, store_name: str | None, as_json: bool) -> None:
    """Delete a space (asks first unless --yes)."""
    store = _open(store_name)
    if not yes:
        click.confirm(f"Delete space {space_id} from the {store.provider} store?", abort=True, err=True)
    store.delete(space_id)
    click.echo(f"deleted space {space_id}", err=True)
    if as_json:
        _print_json({"id": space_id, "deleted": True})


@main.command()
@_store_option
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
    spaces = _open(store_name).list()
    count, names = 0, collections.Counter[str]()
    if form == "toml":
        for text in to_toml(_counted(spaces, names)):
            click.echo(text, nl=False)
    else:
        for space in _counted(spaces, names):
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


def _counted(spaces: Iterable[Space], names: collections.Counter[str]) -> Iterator[Space]:
    for space in spaces:
        names[space.name] += 1
        yield space


@main.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@_store_option
def import_(file: IO[str], store_name: str | None) -> None:
    """Create the spaces of a JSON Lines FILE ('-' for stdin) in the store."""
    entries = _read_entries(file)
    store = _open(store_name)
    imported: list[int] = []
    for index, (line, space) in enumerate(entries):
        try:
            store.create(space.name, space.description)
        except SpacekitError as exc:
            remaining = [number for number, _ in entries[index + 1 :]]
            raise ImportFailed(imported, line, remaining, exc) from exc
        imported.append(line)
    click.echo(f"imported {len(imported)} space(s) into the {store.provider} store", err=True)


def _read_entries(file: IO[str]) -> list[tuple[int, Space]]:
    """Every non-blank line as a space, or a ``ValidationError`` listing every bad line."""
    entries: list[tuple[int, Space]] = []
    problems: list[str] = []
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            entries.append((number, _parse_line(line)))
        except ValidationError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        more = len(problems) - _MAX_BAD_LINES
        shown = problems[:_MAX_BAD_LINES] + ([f"and {more} more"] if more > 0 else [])
        raise ValidationError(
            f"{file.name}: nothing imported, {len(problems)} bad line(s):\n  " + "\n  ".join(shown)
        )
    return entries


def _parse_line(line: str) -> Space:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    space = Space.from_dict(data)
    check_name(space.name)
    check_description(space.description)
    return space


@main.command()
@click.argument("provider")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="0 picks a free port")
def emulate(provider: str, port: int) -> None:
    """Serve an emulator of PROVIDER's API on a loopback port until Ctrl-C."""
    emulator = _registry.load(provider).emulator()
    if emulator is None:
        raise ConfigError(f"no emulator for {provider}")
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(emulator.serve(port=port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on port {port}: {exc.strerror}") from None
        click.echo(f"{provider} emulator at {url}; stop it with Ctrl-C", err=True)
        click.echo(_toml_store(provider, emulator.connect_settings(url)))
        _wait_for_interrupt()


def _toml_store(provider: str, settings: Mapping[str, Any]) -> str:
    """A config file section for a store talking to the emulator (JSON scalars are TOML)."""
    lines = [f"[stores.{provider}-emulator]", f"provider = {json.dumps(provider)}"]
    lines += [
        f"{key} = {json.dumps(value)}"
        for key, value in settings.items()
        if isinstance(value, (str, int, float))
    ]
    return "\n".join(lines)


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _register_migration_commands() -> None:
    from ._migrate._cli import commands

    for command in commands:
        main.add_command(command)
    from ._sync._cli import command as sync_command

    main.add_command(sync_command)


_register_migration_commands()
