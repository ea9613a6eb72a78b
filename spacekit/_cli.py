"""The ``spacekit`` command line: the top-level group, and where each command lives.

Results go to stdout (a table on a terminal, plain JSON with ``--json``, JSON Lines
for ``export``); messages and errors go to stderr. Tables have no colour when
``NO_COLOR`` is set or stdout is not a terminal. Errors never show a traceback, and
the secrets of the store in use are removed from every message.

Exit codes are listed, and mapped from errors, in ``spacekit._exitcodes``; a
partly done import adds ``PARTIAL`` (1) here.

The commands live by group in ``spacekit._commands`` (and ``_migrate._cli``,
``_sync._cli``), each module imported only when its command runs or its help is
shown: ``spacekit --help`` and ``spacekit spaces list`` import no HTTP client, no
rich, no migration machinery and no plugin metadata. ``COMMANDS`` names each
command's module and the line ``spacekit --help`` shows for it (a test checks that
line against the command's own help). Tables, JSON and progress bars are printed by
``spacekit._output``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Final

import click

from . import _exitcodes
from ._commands._common import SECRETS, Group
from ._errors import SpacekitError, cli_message
from ._exitcodes import INTERRUPTED, PARTIAL

BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader left

COMMANDS: Final = {  # name: (module:attribute, its short help, which ``spacekit --help`` shows)
    "emulate": (
        "spacekit._emulate_cli:command",
        "Serve an emulator of PROVIDER's API on a loopback port until Ctrl-C.",
    ),
    "export": (
        "spacekit._commands._transfer:export",
        "Every space on stdout: JSON Lines, one Space.to_dict() per line, or a TOML manifest.",
    ),
    "import": (
        "spacekit._commands._transfer:import_",
        "Create the spaces of a JSON Lines FILE ('-' for stdin) in the store.",
    ),
    "manifest": (
        "spacekit._manifestcli:command",
        "Check a manifest offline, or print the JSON Schema of its TOML form.",
    ),
    "migrate": (
        "spacekit._migrate._cli:migrate",
        "Copy the spaces of SOURCE to TARGET (store or provider names).",
    ),
    "spaces": ("spacekit._commands._spaces:spaces", "List, show, create, update and delete spaces."),
    "stores": (
        "spacekit._commands._stores:stores",
        "Configured stores, installed providers, and what each can do.",
    ),
    "subspaces": (
        "spacekit._commands._spaces:subspaces",
        "Create, list and read the subspaces of a space (Instabase repos; the embedded stores).",
    ),
    "sync": (
        "spacekit._sync._cli:sync",
        "Make TARGET hold what SOURCE holds (stores, or a manifest file as SOURCE).",
    ),
    "verify": (
        "spacekit._migrate._cli:verify",
        "Check that TARGET holds what SOURCE holds; exit 1 if anything is missing or differs.",
    ),
}


class ImportFailed(SpacekitError):
    """A write failed during an import; says which lines were imported and which not."""

    def __init__(self, imported: list[int], line: int, remaining: list[int], cause: SpacekitError) -> None:
        done = f"imported line(s) {_ranges(imported)}" if imported else "nothing was imported"
        rest = f"; not attempted: line(s) {_ranges(remaining)}" if remaining else ""
        super().__init__(f"line {line} failed: {cause}; {done}{rest}")
        self.imported = imported
        self.cause = cause


def _ranges(lines: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``1-3, 5``."""
    spans: list[list[int]] = []
    for line in lines:
        if spans and line == spans[-1][1] + 1:
            spans[-1][1] = line
        else:
            spans.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def exit_code(error: BaseException) -> int:
    """The exit code for an error; a partly done import is ``PARTIAL``."""
    if isinstance(error, ImportFailed):
        return PARTIAL if error.imported else _exitcodes.exit_code(error.cause)
    return _exitcodes.exit_code(error)


class _Main(Group):
    """The top-level group: loads each command when it is used, and turns every error
    into a message and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, attribute = COMMANDS[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their one-line help, without importing any of them."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        shown = {name: click.Command(name, help=line) for name, (_, line) in COMMANDS.items()}
        shown |= self.commands  # the commands already loaded
        rows = [(name, shown[name].get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every command, ``--help`` and ``--version`` too: success only once stdout is delivered."""
        from . import _output

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
            from ._output import silence_stdout

            silence_stdout()
            ctx.exit(BROKEN_PIPE)
        except Exception as exc:  # no traceback, and no secret, for any error
            from . import _output
            from ._redact import redact

            if failure := _output.write_failure(exc):  # stdout full, say
                _output.silence_stdout()  # what is left in its buffer must not fail again at exit
                click.echo(f"Error: {failure}", err=True)
                ctx.exit(_exitcodes.OUTPUT)

            shown = (
                cli_message(exc)
                if isinstance(exc, SpacekitError)
                else f"unexpected {type(exc).__name__}: {exc}"
            )
            click.echo(f"Error: {redact(shown, ctx.meta.get(SECRETS, ()))}", err=True)
            ctx.exit(exit_code(exc))


def _print_versions(ctx: click.Context) -> None:
    from . import _registry

    for distribution, version in _registry.distributions():
        click.echo(f"{distribution} {version}")
    ctx.exit()


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
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
