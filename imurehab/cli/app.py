"""The ``imurehab`` app: ``demo``, ``info`` and ``import`` here; the other commands from their modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from imurehab.cli.ble import register as register_ble_commands
from imurehab.cli.coach import register as register_coach_commands
from imurehab.cli.common import (
    JsonOpt,
    err_console,
    errors_as_exit,
    key_value,
    print_json,
)
from imurehab.cli.export import register as register_export_command
from imurehab.cli.process import register as register_process_command
from imurehab.cli.protocol import app as protocol_app
from imurehab.cli.report import register as register_report_command
from imurehab.cli.session import register as register_session_commands
from imurehab.cli.simulate import register as register_simulate_command

app = typer.Typer(
    name="imurehab",
    help="Body-worn IMU sensors to joint angles, ROM, repetitions and training load.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.add_typer(protocol_app, name="protocol")
register_ble_commands(app)
register_coach_commands(app)
register_export_command(app)
register_report_command(app)
register_session_commands(app)
register_simulate_command(app)
register_process_command(app)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo dataset.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option(help="Random seed of the simulated session.")] = 0,
    reps: Annotated[int, typer.Option(min=1, max=50, help="Repetitions to simulate.")] = 10,
    json_: JsonOpt = False,
) -> None:
    """Simulate a knee-rehab session, store it, process it, and compare the ROM per rep with the truth."""
    from imurehab.demo import run_demo

    with errors_as_exit():
        report = run_demo(out, seed=seed, reps=reps, progress=None if json_ else err_console)
    if json_:
        print_json(report)
        return
    _show_demo(report)


def _show_demo(report: dict[str, Any]) -> None:
    c = err_console
    c.print(
        f"[bold]Dataset:[/] {report['dataset']}  (subject {report['subject']}, session {report['session']})"
    )
    for joint in report["joints"]:
        title = f"{joint['joint']} {joint['side']}: {joint['reps_found']} reps (truth {joint['reps_truth']})"
        t = Table(title=title, title_justify="left")
        for column in ("rep", "ROM [deg]", "truth [deg]", "error [deg]"):
            t.add_column(column, justify="right")
        for r in joint["reps"]:
            t.add_row(
                str(r["rep"]),
                f"{r['rom_deg']:.1f}",
                "" if r["truth_rom_deg"] is None else f"{r['truth_rom_deg']:.1f}",
                "" if r["error_deg"] is None else f"{r['error_deg']:+.1f}",
            )
        c.print(t)
        c.print(
            f"ROM error: mean |e| {joint['rom_mae_deg']:.2f} deg, "
            f"max |e| {joint['rom_max_abs_error_deg']:.2f} deg; "
            f"flexion RMSE vs truth {joint['flexion_rmse_deg']:.2f} deg "
            f"(calibration: {joint['calibration']['method']}, "
            f"off-axis {joint['calibration']['off_axis_rms_deg']:.1f} deg)"
        )
        if joint.get("summary_text"):
            c.print(f"[bold]What the physio sees:[/]\n{joint['summary_text']}")
    for note in report["notes"]:
        c.print(f"[yellow]note:[/] {note}")
    c.print(f"Tables written: {', '.join(report['tables'])}.  Took {report['seconds']:.1f} s.")


@app.command()
def info(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    json_: JsonOpt = False,
) -> None:
    """Summarise a dataset: subjects, sessions, sensors, duration and tables."""
    from imurehab.store import dataset_summary, list_sessions

    with errors_as_exit():
        summary = dataset_summary(dataset)
        sessions = list_sessions(dataset) if summary["sessions"] else None
    if json_:
        summary["session_list"] = [] if sessions is None else sessions.to_dicts()
        print_json(summary)
        return
    c = err_console
    c.print(
        f"[bold]{summary['root']}[/]: {summary['subjects']} subject(s), {summary['sessions']} session(s), "
        f"{summary['sensors']} sensor(s), {summary['duration_s']:.1f} s recorded"
    )
    if (bound := summary["max_clock_uncertainty_us"]) is not None:
        c.print(f"sample times within ±{bound / 1000:.3g} ms of UTC (largest bound of any sensor)")
    if summary["unverified_logs"]:
        c.print(f"[yellow]{summary['unverified_logs']} sensor log(s) not downloaded whole and verified[/]")
    t = Table("table", "rows", title="Tables", title_justify="left")
    for name, rows in summary["tables"].items():
        t.add_row(name, f"{rows:,}")
    c.print(t)
    if sessions is not None:
        s = Table(*sessions.columns, title="Sessions", title_justify="left")
        for row in sessions.iter_rows():
            s.add_row(*("" if v is None else str(v) for v in row))
        c.print(s)


@app.command("import")
def import_files(
    sensor: Annotated[
        list[str], typer.Option("--sensor", help="ID=FILE: one sensor's CSV or Parquet file (repeatable).")
    ],
    subject: Annotated[str, typer.Option(help="Pseudonymous subject id.")],
    session: Annotated[str, typer.Option(help="Session id.")],
    out: Annotated[Path, typer.Option(help="Dataset folder to write into.")],
    placement: Annotated[
        list[str] | None,
        typer.Option("--placement", help="ID=SEGMENT_SIDE, e.g. S1=thigh_right (repeatable)."),
    ] = None,
    exercise: Annotated[str | None, typer.Option(help="Exercise name, e.g. seated-knee-extension.")] = None,
    units: Annotated[
        str | None, typer.Option(help="Units of the files, e.g. 'acc=g,gyr=deg/s' (default SI).")
    ] = None,
    start_time: Annotated[
        str | None,
        typer.Option(help="Session start (ISO 8601 with timezone) for files whose time is relative."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace this session if the dataset has it.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Bring per-sensor CSV or Parquet files (the generic format, docs/import-format.md) into a dataset."""
    from imurehab.store import write_recording
    from imurehab.store.importers import parse_units_option, read_generic_sensor_file
    from imurehab.types import Recording, SessionInfo, us_to_datetime

    files = key_value(sensor, "--sensor")
    places = key_value(placement or [], "--placement")
    start = None
    if start_time is not None:
        try:
            start = datetime.fromisoformat(start_time)
        except ValueError:
            raise typer.BadParameter(
                f"not an ISO 8601 time: {start_time!r}", param_hint="--start-time"
            ) from None
        if start.tzinfo is None:
            raise typer.BadParameter(
                "give a timezone, e.g. 2026-01-31T09:00:00+00:00", param_hint="--start-time"
            )
    with errors_as_exit():
        unit_kw = parse_units_option(units) if units else {}
        sensors = [
            read_generic_sensor_file(path, sensor_id=sid, start_time=start, **unit_kw)
            for sid, path in files.items()
        ]
        first = min(int(s.time_us[0]) for s in sensors)
        info_ = SessionInfo(
            session_id=session,
            subject_id=subject,
            start_time=start if start is not None else us_to_datetime(first),
            placements=places,
            exercise=exercise,
        )
        rec = Recording(info_, tuple(sensors))
        written = write_recording(rec, out, overwrite=overwrite)
    report = {
        "dataset": str(out),
        "subject": subject,
        "session": session,
        "sensors": [{"sensor": s.sensor_id, "samples": len(s), "rate_hz": s.info.rate_hz} for s in sensors],
        "files": [str(p) for p in written],
    }
    if json_:
        print_json(report)
    else:
        for s in report["sensors"]:
            err_console.print(f"{s['sensor']}: {s['samples']:,} samples at {s['rate_hz']:g} Hz")
        err_console.print(f"Wrote subject {subject}, session {session} into {out}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``imurehab`` console script."""
    command: Callable[..., Any] = typer.main.get_command(app)
    command.main(args=argv, prog_name="imurehab")
