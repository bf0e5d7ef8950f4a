"""``imurehab export``: a dataset's sessions as BIDS motion, OpenSense orientations or CSV files."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from imurehab.cli.common import JsonOpt, err_console, errors_as_exit, print_json


class ExportFormat(enum.StrEnum):
    """The formats ``imurehab export`` writes."""

    bids = "bids"
    opensense = "opensense"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to ``app``.

    Parameters
    ----------
    app : typer.Typer
        The ``imurehab`` app.
    """

    @app.command()
    def export(
        dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
        format_: Annotated[
            ExportFormat,
            typer.Option(
                "--format",
                help="bids: BIDS motion (raw samples per sensor); opensense: orientations .sto per "
                "session (processed sessions); csv: one file per table per session, units in the names.",
                case_sensitive=False,
            ),
        ],
        out: Annotated[Path, typer.Option(help="Output folder (must be empty unless --overwrite).")],
        subject: Annotated[str | None, typer.Option(help="Only this subject.")] = None,
        session: Annotated[str | None, typer.Option(help="Only this session.")] = None,
        overwrite: Annotated[
            bool, typer.Option(help="Write into a non-empty folder, replacing files of the same names.")
        ] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Export sessions for other tools: BIDS motion, OpenSense (OpenSim) or CSV for spreadsheets."""
        from rich.progress import Progress

        from imurehab.export import export_bids, export_csv, export_opensense

        exporter = {
            ExportFormat.bids: export_bids,
            ExportFormat.opensense: export_opensense,
            ExportFormat.csv: export_csv,
        }[format_]
        with errors_as_exit(), Progress(console=err_console, disable=json_, transient=True) as bar:
            task = bar.add_task(f"Exporting sessions ({format_.value})", total=None)
            result = exporter(
                dataset,
                out,
                subject=subject,
                session=session,
                overwrite=overwrite,
                on_session=lambda done, total: bar.update(task, completed=done, total=total),
            )
        if json_:
            print_json({"dataset": str(dataset), **result.to_dict()})
            return
        err_console.print(
            f"Exported {len(result.sessions)} session(s) as {format_.value}: "
            f"{len(result.files)} file(s) in {result.out}",
            highlight=False,
        )
