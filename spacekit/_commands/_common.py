"""What every command shares: opening a store, the common options, shell completion of
store names, providers and files, and "did you mean" suggestions.

This module imports click only: a command loads the rest when it runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from .._suggest import closest

if TYPE_CHECKING:
    from .._store import SpaceStore

F = TypeVar("F", bound=Callable[..., Any])

SECRETS = "spacekit.secrets"
"""The key, in ``click.Context.meta``, of the secrets to redact from every message."""


def open_store(name: str | None) -> SpaceStore:
    """Open a store for this command; it is closed, and its secrets redacted, by the context."""
    from .. import _connect

    ctx = click.get_current_context()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opening = _connect.prepare(name, {})
    for warning in caught:  # a message, not the source line Python would show
        click.echo(f"Warning: {warning.message}", err=True)
    ctx.meta.setdefault(SECRETS, []).extend(opening.secrets)
    store = opening.open()
    ctx.call_on_close(store.close)
    return store


def store_option(function: F) -> F:
    return click.option(
        "--store",
        "store_name",
        metavar="NAME",
        help="a configured store or a provider",
        shell_complete=complete_store,
    )(function)


def journal_option(help: str) -> Callable[[F], F]:
    """``--journal PATH``: ``~`` expanded (even quoted) and made absolute, so that the
    path a message prints resumes the same journal from any folder."""
    return click.option(
        "--journal", type=click.Path(dir_okay=False), callback=_absolute, metavar="PATH", help=help
    )


def _absolute(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else os.path.abspath(os.path.expanduser(value))


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="plain JSON instead of a table")(function)


def complete_store(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion where a store goes: the configured stores, the providers, then the
    manifest files of the folder; a word that looks like a path completes as a file."""
    from .. import _config, _manifest, _registry
    from .._errors import SpacekitError

    if incomplete.startswith(("/", ".", "~")) or os.sep in incomplete:
        return [CompletionItem(incomplete, type="file")]  # the shell completes paths best
    try:
        configured = list(_config.load().stores)
    except SpacekitError:  # a broken config file must not break the shell
        configured = []
    try:
        files = sorted(
            entry.name
            for entry in os.scandir(".")
            if entry.name.endswith(tuple(_manifest.FORMATS)) and entry.is_file()
        )
    except OSError:
        files = []
    candidates = dict.fromkeys([*configured, *_registry.names(), *files])
    return [CompletionItem(name) for name in candidates if name.startswith(incomplete)]


def complete_emulated(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of a provider that ships an emulator."""
    from .. import _registry
    from .._errors import ConfigError

    return [
        CompletionItem(name)
        for name, plugin in _registry.status().items()
        if name.startswith(incomplete) and not isinstance(plugin, ConfigError) and plugin.emulator()
    ]


class Group(click.Group):
    """A command group that suggests the closest command for a mistyped one."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0])
        if not ctx.resilient_parsing and not name.startswith("-") and self.get_command(ctx, name) is None:
            near = closest(name, self.list_commands(ctx))
            ctx.fail(f"No such command {name!r}." + (f" Did you mean {near!r}?" if near else ""))
        return super().resolve_command(ctx, args)
