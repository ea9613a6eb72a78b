"""The ``spacekit`` command line: stores, spaces, export and import, emulators.

Results go to stdout (a table on a terminal, plain JSON with ``--json``, JSON Lines
for ``export``); messages and errors go to stderr. Tables have no colour when
``NO_COLOR`` is set or stdout is not a terminal. Errors never show a traceback, and
the secrets of the store in use are removed from every message.

Exit codes are listed, and mapped from errors, in ``spacekit._exitcodes``; a
partly done import adds ``PARTIAL`` (1) here.

``import`` reads a JSON object per line: ``name`` is required, ``description``
optional, and the other fields of an exported space are accepted and not kept. It
checks the whole file first, as bytes (a line that is not UTF-8, not JSON, nested
too deep, holds a number out of range or is longer than 1 MiB is bad), and imports
nothing if any line is bad, listing every problem of every bad line. It then creates
the spaces one by one and stops at the first failed write, saying exactly which
lines were imported. It only creates: nothing already stored is changed or lost.

Tables, JSON and progress bars are printed by ``spacekit._output``.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import IO, Any, TypeVar

import attrs
import click

from . import _config, _connect, _exitcodes, _input, _output, _registry
from ._errors import (
    ConfigError,
    FieldDroppedWarning,
    SpacekitError,
    ValidationError,
)
from ._exitcodes import INTERRUPTED, PARTIAL
from ._manifest import to_toml
from ._model import Space, Subspace
from ._plugin import Setting
from ._redact import redact
from ._store import UNSET, SpaceStore
from ._validate import check_description, check_name

F = TypeVar("F", bound=Callable[..., Any])

_SECRETS = "spacekit.secrets"
BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader left
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

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every command, ``--help`` and ``--version`` too: success only once stdout is delivered."""
        if _output.stdout_closed():  # every write would vanish: do nothing, say so
            click.echo("Error: standard output is closed; nothing was done (send it to /dev/null)", err=True)
            sys.exit(_exitcodes.OUTPUT)
        try:
            try:
                result = super().main(*args, **kwargs)
            except SystemExit as exc:  # how click ends, in its standalone mode
                if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # click's own exit 1 on EPIPE
                    sys.exit(BROKEN_PIPE)
                if exc.code not in (0, None):
                    raise
                result = exc
            _output.finish()  # output its reader left unread is a broken pipe too
        except BrokenPipeError:
            _output.silence_stdout()
            sys.exit(BROKEN_PIPE)
        except OSError as exc:  # --help or --version could not be written
            if not (failure := _output.write_failure(exc)):
                raise
            _output.silence_stdout()
            click.echo(f"Error: {failure}", err=True)
            sys.exit(_exitcodes.OUTPUT)
        if isinstance(result, SystemExit):
            raise result
        return result

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(INTERRUPTED)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
            _output.silence_stdout()
            ctx.exit(BROKEN_PIPE)
        except Exception as exc:  # no traceback, and no secret, for any error
            if failure := _output.write_failure(exc):  # stdout full, say
                _output.silence_stdout()  # what is left in its buffer must not fail again at exit
                click.echo(f"Error: {failure}", err=True)
                ctx.exit(_exitcodes.OUTPUT)
            shown = str(exc) if isinstance(exc, SpacekitError) else f"unexpected {type(exc).__name__}: {exc}"
            click.echo(f"Error: {redact(shown, ctx.meta.get(_SECRETS, ()))}", err=True)
            ctx.exit(exit_code(exc))


def _open(name: str | None) -> SpaceStore:
    """Open a store for this command; it is closed, and its secrets redacted, by the context."""
    ctx = click.get_current_context()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opening = _connect.prepare(name, {})
    for warning in caught:  # a message, not the source line Python would show
        click.echo(f"Warning: {warning.message}", err=True)
    ctx.meta.setdefault(_SECRETS, []).extend(opening.secrets)
    store = opening.open()
    ctx.call_on_close(store.close)
    return store


# -- output ---------------------------------------------------------------------------

_print_json = _output.print_json

SPACE_COLUMNS = ("ID", "NAME", "KIND", "DESCRIPTION", "UPDATED")


def _show_spaces(spaces: Iterable[Space], as_json: bool) -> None:
    if as_json:
        _print_json([space.to_dict() for space in spaces])
        return
    rows = (
        (space.id, space.name, space.kind.value, space.description, _when(space.updated_at))
        for space in spaces
    )
    _output.table(SPACE_COLUMNS, rows)


def _show_space(space: Space, as_json: bool) -> None:
    if as_json:
        _print_json(space.to_dict())
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
    return click.option(
        "--store",
        "store_name",
        metavar="NAME",
        help="a configured store or a provider",
        shell_complete=_complete_store,
    )(function)


