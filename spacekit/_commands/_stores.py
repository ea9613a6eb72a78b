"""``spacekit stores``: the configured stores and installed providers, or ``--check``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from .. import _config, _output, _registry
from .._errors import ConfigError
from ._common import json_option


@click.command()
@click.option(
    "--check",
    "check",
    is_flag=True,
    help="check every configured store's credentials, all at once: exit 0 if all are ok, "
    "else 4 if any refused them, else 5 if any is unreachable, else 2 if any is misconfigured "
    "(a refusal outranks an unreachable store); a refused connection is not retried",
)
@json_option
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
        _output.print_json(
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
    from .._storecheck import check_stores, exit_code

    providers = {name: str(store.get("provider")) for name, store in config.stores.items()}
    checks, notes = check_stores(list(config.stores), providers)
    for note in notes:
        click.echo(f"Warning: {note}", err=True)
    if as_json:
        _output.print_json({"config": str(config.path), "stores": [check.to_dict() for check in checks]})
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
