"""Small synthetic coach datasets (athletes × sessions × weeks of samples) and a direct epoch function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from imurehab.store import columns as cols
from imurehab.store import write_recording
from imurehab.types import STANDARD_GRAVITY, Recording, SensorInfo, SensorSamples, SessionInfo

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
RATE_HZ = 50.0


def sensor(sensor_id: str, start: datetime, duration_s: float, intensity: float, seed: int) -> SensorSamples:
    """Gravity on z plus a 2 Hz oscillation of ``intensity`` m/s² and noise: load grows with intensity."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    acc = rng.normal(0.0, 0.2, (n, 3))
    acc[:, 2] += STANDARD_GRAVITY
    acc[:, 0] += intensity * np.sin(2 * np.pi * 2.0 * t)
    t0 = int(start.timestamp() * 1e6)
    return SensorSamples(
        info=SensorInfo(sensor_id=sensor_id, family="generic", rate_hz=RATE_HZ),
        time_us=t0 + np.round(t * 1e6).astype(np.int64),
        acc=acc,
        gyr=rng.normal(0.0, 0.01, (n, 3)),
    )


def write_session(
    root: Path,
    subject: str,
    session: str,
    start: datetime,
    *,
    duration_s: float = 180.0,
    intensity: float = 3.0,
    placements: dict[str, str] | None = None,
    exercise: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> None:
    placements = {"S1": "trunk", "S2": "forearm_right"} if placements is None else placements
    sensors = tuple(
        sensor(sid, start, duration_s, intensity * (1.0 + 0.5 * i), seed + i)
        for i, sid in enumerate(placements)
    )
    info = SessionInfo(
        session_id=session, subject_id=subject, start_time=start, placements=placements, exercise=exercise
    )
    write_recording(Recording(info, sensors), root, overwrite=overwrite)


def write_team(root: Path, athletes=("A1", "A2", "A3"), weeks: int = 3, per_week: int = 2) -> None:
    """Each athlete trains ``per_week`` times a week (Mon, Thu) for ``weeks`` weeks; A2 harder than A1."""
    for a, athlete in enumerate(athletes):
        for w in range(weeks):
            for k in range(per_week):
                start = T0 + timedelta(days=7 * w + 3 * k, hours=a)
                write_session(
                    root, athlete, f"w{w}s{k}", start, intensity=2.0 + a + 0.5 * w, seed=100 * a + 10 * w + k
                )


def playerload_epochs(acc_mps2, time, *, rate_hz, epoch_s=60.0, sensor):
    """A direct per-epoch PlayerLoad (Σ‖Δa‖/100, a in g) and ENMO [mg]: an independent test stand-in."""
    del rate_hz
    time = np.asarray(time).astype("datetime64[us]").astype(np.int64)
    g = np.asarray(acc_mps2) / STANDARD_GRAVITY
    step = np.sqrt(np.sum(np.diff(g, axis=0, prepend=g[:1]) ** 2, axis=1)) / 100.0
    enmo = np.maximum(np.linalg.norm(g, axis=1) - 1.0, 0.0) * 1000.0
    epoch_us = round(epoch_s * 1e6)
    frame = pl.DataFrame({"t": (time // epoch_us) * epoch_us, "pl": step, "enmo": enmo})
    out = frame.group_by("t", maintain_order=True).agg(pl.col("pl").sum(), pl.col("enmo").mean())
    return pl.DataFrame(
        {
            cols.SENSOR: [sensor] * out.height,
            cols.EPOCH_START: out.get_column("t").cast(pl.Datetime("us", "UTC")),
            cols.EPOCH_S: [float(epoch_s)] * out.height,
            cols.PLAYERLOAD: out.get_column("pl"),
            cols.ENMO_MG: out.get_column("enmo"),
        }
    )
