"""``imurehab report``: the physiotherapist's report of a session as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imurehab.cli.common import EXIT_USAGE, JsonOpt, err_console, errors_as_exit, print_json

if TYPE_CHECKING:
    from imurehab.report import PhysioReport


def _show(report: PhysioReport) -> None:
    ref = report.session
    err_console.print(
        f"[bold]{ref.subject}/{ref.session}[/] ({ref.start_time:%Y-%m-%d %H:%M} UTC)", highlight=False
    )
    for s in report.sets:
        err_console.print(s.summary.text(), highlight=False)
    if not report.sets:
        err_console.print("No repetitions were found in this session.")
    err_console.print(f"Report written to {report.path}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the main app.

    Parameters
    ----------
    app : typer.Typer
        The app to add it to.
    """

    @app.command("report")
    def report_command(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder (run imurehab process first).")],
        subject: Annotated[str, typer.Option(help="Subject id.")],
        session: Annotated[
            str | None, typer.Option(help="Session id (default: the subject's latest processed session).")
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(help="The page to write, FILE.html (default: report-SUBJECT-SESSION.html)."),
        ] = None,
        mdc_deg: Annotated[
            float | None,
            typer.Option(
                "--mdc-deg",
                min=0.0,
                help="A published MDC95 [deg] for this measurement (default: from its own uncertainty).",
            ),
        ] = None,
        mdc_source: Annotated[
            str | None, typer.Option("--mdc-source", help="Citation of --mdc-deg (required with it).")
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Write a session's report for the physiotherapist as one HTML page that needs no network.

        ROM per rep with its uncertainty and target, flags with their reasons, charts, data quality and
        progress across sessions against the MDC.
        """
        from imurehab.report import physio_report
        from imurehab.report.physio_data import find_session

        if out is not None and out.suffix.lower() not in (".html", ".htm"):
            err_console.print(f"[bold red]error:[/] --out: the report is an .html page, not {out.name!r}")
            raise typer.Exit(EXIT_USAGE)
        if (mdc_deg is None) != (mdc_source is None):
            err_console.print("[bold red]error:[/] give --mdc-deg and --mdc-source together")
            raise typer.Exit(EXIT_USAGE)
        with errors_as_exit():
            if out is None:
                ref = find_session(dataset, subject, session)
                session, out = ref.session, Path(f"report-{ref.subject}-{ref.session}.html")
            report = physio_report(dataset, subject, session, out, mdc_deg=mdc_deg, mdc_source=mdc_source)
        if json_:
            print_json(report.to_dict())
        else:
            _show(report)
