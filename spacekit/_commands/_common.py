"""What every command shares: opening a store, the common options, shell completion of
store names, providers and files, and "did you mean" suggestions.

This module imports click only: a command loads the rest when it runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

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


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="plain JSON instead of a table")(function)


def complete_store(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for a store: the configured stores, then the providers."""
    from .. import _config, _registry
    from .._errors import SpacekitError

    try:
        configured = list(_config.load().stores)
    except SpacekitError:  # a broken config file must not break the shell
        configured = []
    candidates = dict.fromkeys([*configured, *_registry.names()])
    return [name for name in candidates if name.startswith(incomplete)]


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
