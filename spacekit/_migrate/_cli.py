"""The ``spacekit migrate`` and ``spacekit verify`` commands (``commands`` is what the
core command line registers).

Exit codes, as in the rest of the command line::

    0   every selected space is migrated (or, for verify, matches)
    1   some items failed (or, for verify, something is missing or differs)
    2   usage or configuration: a bad option, an unknown store, a journal for
        another pair of stores, a policy the target cannot perform, a store
        migrated onto itself, ``--select`` matching no source space, another
        migration into the same target running on this machine
    3   not found
    4   authentication or permission: the run stopped at once, nothing more written
    5   any other provider failure that stopped the run (the source listing failed
        for good, the target rate-limits beyond the store's deadline)
    130 interrupted (Ctrl-C); every write sent is journaled, so the same command resumes

The result leads with a summary (counts per outcome, the fields the target cannot
hold); per-space lines follow only for failures and conflicts, or for every space
with ``--verbose``. A progress bar is drawn on stderr when it is a terminal, never
with ``--json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .._commands._common import complete_store, journal_option
from .._errors import ProviderError, SpacekitError, cli_message
from .._exitcodes import INTERRUPTED, OK, PARTIAL, PROVIDER, USAGE, exit_code
from .._output import table
from ._plan import POLICIES
from ._record import Outcome
from ._report import MigrationItem, MigrationReport, VerifyReport
from ._run import migrate as run_migration
from ._verify import verify as run_verify

_RESUME_HINT: Final = "run the same command again to resume"


@contextmanager
def _errors_to_exit(journal: str | None) -> Iterator[None]:
    """A spacekit error becomes one message on stderr and its exit code."""
    try:
        yield
    except SpacekitError as exc:
        hint = f" (journal: {journal}; {_RESUME_HINT})" if journal and isinstance(exc, ProviderError) else ""
        click.echo(f"Error: {cli_message(exc)}{hint}", err=True)
        raise click.exceptions.Exit(exit_code(exc)) from None
    except KeyboardInterrupt:
        hint = f"; {_RESUME_HINT} (journal: {journal})" if journal else ""
        click.echo(f"Interrupted{hint}", err=True)
        raise click.exceptions.Exit(INTERRUPTED) from None


def _console(stderr: bool = False) -> Console:
    return Console(
        stderr=stderr, color_system=None if os.environ.get("NO_COLOR") else "auto", highlight=False
    )


class _Bar:
    """The migrate bar's callback: a space done; ``planned``: the total, once listed."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self.bar, self.task, self.done, self.failed = bar, task, 0, 0

    def __call__(self, item: MigrationItem) -> None:
        self.done += 1
        self.failed += item.outcome is Outcome.FAILED
        self.bar.update(self.task, advance=1, tally=f"{self.failed} failed")

    def planned(self, count: int) -> None:
        self.bar.update(self.task, total=count)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[MigrationItem], None] | None]:
    """A progress bar on stderr, if it is a terminal and ``enabled``; yields the callback.

    It counts the spaces done; once the source's listing has ended it shows the total
    and the time left (ETA) too."""
    console = _console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tally]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        yield _Bar(bar, bar.add_task("migrating", total=None, tally=""))


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _noteworthy(item: MigrationItem) -> bool:
    """A failure, a conflict, a vanished space, a renamed one or one adopted after a lost
    answer on no evidence: shown without --verbose."""
    renamed = item.target_name is not None and item.target_name != item.source_name
    conflict = item.action.value in ("rename", "update", "fail") or (
        item.outcome is Outcome.SKIPPED and "already exists" in (item.reason or "")
    )
    return item.outcome in (Outcome.FAILED, Outcome.VANISHED) or conflict or renamed or item.adopted


def _show_migration(report: MigrationReport, verbose: bool) -> None:
    click.echo(report.summary())
    for mismatch in report.mismatches:
        click.echo(f"  mismatch: {mismatch}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if verbose:
        for note in report.notes:
            click.echo(f"Note: {note}")
    rows = [item for item in report.items if verbose or _noteworthy(item)]
    if rows:
        title = "plan" if report.dry_run else ("spaces" if verbose else "failures and conflicts")
        table(
            ("action", "outcome", "source", "source id", "target", "target id", "lost fields", "note"),
            (
                (
                    item.action.value,
                    item.outcome.value,
                    item.source_name,
                    item.source_id,
                    item.target_name,
                    item.target_id,
                    ", ".join(item.lost),
                    item.error or item.reason,
                )
                for item in rows
            ),
            title=title,
        )
    if report.failed and report.journal and not report.dry_run:
        click.echo(f"Some items failed; fix the cause, then {_RESUME_HINT} (journal {report.journal}).")


def _show_verify(report: VerifyReport) -> None:
    click.echo(report.summary())
    rows = [*report.problems, *report.gone]
    if rows:
        table(
            ("problem", "source", "source id", "target id", "detail"),
            (
                (
                    item.problem.value,
                    item.source_name,
                    item.source_id,
                    item.target_id,
                    item.detail or "; ".join(f"{f}: {s!r} != {t!r}" for f, s, t in item.differences),
                )
                for item in rows
            ),
            title="problems" if report.problems else "deleted from the source since",
        )


@click.command("migrate")
@click.argument("source", shell_complete=complete_store)
@click.argument("target", shell_complete=complete_store)
@click.option("--dry-run", is_flag=True, help="print the plan; write nothing (not even the journal)")
@click.option(
    "--on-conflict",
    type=click.Choice(POLICIES),
    default="skip",
    show_default=True,
    help="when the target already has a space of that name",
)
@journal_option("SQLite file recording every write; resume with it")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="parallel writes"
)
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="NAME_OR_GLOB",
    help="migrate only spaces with this name or matching this glob (repeatable)",
)
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
@click.option("--verbose", "-v", is_flag=True, help="a line for every space, not only failures and conflicts")
def migrate(
    source: str,
    target: str,
    dry_run: bool,
    on_conflict: str,
    journal: str | None,
    concurrency: int,
    select: Sequence[str],
    as_json: bool,
    verbose: bool,
) -> None:
    """Copy the spaces of SOURCE to TARGET (store or provider names). Nothing is deleted.

    One migration into a target runs at a time on this machine; runs started on
    other machines into the same target are not detected.
    """
    with _errors_to_exit(journal), _progress(not as_json and not dry_run) as progress:
        report = run_migration(
            source,
            target,
            dry_run=dry_run,
            on_conflict=on_conflict,
            journal=journal,
            concurrency=concurrency,
            select=list(select) or None,
            progress=progress,
        )
    if select and not report.items:
        patterns = ", ".join(repr(p) for p in select)
        click.echo(f"Error: --select {patterns} matched no space of {source}; nothing was done", err=True)
        raise click.exceptions.Exit(USAGE)
    if as_json:
        _print_json(report.to_dict())
    else:
        _show_migration(report, verbose)
    raise click.exceptions.Exit(OK if report.ok else PROVIDER if report.unreadable else PARTIAL)


@click.command("verify")
@click.argument("source", shell_complete=complete_store)
@click.argument("target", shell_complete=complete_store)
@journal_option("compare the pairs this journal recorded")
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
def verify(source: str, target: str, journal: str | None, as_json: bool) -> None:
    """Check that TARGET holds what SOURCE holds; exit 1 if anything is missing or differs."""
    with _errors_to_exit(None):
        report = run_verify(source, target, journal=journal)
    if as_json:
        _print_json(report.to_dict())
    else:
        _show_verify(report)
    raise click.exceptions.Exit(OK if report.ok else PARTIAL)


commands: Final = [migrate, verify]
