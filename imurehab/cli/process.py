"""``imurehab process``: a dataset's sessions to orientation, joint_angles and reps, on any executor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from imurehab.cli.common import EXIT_FAILURE, EXIT_PARTIAL, JsonOpt, err_console, errors_as_exit, print_json

if TYPE_CHECKING:
    from imurehab.batch import BatchOptions, BatchReport


def _options(exercise: str | None, overwrite: bool) -> BatchOptions:
    from imurehab.batch import BatchOptions
    from imurehab.exercises import list_templates

    if exercise is None:
        return BatchOptions(overwrite=overwrite)
    if exercise.endswith(".toml") or Path(exercise).is_file():
        return BatchOptions(template_file=Path(exercise), overwrite=overwrite)
    if exercise not in list_templates():
        raise typer.BadParameter(
            f"unknown exercise {exercise!r}; built-in: {', '.join(list_templates())} "
            "(or give a path to a template .toml file)",
            param_hint="--exercise",
        )
    return BatchOptions(exercise=exercise, overwrite=overwrite)


def _show(report: BatchReport) -> None:
    for r in report.results:
        for j in r.joints:
            if j.summary is not None:
                err_console.print(f"[bold]{r.subject}/{r.session}[/] {j.summary.text()}")
    t = Table("subject", "session", "status", "joints", "reps", "notes")
    for r in report.results:
        status = r.status if r.status == "failed" else f"{r.status} ({r.reason})"
        detail = r.error or "; ".join(r.notes)
        reps = str(r.reps) if r.status == "processed" else ""
        t.add_row(r.subject, r.session, status, ", ".join(j.label for j in r.joints), reps, detail)
    err_console.print(t)
    err_console.print(
        f"{report.count('processed')} processed, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed"
    )


def register(app: typer.Typer) -> None:
    """Add the ``process`` command to ``app``.

    Parameters
    ----------
    app : typer.Typer
        The command-line app.
    """

    @app.command()
    def process(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
        subject: Annotated[str | None, typer.Option(help="Only this subject.")] = None,
        session: Annotated[str | None, typer.Option(help="Only this session.")] = None,
        exercise: Annotated[
            str | None,
            typer.Option(
                help="Exercise, overriding the sessions' own: a built-in template name "
                "(see docs/exercise-templates.md) or a path to a template .toml file."
            ),
        ] = None,
        overwrite: Annotated[
            bool, typer.Option(help="Process again sessions whose results are current.")
        ] = False,
        executor: Annotated[
            str,
            typer.Option(
                help="Where sessions run: 'local' (a process pool), 'dask-local' (a Dask LocalCluster) "
                "or 'dask://HOST:PORT' (a running Dask scheduler). See docs/batch.md."
            ),
        ] = "local",
        workers: Annotated[
            int | None,
            typer.Option(min=1, help="Worker processes (default: one per core, at most one per session)."),
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Turn each session's samples into orientation, joint_angles and reps.

        Sessions whose results are complete and made from their current inputs, exercise and software
        are skipped; a failed session is reported and the others go on (exit code 3, or 1 if all fail).
        """
        from rich.progress import Progress

        from imurehab.batch import default_workers, executor_kind, open_executor, plan_batch, run_batch

        try:
            executor_kind(executor)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--executor") from None
        options = _options(exercise, overwrite)
        with errors_as_exit():
            plan = plan_batch(dataset, subject=subject, session=session, options=options)
        if not plan.order:
            err_console.print("[bold red]error:[/] no session matches")
            raise typer.Exit(EXIT_FAILURE)
        n_workers = workers or default_workers(len(plan.tasks))
        with Progress(console=err_console, disable=json_, transient=True) as bar:
            task = bar.add_task("Processing sessions", total=len(plan.order))
            with errors_as_exit(), open_executor(executor, workers=n_workers) as pool:
                report = run_batch(plan, executor=pool, on_result=lambda _: bar.advance(task))
        if json_:
            print_json(report.to_dict())
        else:
            _show(report)
        if failed := report.count("failed"):
            raise typer.Exit(EXIT_PARTIAL if failed < len(report.results) else EXIT_FAILURE)
