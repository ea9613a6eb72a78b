"""The ``spacekit sync`` command (``command`` is what the core command line registers).

The output starts with a one-line summary; then, for a plan, one line per change,
and for an applied run one line per failure, and either way one per space "adopted
after a lost answer" (every pair with ``--verbose``), and what the final listing
found different. ``--json`` prints the whole report instead.

Exit codes, as for ``spacekit migrate``::

    0   the plan was printed (no --apply); with --check: the target equals the
        source (every source space has its counterpart, equal in the fields the
        target keeps, and the target has no other space but those its provider
        protects, among the selected names);
        with --apply: every item succeeded and the target now matches the source
    1   with --check: the target differs; with --apply: some items failed, or the
        target does not match the source afterwards
    2   usage or configuration, and a plan refused by the --max-changes rule
    4   credentials or permission refused: the run stopped, nothing more written
    5   a provider failure stopped the run (a listing failed, rate limiting)
    130 interrupted (Ctrl-C); every write sent is journaled: run it again to resume
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Final

import click

from .. import _output
from .._commands._common import complete_store, journal_option
from .._exitcodes import OK, PARTIAL, PROVIDER
from .._migrate._cli import _errors_to_exit, _print_json
from ._report import CHANGES, SyncItem, SyncReport, TooManyChanges
from ._run import sync as run_sync

_RESUME_HINT: Final = "run the same command again to resume"


class _Percent(click.ParamType):  # type: ignore[type-arg]
    name = "PCT"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        text = str(value).strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            self.fail(f"{value!r} is not a percentage (say 30 or 30%)", param, ctx)
        if not 0 <= number <= 100:
            self.fail(f"{value!r} is not between 0 and 100", param, ctx)
        return number / 100


#: the order a plan shows its actions in, as octoDNS does: deletes first
_ORDER: Final = {"delete": 0, "update": 1, "create": 2, "keep": 3}


def _line(item: SyncItem, applied: bool) -> str:
    what = item.outcome.value if applied else item.action.value
    text = f"  {what:<8} {item.label}"
    if item.action is not item.action.DELETE and item.target_id is not None and item.source_id is not None:
        text += f" -> {item.target_name} ({item.target_id})"
    notes = [str(change) for change in item.changes]
    if item.error:
        notes.append(item.error)
    elif item.reason:
        notes.append(item.reason)
    return text + (f": {'; '.join(notes)}" if notes else "")


def _report_out(report: SyncReport, as_json: bool, verbose: bool) -> None:
    if as_json:
        _print_json(report.to_dict())
    else:
        _show(report, verbose)


def _sorted(items: Sequence[SyncItem]) -> list[SyncItem]:
    """Grouped by action (delete, update, create, keep), by name within each."""
    return sorted(
        items, key=lambda i: (_ORDER[i.action.value], (i.source_name or i.target_name or "").casefold())
    )


def _show(report: SyncReport, verbose: bool) -> None:
    click.echo(report.summary())
    for item in _sorted(report.items):
        shown = (
            verbose
            or item.adopted
            or (
                item.outcome.value in ("failed", "planned")
                if report.applied
                else item.action in CHANGES or item.extra
            )
        )
        if shown or (item.error and not report.applied):
            click.echo(_line(item, report.applied))
    for mismatch in report.mismatches:
        click.echo(f"  mismatch: {mismatch}")
    if not report.applied:
        for field, count in report.lost().items():
            click.echo(f"not held by the target ({report.target.provider}): {field}, for {count} space(s)")
    for warning in report.warnings:
        click.echo(warning)
    if report.applied and not report.ok and report.journal:
        click.echo(f"Not everything was done; fix the cause, then {_RESUME_HINT} (journal {report.journal}).")


@click.command("sync")
@click.argument("source", required=False, shell_complete=complete_store)
@click.argument("target", required=False, shell_complete=complete_store)
@click.option("--apply", "apply_", is_flag=True, help="carry the plan out (without it, only print the plan)")
@click.option(
    "--plan-out",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="save the plan to FILE (JSON) as well as printing it, to apply it later with --apply-plan",
)
@click.option(
    "--apply-plan",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="apply exactly the plan saved in FILE, or nothing if what it touches changed since (exit 2)",
)
@click.option("--delete", is_flag=True, help="delete target spaces that have no counterpart in SOURCE")
@click.option(
    "--max-changes",
    type=_Percent(),
    default="30",
    show_default=True,
    help="refuse a plan updating or deleting more than this % of a target of 10+ spaces",
)
@click.option("--force", is_flag=True, help="apply a plan even beyond --max-changes")
@click.option(
    "--check", is_flag=True, help="exit 1 if TARGET differs from SOURCE, 0 if they match; write nothing"
)
@journal_option("SQLite file recording every write; resume with it")
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="NAME_OR_GLOB",
    help="sync only spaces with this name or matching this glob, on both sides (repeatable)",
)
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="parallel writes"
)
@click.option("--json", "as_json", is_flag=True, help="print the full report as JSON")
@click.option("--verbose", "-v", is_flag=True, help="a line for every space, not only changes and failures")
def sync(
    source: str | None,
    target: str | None,
    apply_: bool,
    plan_out: str | None,
    apply_plan: str | None,
    delete: bool,
    max_changes: float,
    force: bool,
    check: bool,
    journal: str | None,
    select: Sequence[str],
    concurrency: int,
    as_json: bool,
    verbose: bool,
) -> None:
    """Make TARGET hold what SOURCE holds (stores, or a manifest file as SOURCE).

    Without --apply, print the plan and write nothing. SOURCE may be a manifest: a
    path ending in .toml, .json or .jsonl.

    With --plan-out FILE, the plan is also saved (nothing else is written, not even
    the journal); --apply-plan FILE applies exactly that plan later, with its own
    --delete, --max-changes, --force and --select, and the stores it names (SOURCE
    and TARGET may be given, and must then be the same stores), or refuses with
    exit 2, writing nothing, if anything it touches changed since.
    """
    _check_usage(source, target, check, apply_, plan_out, apply_plan)
    writing = apply_ or apply_plan is not None
    bar = _output.progress("syncing") if writing and not as_json else contextlib.nullcontext(None)
    with _errors_to_exit(journal if writing else None), bar as advance:
        try:
            report = run_sync(
                source,
                target,
                apply=apply_,
                delete=delete,
                max_changes=max_changes,
                force=force or check,
                journal=journal,
                select=list(select) or None,
                concurrency=concurrency,
                progress=(lambda item: advance()) if advance is not None else None,
                plan=apply_plan,
            )
        except TooManyChanges as refused:
            _report_out(refused.report, as_json, verbose)  # the plan that was refused, then the error
            raise
        if plan_out is not None:
            report.save(plan_out)
    _report_out(report, as_json, verbose)
    if plan_out is not None:
        click.echo(
            f"plan saved to {plan_out}; apply it with: spacekit sync --apply-plan {plan_out}", err=True
        )
    if check:
        raise click.exceptions.Exit(OK if report.in_sync else PARTIAL)
    # a source that could not prove a delete is a store that could not be read: exit 5
    raise click.exceptions.Exit(OK if report.ok else PROVIDER if report.unreadable else PARTIAL)


def _check_usage(
    source: str | None,
    target: str | None,
    check: bool,
    apply_: bool,
    plan_out: str | None,
    apply_plan: str | None,
) -> None:
    """Refuse combinations that make no sense, before anything is opened."""
    if check and apply_:
        raise click.UsageError("--check only compares; drop --apply (or --check)")
    if plan_out is not None and (apply_ or check or apply_plan is not None):
        raise click.UsageError("--plan-out saves a plan: drop --apply, --check and --apply-plan")
    if apply_plan is None:
        if source is None or target is None:
            raise click.UsageError("give SOURCE and TARGET (or --apply-plan FILE)")
        return
    if apply_ or check:
        raise click.UsageError("--apply-plan applies the saved plan: drop --apply and --check")
    ctx = click.get_current_context()
    given = [
        f"--{name.replace('_', '-')}"
        for name in ("delete", "max_changes", "force", "select")
        if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
    ]
    if given:
        raise click.UsageError(
            f"{', '.join(given)}: a saved plan applies with its own options; plan again to change them"
        )
    if (source is None) != (target is None):
        raise click.UsageError("give both SOURCE and TARGET, or neither (the plan names them)")


command: Final = sync
