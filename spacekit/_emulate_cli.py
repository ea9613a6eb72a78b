"""The ``spacekit emulate`` command (``command`` is what the core command line registers)."""

from __future__ import annotations

import contextlib
import time

import click

from . import _config, _registry
from ._errors import ConfigError


@click.command("emulate")
@click.argument("provider")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="the port; 0 picks a free one")
@click.option(
    "--token",
    metavar="T",
    help="the credential the emulator accepts (a token, or Datablist's API key), the same at every "
    "start; by default the emulator's own",
)
def command(provider: str, port: int, token: str | None) -> None:
    """Serve an emulator of PROVIDER's API on a loopback port until Ctrl-C.

    Prints, on stdout, a config file section for a store on it, named after the
    provider and the port (e.g. [stores.neuroio-emulator-8001]), whose credential is
    an env: reference; on stderr, the export line that sets that variable.
    """
    from .testing import Emulator  # the seam only knows an emulator's protocol

    emulator = _registry.load(provider).emulator()
    if not isinstance(emulator, Emulator):
        raise ConfigError(f"no emulator for {provider}")
    if token is not None:
        if not token or not all("!" <= c <= "~" for c in token):
            raise click.BadParameter("must be printable ASCII without spaces", param_hint="--token")
        try:
            emulator.set_credential(token)
        except NotImplementedError as exc:
            raise click.BadParameter(str(exc), param_hint="--token") from None
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(emulator.serve(port=port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on port {port}: {exc.strerror}") from None
        block = emulator.config_block(url)
        click.echo(f"{provider} emulator at {url}; stop it with Ctrl-C", err=True)
        if block.environment:
            click.echo("Set its credential in your shell:", err=True)
            for line in block.exports:
                click.echo(f"  {line}", err=True)
        click.echo(f"and add this store to your config file ({_config.config_path()[0]}):", err=True)
        click.echo(block.toml + "\n")  # a blank line ends the block
        _wait_for_interrupt()


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
