"""For the export tests: a small dataset (two subjects, three sessions, a gap, orientations) and an app.

Orientations are written directly (a known rotation about z at a known rate), so the tests can check the
exported values against a formula instead of against the fusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import typer

from imurehab import Recording, SensorInfo, SensorSamples, SessionInfo
from imurehab.cli.export import register
from imurehab.quaternion import quat_from_axis_angle
from imurehab.store import columns as cols
from imurehab.store import write_recording, write_table
from imurehab.types import datetime_to_us

T0 = datetime(2026, 5, 4, 8, 30, tzinfo=UTC)
RATE_HZ = 100.0
N = 300
GAP = (100, 104)
"""Sample indices lost by the thigh sensor of session (001, s1): 100, 101, 102 and 103."""
SPIN_RAD_S = 0.5
"""Rate of the written orientations' rotation about the vertical [rad/s]."""


@dataclass(frozen=True)
class Session:
    subject: str
    session: str
    exercise: str | None
    placements: dict[str, str]
    offsets_us: dict[str, int]
    """Each sensor's first sample after the session start [µs]."""


SESSIONS = (
    Session(
        "001",
        "s1",
        "seated-knee-extension",
        {"T1": "thigh_right", "S1": "shank_right"},
        {"T1": 0, "S1": 3000},
    ),
    Session("001", "s-2", None, {"T1": "thigh_right", "S1": "shank_right"}, {"T1": 0, "S1": 0}),
    Session("p_1", "s1", "squat", {"T1": "thigh_left"}, {"T1": 0}),
)


def spin(time_us: np.ndarray, start_us: int) -> np.ndarray:
    """The written orientation at times [µs]: SPIN_RAD_S about z from the session start (w, x, y, z)."""
    return quat_from_axis_angle([0.0, 0.0, 1.0], SPIN_RAD_S * (time_us - start_us) / 1e6)


def _sensor(sid: str, start_us: int, offset_us: int, seed: int, *, gap: bool, mag: bool) -> SensorSamples:
    rng = np.random.default_rng(seed)
    index = np.arange(N, dtype=np.int64)
    if gap:
        index = index[(index < GAP[0]) | (index >= GAP[1])]
    n = len(index)
    return SensorSamples(
        SensorInfo(sid, "generic", RATE_HZ, model="M1", firmware="1.2", serial=f"SN-{sid}"),
        start_us + offset_us + index * 10_000,
        rng.normal([0.0, 0.0, 9.81], 0.1, (n, 3)),
        rng.normal(0.0, 0.1, (n, 3)),
        mag=rng.normal([20.0, 0.0, -40.0], 0.5, (n, 3)) if mag else None,
        sample_index=index + 7,
    )


def make_dataset(root: Path, *, orientation: bool = True) -> Path:
    """Write the sessions of :data:`SESSIONS` into ``root``; with ``orientation`` rows for every sample."""
    for k, spec in enumerate(SESSIONS):
        start = T0.replace(day=4 + k)
        start_us = datetime_to_us(start)
        sensors = tuple(
            _sensor(
                sid,
                start_us,
                spec.offsets_us[sid],
                seed=10 * k + j,
                gap=(k, sid) == (0, "T1"),
                mag=sid == "T1",
            )
            for j, sid in enumerate(spec.placements)
        )
        info = SessionInfo(spec.session, spec.subject, start, spec.placements, spec.exercise)
        write_recording(Recording(info, sensors), root)
        if orientation:
            frames = [
                pl.DataFrame(
                    {
                        cols.SENSOR: s.sensor_id,
                        cols.SEGMENT: spec.placements[s.sensor_id],
                        cols.TIME: pl.Series(s.time_us).cast(pl.Datetime("us", "UTC")),
                        **dict(zip(cols.QUAT, spin(s.time_us, start_us).T, strict=True)),
                        cols.REST: False,
                    }
                )
                for s in sensors
            ]
            write_table(pl.concat(frames), root, cols.ORIENTATION, subject=spec.subject, session=spec.session)
    return root


def export_app() -> typer.Typer:
    """An app holding the ``export`` command, as imurehab's app holds it once registered there."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep ``export`` a subcommand."""

    register(app)
    return app
