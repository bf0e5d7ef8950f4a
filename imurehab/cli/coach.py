"""``imurehab load`` and ``imurehab compare``: the coach's training load over a dataset."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.table import Table

from imurehab.cli.common import (
    EXIT_FAILURE,
    EXIT_PARTIAL,
    EXIT_USAGE,
    JsonOpt,
    err_console,
    errors_as_exit,
    print_json,
)

if TYPE_CHECKING:
    import polars as pl

    from imurehab.training import AthleteComparison, LoadUpdateReport


def _usage_error(message: str) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


def _exit_code(report: LoadUpdateReport) -> int:
    failed = report.count("failed")
    if not failed:
        return 0
    return (
        EXIT_PARTIAL
        if failed < report.count("failed") + report.count("computed") + report.count("skipped")
        else (EXIT_FAILURE)
    )


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _rich_table(df: pl.DataFrame, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for i, name in enumerate(df.columns):
        t.add_column(name, justify="left" if i == 0 else "right")
    for row in df.iter_rows():
        t.add_row(*(_fmt(v) for v in row))
    return t


def _show_comparison(c: AthleteComparison) -> None:
    from imurehab.analysis.acwr import ACWR_CAVEAT

    unit = f"{c.metric} [{c.unit}]"
    err_console.print(_rich_table(c.weekly_table(), f"Weekly load, {unit} (weeks from Monday, UTC)"))
    if c.stations.height:
        err_console.print(_rich_table(c.station_table(), f"Load per station, {unit}"))
    ratios = c.latest_acwr().rename(
        {
            "acwr_rolling": "rolling 7:28",
            "acwr_rolling_uncoupled": "rolling uncoupled",
            "acwr_ewma": "EWMA 7/28",
        }
    )
    err_console.print(_rich_table(ratios, f"Acute:chronic workload ratio on the last day, {unit}"))
    err_console.print(f"[dim]{ACWR_CAVEAT}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the coach's commands (``load``, ``compare``) to the main app."""

    @app.command("load")
    def load_command(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
        epoch_s: Annotated[float, typer.Option("--epoch-s", min=1.0, help="Epoch length [s].")] = 60.0,
        workers: Annotated[
            int,
            typer.Option(min=1, max=64, help="Sessions computed at once, in threads (one per core)."),
        ] = 2,
        keep_orphans: Annotated[
            bool, typer.Option(help="Keep (and report) the load of sessions no longer in the dataset.")
        ] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Compute or update the load table: only new or changed sessions are computed."""
        from rich.progress import Progress

        from imurehab.training import SessionLoadOutcome, update_load

        with Progress(console=err_console, disable=json_, transient=True) as bar:
            task = bar.add_task("Computing load", total=None)

            def advance(outcome: SessionLoadOutcome, done: int, total: int) -> None:
                bar.update(
                    task, completed=done, total=total, description=f"{outcome.subject}/{outcome.session}"
                )

            with errors_as_exit():
                report = update_load(
                    dataset, epoch_s=epoch_s, workers=workers, prune=not keep_orphans, on_outcome=advance
                )
        if json_:
            print_json(report.to_dict())
        else:
            shown = [o for o in report.outcomes if o.status != "skipped"]
            if shown:
                t = Table("subject", "session", "status", "reason", "epochs", "sensor-hours", "error")
                for o in shown:
                    t.add_row(
                        o.subject,
                        o.session,
                        o.status,
                        o.reason,
                        str(o.epochs),
                        f"{o.sensor_hours:.2f}",
                        o.error or "",
                    )
                err_console.print(t)
            err_console.print(
                f"load: {report.count('computed')} computed, {report.count('skipped')} unchanged, "
                f"{report.count('failed')} failed, {report.count('removed')} removed"
                + (f", {report.count('orphaned')} orphaned" if report.count("orphaned") else "")
                + f" (epochs of {report.epoch_s:g} s, metrics version {report.metrics_version})"
            )
        if code := _exit_code(report):
            raise typer.Exit(code)

    @app.command()
    def compare(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder (run imurehab load first).")],
        athletes: Annotated[str, typer.Option(help="Comma-separated athlete (subject) ids.")],
        metric: Annotated[
            str, typer.Option(help="Load metric, e.g. playerload, enmo_mg, counts_vm.")
        ] = "playerload",
        since: Annotated[str | None, typer.Option(help="First day shown, YYYY-MM-DD (UTC).")] = None,
        out: Annotated[Path | None, typer.Option(help="Write the chart: FILE.png or FILE.html.")] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Compare athletes: weekly load, per-station splits, ACWR (rolling and EWMA), and a chart."""
        from imurehab.training import COMPARABLE_METRICS, compare_athletes, load_athletes

        names = [a.strip() for a in athletes.split(",") if a.strip()]
        if not names:
            _usage_error("--athletes: give at least one athlete id")
        if len(set(names)) != len(names):
            _usage_error("--athletes: an athlete is listed twice")
        if metric not in COMPARABLE_METRICS:
            _usage_error(
                f"--metric: unknown metric {metric!r}; choose one of {', '.join(COMPARABLE_METRICS)}"
            )
        first_day = None
        if since is not None:
            try:
                first_day = date.fromisoformat(since)
            except ValueError:
                _usage_error(f"--since: not a date YYYY-MM-DD: {since!r}")
        if out is not None and out.suffix.lower() not in (".png", ".html", ".htm"):
            _usage_error(f"--out: write a .png or .html file, not {out.name!r}")
        with errors_as_exit():
            known = load_athletes(dataset)
        if unknown := [a for a in names if a not in known]:
            listed = ", ".join(known) or "none"
            _usage_error(f"--athletes: no load for {', '.join(unknown)}; athletes with load: {listed}")
        with errors_as_exit():
            comparison = compare_athletes(dataset, names, metric=metric, since=first_day)
            written = None
            if out is not None:
                from imurehab.report import write_comparison

                written = write_comparison(comparison, out)
        if json_:
            print_json(
                {
                    "dataset": str(dataset),
                    **comparison.to_dict(),
                    "out": None if written is None else str(written),
                }
            )
            return
        _show_comparison(comparison)
        if written is not None:
            err_console.print(f"Chart written to {written}")
