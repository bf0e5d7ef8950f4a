"""``imurehab simulate``: a simulated dataset of many subjects × sessions, to try the tool without sensors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from imurehab.cli.common import JsonOpt, err_console, errors_as_exit, key_value, print_json


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {text!r}", param_hint="--start") from None
    return day.replace(hour=9, tzinfo=UTC)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the main app.

    Parameters
    ----------
    app : typer.Typer
        The ``imurehab`` app.
    """

    @app.command()
    def simulate(
        out: Annotated[Path, typer.Argument(help="Dataset folder (created or added to).")],
        movement: Annotated[
            str, typer.Option(help="Simulated movement, e.g. seated-knee-extension, walking, hyrox-race.")
        ] = "seated-knee-extension",
        subjects: Annotated[str, typer.Option(help="Comma-separated subject (athlete) ids.")] = "sim01",
        sessions: Annotated[int, typer.Option(min=1, max=200, help="Sessions per subject.")] = 1,
        every_days: Annotated[float, typer.Option(min=0, help="Days between sessions.")] = 7.0,
        start: Annotated[str | None, typer.Option(help="First session's day, YYYY-MM-DD (UTC).")] = None,
        reps: Annotated[int | None, typer.Option(min=1, help="Repetitions (strides for walking).")] = None,
        minutes: Annotated[float | None, typer.Option(min=0.05, help="Length of each session [min].")] = None,
        rate: Annotated[float, typer.Option(min=10, max=1000, help="Sample rate [Hz].")] = 100.0,
        sensor: Annotated[
            list[str] | None,
            typer.Option(help="ID=SEGMENT, e.g. S1=pelvis (repeatable; default per movement)."),
        ] = None,
        mag: Annotated[bool, typer.Option(help="9D sensors (with magnetometers).")] = False,
        ideal: Annotated[bool, typer.Option(help="Exact signals, no sensor errors.")] = False,
        race_scale: Annotated[
            float | None, typer.Option(min=0.01, max=1.0, help="hyrox-race: fraction of the real race.")
        ] = None,
        seed: Annotated[int, typer.Option(help="Base seed (same options, same dataset).")] = 0,
        overwrite: Annotated[bool, typer.Option(help="Replace sessions already in the dataset.")] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Write simulated sessions (samples and sessions tables) for trying the tool without sensors."""
        from imurehab.simulate.dataset import simulate_dataset

        ids = [s.strip() for s in subjects.split(",") if s.strip()]
        placed = key_value(sensor or [], "--sensor") or None
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=err_console, disable=json_) as progress:
            task = progress.add_task(f"simulating {movement}", total=len(ids) * sessions)
            with errors_as_exit():
                written = simulate_dataset(
                    out,
                    movement,
                    subjects=ids,
                    sessions=sessions,
                    every_days=every_days,
                    start_time=_date(start),
                    reps=reps,
                    duration_s=None if minutes is None else minutes * 60.0,
                    rate_hz=rate,
                    sensors=placed,
                    with_mag=mag,
                    ideal=ideal,
                    race_scale=race_scale,
                    seed=seed,
                    overwrite=overwrite,
                    on_session=lambda _: progress.advance(task),
                )
        rows: list[dict[str, Any]] = [
            {
                "subject": w.subject,
                "session": w.session,
                "start_time": w.start_time.isoformat(),
                "duration_s": round(w.duration_s, 3),
                "sensors": w.sensors,
            }
            for w in written
        ]
        if json_:
            print_json({"dataset": str(out), "movement": movement, "sessions": rows})
            return
        t = Table("subject", "session", "start (UTC)", "duration [s]", "sensors")
        for r in rows:
            placements = ", ".join(f"{k}={v}" for k, v in r["sensors"].items())
            t.add_row(r["subject"], r["session"], r["start_time"][:16], f"{r['duration_s']:.0f}", placements)
        err_console.print(t)
        err_console.print(f"{len(rows)} simulated sessions in {out}")
