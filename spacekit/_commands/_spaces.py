"""``spacekit spaces`` (list, get, create, update, delete) and ``spacekit subspaces``."""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from .. import _output
from .._errors import ConfigError, FieldDroppedWarning
from .._exitcodes import PARTIAL
from ._common import Group, json_option, open_store, store_option

if TYPE_CHECKING:
    from .._model import Space, Subspace
    from .._settings import Setting
    from .._store import SpaceStore

SPACE_COLUMNS = ("ID", "NAME", "KIND", "DESCRIPTION", "UPDATED")


def _show_spaces(spaces: Iterable[Space], as_json: bool) -> None:
    if as_json:
        _output.print_json([space.to_dict() for space in spaces])
        return
    rows = (
        (space.id, space.name, space.kind.value, space.description, _when(space.updated_at))
        for space in spaces
    )
    _output.table(SPACE_COLUMNS, rows)


def _show_space(space: Space, as_json: bool) -> None:
    if as_json:
        _output.print_json(space.to_dict())
        return
    _output.table(("FIELD", "VALUE"), _fields(space))


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
        ("is_admin", _known(space.is_admin)),
        ("created_at", _when(space.created_at)),
        ("updated_at", _when(space.updated_at)),
    ]


def _known(value: bool | None) -> object:
    """A yes/no field as a table shows it: ``None``, where the store did not say, as such."""
    return "unknown (the store did not say)" if value is None else value


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z") if moment else None


@click.group(cls=Group)
def spaces() -> None:
    """List, show, create, update and delete spaces."""


