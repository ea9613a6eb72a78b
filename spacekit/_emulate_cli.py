"""The ``spacekit emulate`` command (``command`` is what the core command line registers).

It serves one provider's emulator on a loopback port, as moto's server does for AWS:
a user's own programs and CI jobs point at it. The emulator itself, its faults, its
state file and its control API live in ``spacekit.testing``; this module turns flags
into calls on it and prints what a user needs to use it.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from . import _config, _registry
from ._commands._common import complete_emulated
from ._errors import ConfigError

if TYPE_CHECKING:
    from .testing import Emulator


@click.command("emulate")
@click.argument("provider", required=False, shell_complete=complete_emulated)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="the port; 0 picks a free one")
@click.option(
    "--token",
    metavar="T",
    help="the credential the emulator accepts (a token, or Datablist's API key), the same at every "
    "start; by default the emulator's own",
)
@click.option(
    "--log", "log", is_flag=True, help="one line per request on stderr: time, method, path, status, ms"
)
@click.option(
    "--latency", metavar="MS", type=click.IntRange(0, 600_000), default=0, help="delay every request by MS ms"
)
@click.option(
    "--fail",
    "fail_rate",
    metavar="RATE",
    type=click.FloatRange(0, 1),
    help="answer a random fraction RATE (0 to 1) of the requests with an error",
)
@click.option(
    "--fail-status",
    metavar="CODE",
    type=click.IntRange(200, 599),
    help="the status --fail answers (default 503)",
)
@click.option("--seed", metavar="N", type=int, help="the random seed of --fail, to repeat a run's failures")
@click.option(
    "--rate-limit",
    metavar="N",
    type=click.IntRange(min=1),
    help="at most N requests a second; beyond, 429 with Retry-After",
)
@click.option(
    "--seed-spaces",
    metavar="N",
    type=click.IntRange(0, 100_000),
    default=0,
    help="start with N more spaces (seed_0001, ...); reset returns to them",
)
@click.option(
    "--state",
    "state_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="keep the state in FILE across restarts (read at start, written after each change)",
)
def command(
    provider: str | None,
    port: int,
    token: str | None,
    log: bool,
    latency: int,
    fail_rate: float | None,
    fail_status: int | None,
    seed: int | None,
    rate_limit: int | None,
    seed_spaces: int,
    state_file: Path | None,
) -> None:
    """Serve an emulator of PROVIDER's API on a loopback port until Ctrl-C.

    Prints, on stdout, a config file section for a store on it, named after the
    provider and the port (e.g. [stores.neuroio-emulator-8001]), whose credential is
    an env: reference; on stderr, the export line that sets that variable and the
    control API (under /_spacekit/, no credential needed): reset, the request log,
    faults to arm, the state. Without PROVIDER, lists the providers with an emulator.
    """
    from .testing import emulator_for

    if provider is None:
        _list_providers()
        return
    if fail_rate is None and (fail_status is not None or seed is not None):
        option = "--fail-status" if fail_status is not None else "--seed"
        raise click.UsageError(f"{option} goes with --fail RATE")
    emulator = emulator_for(provider)
    if token is not None:
        _set_token(emulator, token)
    emulator.faults.latency = latency / 1000
    emulator.faults.rate_limit = rate_limit
    if fail_rate is not None:
        emulator.faults.fail_randomly(fail_rate, fail_status or 503, seed=seed)
    if seed_spaces:
        _seed(emulator, seed_spaces)
    restored = emulator.keep_state(state_file) if state_file is not None else False
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(emulator.serve(port=port, log=_echo if log else None))
        except OSError as exc:
            raise ConfigError(f"cannot listen on port {port}: {exc.strerror}") from None
        click.echo(f"{provider} emulator at {url}; stop it with Ctrl-C", err=True)
        for line in _behaviour(latency, fail_rate, fail_status, seed, rate_limit, seed_spaces):
            click.echo(f"  {line}", err=True)
        if state_file is not None:
            kept = "read from" if restored else "new, in"
            click.echo(f"  state: {kept} {state_file}, written after each change", err=True)
        _print_control_api(url)
        block = emulator.config_block(url)
        if block.environment:
            click.echo("Set its credential in your shell:", err=True)
            for line in block.exports:
                click.echo(f"  {line}", err=True)
        click.echo(f"and add this store to your config file ({_config.config_path()[0]}):", err=True)
        click.echo(block.toml + "\n")  # a blank line ends the block
        _wait_for_interrupt()
    emulator.save_state()  # the state file holds every change before the process ends
    served = emulator.served
    click.echo(f"stopped: {served} request{'s' if served != 1 else ''} served", err=True)


def _echo(line: str) -> None:
    click.echo(line, err=True)


def _list_providers() -> None:
    from .testing import emulated_providers

    names = emulated_providers()
    if not names:
        click.echo("no installed provider ships an emulator", err=True)
        return
    click.echo("Usage: spacekit emulate PROVIDER [OPTIONS]; the providers with an emulator:", err=True)
    width = max(len(name) for name in names)
    for name in names:
        click.echo(f"{name:<{width}}  {_registry.load(name).summary}".rstrip())


def _set_token(emulator: Emulator, token: str) -> None:
    if not token or not all("!" <= c <= "~" for c in token):
        raise click.BadParameter("must be printable ASCII without spaces", param_hint="--token")
    try:
        emulator.set_credential(token)
    except NotImplementedError as exc:
        raise click.BadParameter(str(exc), param_hint="--token") from None


def _seed(emulator: Emulator, count: int) -> None:
    try:
        emulator.seed_spaces(count)
    except NotImplementedError as exc:
        raise click.BadParameter(str(exc), param_hint="--seed-spaces") from None


def _behaviour(
    latency: int,
    fail_rate: float | None,
    fail_status: int | None,
    seed: int | None,
    rate_limit: int | None,
    seed_spaces: int,
) -> Iterator[str]:
    """What the flags changed, one line each."""
    if latency:
        yield f"latency: {latency} ms on every request"
    if fail_rate is not None:
        seeded = f", seed {seed}" if seed is not None else ""
        yield f"random failures: {fail_rate:.0%} of the requests answer {fail_status or 503}{seeded}"
    if rate_limit is not None:
        yield f"rate limit: {rate_limit} request(s) a second, then 429 with Retry-After"
    if seed_spaces:
        yield f"seeded: {seed_spaces} space(s) besides the provider's own"


def _print_control_api(url: str) -> None:
    from .testing import CONTROL_ENDPOINTS

    click.echo("Control API (no credential needed):", err=True)
    width = max(len(path) for _, path, _ in CONTROL_ENDPOINTS) + len(url)
    for method, path, help_text in CONTROL_ENDPOINTS:
        click.echo(f"  {method:<4} {url + path:<{width}}  {help_text}", err=True)


def _wait_for_interrupt() -> None:
    """Sleep until Ctrl-C (SIGINT, even when started in the background, which ignores
    it) or SIGTERM (a CI job's stop), either of which ends it cleanly."""

    def interrupted(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupted) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