def _complete_store(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for a store: the configured stores, then the providers."""
    try:
        configured = list(_config.load().stores)
    except SpacekitError:  # a broken config file must not break the shell
        configured = []
    candidates = dict.fromkeys([*configured, *_registry.names()])
    return [name for name in candidates if name.startswith(incomplete)]


def _print_versions(ctx: click.Context) -> None:
    for distribution, version in _registry.distributions():
        click.echo(f"{distribution} {version}")
    ctx.exit()


def _json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="plain JSON instead of a table")(function)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_versions(ctx) if value else None,
    help="Show the version of spacekit-core and of every installed plugin, and exit.",
)
def main() -> None:
    """One interface for every "spaces" API."""


@main.command()
@click.option(
    "--check",
    "check",
    is_flag=True,
    help="check every configured store's credentials, all at once: exit 0 if all are ok, "
    "4 if any refused them, 5 if any is unreachable, 2 if any is misconfigured",
)
@_json_option
def stores(check: bool, as_json: bool) -> None:
    """Configured stores, installed providers, and what each can do."""
    config = _config.load()
    if check:
        _check_stores(config, as_json)
        return
    status = _registry.status()
    configured = [_describe(name, store["provider"], status) for name, store in config.stores.items()]
    providers = [_describe(name, name, status) for name in status]
    default = _config.default_store(config)
    if as_json:
        _print_json(
            {"config": str(config.path), "default": default, "stores": configured, "providers": providers}
        )
        return
    click.echo(f"config file: {config.path}", err=True)
    click.echo(f"default store: {default or 'the embedded local store'}", err=True)
    if configured:
        rows = [(i["name"], i["provider"], i["error"] or ", ".join(i["capabilities"])) for i in configured]
        _output.table(("STORE", "PROVIDER", "CAPABILITIES"), rows, title="configured stores")
    rows = [(i["name"], i["summary"], i["error"] or ", ".join(i["capabilities"])) for i in providers]
    _output.table(("PROVIDER", "SUMMARY", "CAPABILITIES"), rows, title="installed providers")


def _check_stores(config: _config.Config, as_json: bool) -> None:
    """``stores --check``: one line per configured store, the exit code of the worst."""
    from ._storecheck import check_stores, exit_code

    providers = {name: str(store.get("provider")) for name, store in config.stores.items()}
    checks, notes = check_stores(list(config.stores), providers)
    for note in notes:
        click.echo(f"Warning: {note}", err=True)
    if as_json:
        _print_json({"config": str(config.path), "stores": [check.to_dict() for check in checks]})
    elif not checks:
        click.echo(f"no stores are configured in {config.path}", err=True)
    else:
        rows = [(c.name, c.provider, c.state, c.reason or "") for c in checks]
        _output.table(("STORE", "PROVIDER", "STATE", "REASON"), rows)
    code = exit_code(checks)
    if code:
        click.get_current_context().exit(code)


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
@_store_option
@_json_option
def create(
    name: str, description: str | None, store_name: str | None, as_json: bool, **provider_options: str | None
) -> None:
    """Create a space.

    Providers add their own options (see below, each marked with the providers
    that take it); an option the store's provider does not take is refused before
    anything is sent.
    """
    store = _open(store_name)
    options = _create_options(store, provider_options)
    with _saying_what_was_dropped():
        space = store.create(name, description, **options)
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


@main.group()
def subspaces() -> None:
    """Create and read the subspaces of a space (Instabase repos; the embedded stores)."""


@subspaces.command("create")
@click.argument("space_id", metavar="SPACE")
@click.argument("name")
@click.option("--description", "-d", default="", help="the subspace's description")
@click.option("--public", is_flag=True, help="visible to everyone (default: private)")
@_store_option
@_json_option
def create_subspace(
    space_id: str, name: str, description: str, public: bool, store_name: str | None, as_json: bool
) -> None:
    """Create the subspace NAME in SPACE (letters, digits, underscores and hyphens)."""
    subspace = _open(store_name).create_subspace(space_id, name, description=description, private=not public)
    click.echo(f"created subspace {subspace.owner}/{subspace.name}", err=True)
    _show_subspace(subspace, as_json)


@subspaces.command("get")
@click.argument("space_id", metavar="SPACE")
@click.argument("name")
@_store_option
@_json_option
def get_subspace(space_id: str, name: str, store_name: str | None, as_json: bool) -> None:
    """One subspace of SPACE by NAME."""
    _show_subspace(_open(store_name).get_subspace(space_id, name), as_json)


def _show_subspace(subspace: Subspace, as_json: bool) -> None:
    if as_json:
        _print_json(subspace.to_dict())
        return
    rows: list[tuple[str, object]] = [
        ("owner", subspace.owner),
        ("name", subspace.name),
        ("description", subspace.description),
        ("private", subspace.private),
        ("is_admin", subspace.is_admin),
    ]
    rows += [(f"member ({m.role})", f"{m.name} ({m.kind})") for m in subspace.members]
    _output.table(("FIELD", "VALUE"), rows)


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


@main.command("import")
@click.argument("file")
@_store_option
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
    store = _open(store_name)
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


def _register_migration_commands() -> None:
    from ._migrate._cli import commands

    for command in commands:
        main.add_command(command)
    from ._sync._cli import command as sync_command

    main.add_command(sync_command)
    from ._emulate_cli import command as emulate_command

    main.add_command(emulate_command)


_register_migration_commands()