@spaces.command("list")
@click.option("--query", "-q", help="keep spaces whose name contains this")
@store_option
@json_option
def list_spaces(query: str | None, store_name: str | None, as_json: bool) -> None:
    """Every space in the store."""
    _show_spaces(open_store(store_name).list(query=query), as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@store_option
@json_option
def get(space_id: str, store_name: str | None, as_json: bool) -> None:
    """One space by id."""
    _show_space(open_store(store_name).get(space_id), as_json)


class _CreateCommand(click.Command):
    """``spaces create``: its own options, plus the create options every installed
    provider declares (``Provider.create_options``), offered as ``--NAME VALUE``."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        taken = {param.name for param in params}
        extra = [option for option in _provider_options() if option.name not in taken]
        return params[:-1] + extra + params[-1:]  # --help stays last


@functools.cache
def _provider_options() -> list[click.Option]:
    from .. import _registry

    declared: dict[str, tuple[Setting, list[str]]] = {}
    for provider, plugin in _registry.status().items():
        if isinstance(plugin, ConfigError):
            continue
        for key, spec in plugin.create_options.items():
            if spec.configurable and re.fullmatch(r"[a-z][a-z0-9_]*", key):
                declared.setdefault(key, (spec, []))[1].append(provider)
    return [
        click.Option(
            [f"--{key.replace('_', '-')}", key],
            metavar=_KIND_METAVARS.get(spec.kind, "TEXT"),
            help=f"{spec.help} ({', '.join(providers)} only)" if spec.help else f"({', '.join(providers)})",
        )
        for key, (spec, providers) in sorted(declared.items())
    ]


_KIND_METAVARS = {int: "INTEGER", float: "NUMBER", bool: "true|false"}


def _create_options(store: SpaceStore, given: Mapping[str, str | None]) -> dict[str, Any]:
    """The provider options given on the command line, checked against this store's declaration."""
    options: dict[str, Any] = {}
    for key, text in given.items():
        if text is None:
            continue
        flag = f"--{key.replace('_', '-')}"
        spec = store.create_options.get(key)
        if spec is None or not spec.configurable:
            known = ", ".join(
                f"--{k.replace('_', '-')}" for k, s in sorted(store.create_options.items()) if s.configurable
            )
            raise click.UsageError(
                f"{flag} is not an option of the {store.provider} store "
                f"(its create options: {known or 'none'})"
            )
        options[key] = _option_value(flag, spec, text)
    return options


def _option_value(flag: str, spec: Setting, text: str) -> Any:
    try:
        if spec.kind is bool:
            words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
            return words[text.strip().lower()]
        if spec.kind in (int, float):
            return spec.kind(text)
    except (KeyError, ValueError):
        raise click.BadParameter(f"{text!r} is not {_KIND_WORDS[spec.kind]}", param_hint=flag) from None
    return text


_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number"}


@contextlib.contextmanager
def _saying_what_was_dropped() -> Iterator[None]:
    """Show, as a one-line warning, each field a store left out (``FieldDroppedWarning``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldDroppedWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, FieldDroppedWarning):
                    click.echo(f"Warning: {warning.message}", err=True)
                else:
                    warnings.warn_explicit(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )


@spaces.command(cls=_CreateCommand)
@click.argument("name")
@click.option("--description", "-d", help="the space's description")
@store_option
@json_option
def create(
    name: str, description: str | None, store_name: str | None, as_json: bool, **provider_options: str | None
) -> None:
    """Create a space.

    Providers add their own options (see below, each marked with the providers
    that take it); an option the store's provider does not take is refused before
    anything is sent.
    """
    store = open_store(store_name)
    options = _create_options(store, provider_options)
    with _saying_what_was_dropped():
        space = store.create(name, description, **options)
    click.echo(f"created space {space.id}", err=True)
    _show_space(space, as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@click.option("--name", "-n", help="the new name")
@click.option("--description", "-d", help="the new description")
@store_option
@json_option
def update(
    space_id: str, name: str | None, description: str | None, store_name: str | None, as_json: bool
) -> None:
    """Change a space's name and/or description; the others are kept."""
    from .._store import UNSET

    if name is None and description is None:
        raise click.UsageError("nothing to change: give --name and/or --description")
    store = open_store(store_name)
    with _saying_what_was_dropped():
        space = store.update(
            space_id,
            name=UNSET if name is None else name,
            description=UNSET if description is None else description,
        )
    _show_space(space, as_json)


@spaces.command()
@click.argument("space_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
@store_option
@json_option
def delete(space_id: str, yes: bool, store_name: str | None, as_json: bool) -> None:
    """Delete a space (asks first, on a terminal, unless --yes)."""
    store = open_store(store_name)
    if not yes:
        if not _output.stdin_is_terminal():
            raise click.UsageError(
                f"not deleting space {space_id}: there is no terminal to confirm on; "
                "add --yes to delete without asking"
            )
        name = store.get(space_id).name
        question = f"Delete space {name!r} ({space_id}) from the {store.provider} store?"
        if not click.confirm(question, err=True):
            click.echo("Not deleted.", err=True)
            click.get_current_context().exit(PARTIAL)
    store.delete(space_id)
    click.echo(f"deleted space {space_id}", err=True)
    if as_json:
        _output.print_json({"id": space_id, "deleted": True})


@click.group(cls=Group)
def subspaces() -> None:
    """Create, list and read the subspaces of a space (Instabase repos; the embedded stores)."""


@subspaces.command("create")
@click.argument("space_id", metavar="SPACE")
@click.argument("name")
@click.option("--description", "-d", default="", help="the subspace's description")
@click.option("--public", is_flag=True, help="visible to everyone (default: private)")
@store_option
@json_option
def create_subspace(
    space_id: str, name: str, description: str, public: bool, store_name: str | None, as_json: bool
) -> None:
    """Create the subspace NAME in SPACE (letters, digits, underscores and hyphens)."""
    store = open_store(store_name)
    subspace = store.create_subspace(space_id, name, description=description, private=not public)
    click.echo(f"created subspace {subspace.owner}/{subspace.name}", err=True)
    _show_subspace(subspace, as_json)


@subspaces.command("list")
@click.argument("space_id", metavar="SPACE")
@store_option
@json_option
def list_subspaces(space_id: str, store_name: str | None, as_json: bool) -> None:
    """The subspaces of SPACE, as its listing names them (``get`` shows one in full)."""
    found = open_store(store_name).get(space_id).subspaces
    if as_json:
        _output.print_json([subspace.to_dict() for subspace in found])
        return
    rows = ((s.owner, s.name, _known(s.private), s.description) for s in found)
    _output.table(("OWNER", "NAME", "PRIVATE", "DESCRIPTION"), rows)


@subspaces.command("get")
@click.argument("space_id", metavar="SPACE")
@click.argument("name")
@store_option
@json_option
def get_subspace(space_id: str, name: str, store_name: str | None, as_json: bool) -> None:
    """One subspace of SPACE by NAME."""
    _show_subspace(open_store(store_name).get_subspace(space_id, name), as_json)


def _show_subspace(subspace: Subspace, as_json: bool) -> None:
    if as_json:
        _output.print_json(subspace.to_dict())
        return
    rows: list[tuple[str, object]] = [
        ("owner", subspace.owner),
        ("name", subspace.name),
        ("description", subspace.description),
        ("private", _known(subspace.private)),
        ("is_admin", _known(subspace.is_admin)),
    ]
    rows += [(f"member ({m.role})", f"{m.name} ({m.kind})") for m in subspace.members]
    _output.table(("FIELD", "VALUE"), rows)
